/**
 * Completes a symmetric row-major d×d matrix from one of its triangles: 'lower' copies the strict
 * lower triangle over the upper one, 'upper' the other way round. In 64×64 tiles, so that the
 * strided side of the copy stays within a few cache lines.
 */
export function mirrorTriangle(a: Float32Array | Float64Array, d: number, from: 'lower' | 'upper'): void {
  const T = 64;
  for (let i0 = 0; i0 < d; i0 += T) {
    const i1 = Math.min(d, i0 + T);
    for (let j0 = 0; j0 <= i0; j0 += T) {
      const j1 = Math.min(d, j0 + T);
      for (let i = i0; i < i1; i++) {
        const jEnd = Math.min(j1, i);
        if (from === 'lower') for (let j = j0; j < jEnd; j++) a[j * d + i] = a[i * d + j] as number;
        else for (let j = j0; j < jEnd; j++) a[i * d + j] = a[j * d + i] as number;
      }
    }
  }
}
