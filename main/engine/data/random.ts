/**
 * A small seeded PRNG and sampling without replacement.
 *
 * Removal sets must be reproducible from (seed, n, k) alone, on any machine and Node version, so
 * they cannot use Math.random. mulberry32 is tiny, fast and statistically good enough for picking
 * rows; it is not cryptographic.
 */

/** Returns uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32 (Tommy Ettinger): a 32-bit-state generator. The seed is taken modulo 2^32. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * k distinct elements of `pool`, in the order drawn, by a partial Fisher–Yates shuffle of a copy:
 * O(|pool|) memory and O(k) random draws. Requires 0 ≤ k ≤ pool.length (not checked here).
 */
export function sampleWithoutReplacement(pool: ArrayLike<number>, k: number, rng: Rng): number[] {
  const work = Float64Array.from(pool);
  const m = work.length;
  const picked: number[] = new Array<number>(k);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (m - i));
    const chosen = work[j] as number;
    work[j] = work[i] as number;
    work[i] = chosen;
    picked[i] = chosen;
  }
  return picked;
}
