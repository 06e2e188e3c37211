// Global test setup: one loopback sshd for the whole run, handed to the *.ssh.test.ts files through
// vitest's provide/inject and stopped by its pid at the end. If it cannot start, the reason is
// provided instead and every ssh test fails with it (see `requireSshServer`): loud, never skipped,
// while the unit tests (which need no server) still run and report.
import type { TestProject } from "vitest/node"
import { startSshd } from "./sshd.js"
import type { SshServer, SshServerInfo } from "./sshd.js"

declare module "vitest" {
  interface ProvidedContext {
    sshServer: SshServerInfo | { readonly error: string }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: SshServer | undefined
  try {
    server = await startSshd()
    project.provide("sshServer", server.info)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    console.error(`\n*** loopback sshd could not start; every *.ssh.test.ts will fail ***\n${reason}\n`)
    project.provide("sshServer", { error: reason })
  }
  return async () => {
    await server?.stop()
  }
}
