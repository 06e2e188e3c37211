import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // the examples in docs/ import the package by its name, as its users do: the sources under test
  resolve: {
    alias: {
      "cedar-peer/testing": fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)),
      "cedar-peer": fileURLToPath(new URL("./src/index.ts", import.meta.url))
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The remote tests share one loopback sshd started here (and stopped by pid afterwards).
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"]
  }
})
