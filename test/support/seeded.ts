/**
 * A seeded xorshift32 generator of unsigned 32-bit integers, so that a randomised test's failure
 * reproduces from its seed.
 */
export const xorshift32 = (seed: number): (() => number) => {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state >>> 0
  }
}
