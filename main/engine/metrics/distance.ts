/**
 * Parameter-space distances (SSSE.md, "Measuring an erasure"):
 *
 *   normalized distance = ‖θ̂ − θ*_{−S}‖ / (‖θ̂ − θ*‖ + ‖θ̂ − θ*_{−S}‖)      (0 is best, 1 is the original)
 *
 * In float64, with a scaled norm (‖d‖ = s·√Σ(dᵢ/s)², s = max|dᵢ|) so that neither squares nor
 * the sum of the two norms overflow or underflow.
 */
import { badArgument, checkSameLength } from './args.js';

/** ‖a − b‖₂ in float64. May be Infinity only when the true distance exceeds the float64 range. */
export function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const fn = 'l2Distance';
  checkVectors(fn, [
    ['a', a],
    ['b', b],
  ]);
  const direct = scaledNorm(a, b, false);
  // A difference beyond the float64 range makes the norm beyond it too.
  return direct === null ? Infinity : direct.scale * direct.root;
}

/**
 * ‖hat − retrained‖ / (‖hat − star‖ + ‖hat − retrained‖), in [0, 1]; null when the denominator
 * is 0 (all three vectors equal). Throws SsseError('BAD_ARGUMENT') on a length mismatch or a
 * non-finite entry.
 */
export function normalizedDistance(
  hat: ArrayLike<number>,
  star: ArrayLike<number>,
  retrained: ArrayLike<number>,
): number | null {
  const fn = 'normalizedDistance';
  checkVectors(fn, [
    ['hat', hat],
    ['star', star],
    ['retrained', retrained],
  ]);
  let toStar = scaledNorm(hat, star, false);
  let toRetrained = scaledNorm(hat, retrained, false);
  if (toStar === null || toRetrained === null) {
    // A difference overflowed: halve every difference; the ratio does not change.
    toStar = scaledNorm(hat, star, true) as ScaledNorm;
    toRetrained = scaledNorm(hat, retrained, true) as ScaledNorm;
  }
  const top = Math.max(toStar.scale, toRetrained.scale);
  if (top === 0) return null;
  // Both norms divided by the larger scale: each is at most √p, so the sum cannot overflow.
  const dStar = (toStar.scale / top) * toStar.root;
  const dRetrained = (toRetrained.scale / top) * toRetrained.root;
  return dRetrained / (dStar + dRetrained);
}

/** ‖d‖ = scale · root. */
interface ScaledNorm {
  scale: number;
  root: number;
}

/**
 * The norm of d = a − b (or of a/2 − b/2 when `halve`), as scale·root with scale = max|dᵢ|.
 * Null when a difference overflows (only possible without `halve`, the inputs being finite).
 */
function scaledNorm(a: ArrayLike<number>, b: ArrayLike<number>, halve: boolean): ScaledNorm | null {
  const n = a.length;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const d = Math.abs(halve ? x / 2 - y / 2 : x - y);
    if (d === Infinity) return null;
    if (d > scale) scale = d;
  }
  if (scale === 0) return { scale: 0, root: 0 };
  let ssq = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const r = (halve ? x / 2 - y / 2 : x - y) / scale;
    ssq += r * r;
  }
  return { scale, root: Math.sqrt(ssq) };
}

function checkVectors(fn: string, vectors: ReadonlyArray<readonly [name: string, v: ArrayLike<number>]>): void {
  const first = vectors[0];
  if (first === undefined) return;
  for (const [name, v] of vectors) {
    checkSameLength(fn, first[0], first[1], name, v);
    for (let i = 0; i < v.length; i++) {
      const x = v[i] as number;
      if (!Number.isFinite(x)) {
        throw badArgument(fn, `${name}[${i}] is ${Number.isNaN(x) ? 'NaN' : String(x)}; parameters must be finite`);
      }
    }
  }
}
