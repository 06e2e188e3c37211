// Global test setup. The remote-peer integration tests extend this with a loopback sshd.
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {}
}
