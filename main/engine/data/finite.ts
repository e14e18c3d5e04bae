/**
 * Index of the first NaN/±∞ in `data`, or -1: the check every array read from outside (features,
 * model weights, initial weights) goes through before it is computed with. `v - v` is 0 for every
 * finite number and NaN otherwise.
 */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) return i;
  }
  return -1;
}
