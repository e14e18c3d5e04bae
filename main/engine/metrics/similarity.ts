/**
 * The AUC distance D_S and the similarity ratio γ_S (SSSE.md, "Measuring an erasure").
 *
 *   D_S(θ₁, θ₂) = Σ_attributes |AUC(θ₁) − AUC(θ₂)|
 *   γ_S(θ̂)      = D_S(θ̂, θ*) / (D_S(θ̂, θ*) + D_S(θ̂, θ*_{−S}))
 *
 * An attribute without an AUC (null: absent or constant on S) counts as 0 for every model. Since
 * every model is scored against the same labels, an attribute is null for all models or for none;
 * arrays that disagree on it were computed on different rows or labels and are rejected.
 */
import { badArgument, checkSameLength } from './args.js';

export interface SimilarityRatio {
  /** γ_S in [0, 1]: 0 behaves like the original model, 1 like the retrained one; null when undefined (both distances 0). */
  gamma: number | null;
  /** D_S(θ̂, θ*): distance to the original model. */
  dStar: number;
  /** D_S(θ̂, θ*_{−S}): distance to the retrained model. */
  dRetrained: number;
}

/** D_S = Σ|AUC_a − AUC_b|, null AUCs contributing nothing. */
export function aucDistance(a: readonly (number | null)[], b: readonly (number | null)[]): number {
  return distance('aucDistance', 'a', a, 'b', b);
}

/**
 * γ_S for the AUCs of θ̂ (`hat`), θ* (`star`) and θ*_{−S} (`retrained`) on S. `gamma` is null, never
 * NaN, when both distances are 0.
 */
export function similarityRatio(
  hat: readonly (number | null)[],
  star: readonly (number | null)[],
  retrained: readonly (number | null)[],
): SimilarityRatio {
  const fn = 'similarityRatio';
  checkSameLength(fn, 'hat', hat, 'star', star);
  checkSameLength(fn, 'hat', hat, 'retrained', retrained);
  const dStar = distance(fn, 'hat', hat, 'star', star);
  const dRetrained = distance(fn, 'hat', hat, 'retrained', retrained);
  const total = dStar + dRetrained;
  return { gamma: total === 0 ? null : dStar / total, dStar, dRetrained };
}

function distance(
  fn: string,
  nameA: string,
  a: readonly (number | null)[],
  nameB: string,
  b: readonly (number | null)[],
): number {
  checkSameLength(fn, nameA, a, nameB, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = checkAuc(fn, nameA, i, a[i]);
    const y = checkAuc(fn, nameB, i, b[i]);
    if (x === null && y === null) continue;
    if (x === null || y === null) {
      throw badArgument(
        fn,
        `attribute ${i} has an AUC in ${x === null ? nameB : nameA} but none in ${x === null ? nameA : nameB}; ` +
          'AUCs compared must come from the same rows and labels',
      );
    }
    sum += Math.abs(x - y);
  }
  return sum;
}

function checkAuc(fn: string, name: string, i: number, v: number | null | undefined): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw badArgument(fn, `${name}[${i}] = ${String(v)} is not an AUC in [0, 1] or null`);
  }
  return v;
}
