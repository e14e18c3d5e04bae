import { membershipAucFromLogits } from '../metrics/membership.js';
import { logits, type LinearModel } from './model.js';

/**
 * The membership-inference AUC (metrics/membership.ts: S as members, the test split as
 * non-members) of θ̂_ε = θ* + ε·u for many ε. Logits are linear in θ, so S's and the test split's
 * are computed once for θ* and for u; needs S and the test split only, no other training row.
 */
export class StepMembership {
  private readonly zS: { star: Float64Array; dir: Float64Array };
  private readonly zT: { star: Float64Array; dir: Float64Array };

  constructor(
    readonly star: LinearModel,
    readonly direction: Float64Array,
    readonly removed: { features: Float32Array; labels: Uint8Array; n: number },
    readonly test: { features: Float32Array; labels: Uint8Array; n: number },
  ) {
    const dir: LinearModel = { d: star.d, A: star.A, weights: direction };
    this.zS = { star: logits(star, removed.features), dir: logits(dir, removed.features) };
    this.zT = { star: logits(star, test.features), dir: logits(dir, test.features) };
  }

  private static along(z: { star: Float64Array; dir: Float64Array }, epsilon: number): Float64Array {
    const out = new Float64Array(z.star.length);
    for (let i = 0; i < out.length; i++) out[i] = (z.star[i] as number) + epsilon * (z.dir[i] as number);
    return out;
  }

  at(epsilon: number): number | null {
    return membershipAucFromLogits(
      { logits: StepMembership.along(this.zS, epsilon), labels: this.removed.labels, n: this.removed.n },
      { logits: StepMembership.along(this.zT, epsilon), labels: this.test.labels, n: this.test.n },
      this.star.A,
    );
  }

  /** The AUC of any other model (θ*_{−S}, the refined model) on the same S and test split. */
  of(model: LinearModel): number | null {
    return membershipAucFromLogits(
      { logits: logits(model, this.removed.features), labels: this.removed.labels, n: this.removed.n },
      { logits: logits(model, this.test.features), labels: this.test.labels, n: this.test.n },
      this.star.A,
    );
  }
}
