/**
 * The order in which the Fisher's blocks are cut from θ. θ itself keeps its documented order
 * (network.ts: TensorFlow.js's, Dense kernel [inputs, units]); only the blocking changes:
 *
 * - 'unit-major' (the default): each kernel is walked output unit by output unit (Dense
 *   [units, inputs], Conv2D [filters, height, width, in channels]), so consecutive parameters,
 *   and so a block, hold whole neurons' incoming weights. This is PyTorch's storage order, which
 *   the paper's block-diagonal Fisher was cut from. Biases and any rank-1 tensor keep their order.
 * - 'input-major': θ's own order, kernel rows by input ([inputs, units]), so a block of B
 *   parameters holds B/units inputs' weights into every unit.
 *
 * Measured on Fashion-MNIST 10k, MLP 784-128-10, blocks of 2,048 and 8,192, λ_F 1e-4 and 1e-3,
 * the same ε grid and in-sample rule (docs/results-nn.md, and `npm run results:nn -- --block-order
 * input-major` for the other order): unit-major blocks lowered the mean accuracy difference to
 * the retrained model in all four settings for a whole class (0.013–0.032 → 0.008–0.019) and for
 * 1% at random (0.016–0.025 → 0.008–0.015). With input-major blocks at B = 8,192, λ_F = 1e-4, the
 * whole-class erasure left the test set 3.2 points below the retrained model.
 *
 * A permutation π lists, for blocked position q, the θ index π[q]: block b is θ[π[bB … (b+1)B−1]].
 */
import { SsseError } from '../errors.js';
import type { ParamTensor } from './network.js';

export type BlockOrder = 'unit-major' | 'input-major';
export const BLOCK_ORDERS: readonly BlockOrder[] = ['unit-major', 'input-major'];
export const DEFAULT_BLOCK_ORDER: BlockOrder = 'unit-major';

/** What summary.json says of an order. */
export function describeBlockOrder(order: BlockOrder): string {
  return order === 'unit-major'
    ? 'unit-major: each kernel taken output unit by output unit (Dense [units, inputs], Conv2D [filters, height, width, in channels]), biases as they are, then cut into consecutive blocks'
    : 'input-major: θ in its own order (TensorFlow.js shapes, Dense [inputs, units]) cut into consecutive blocks';
}

/**
 * π for `order` over the parameter tensors `params` (offsets consecutive from 0), or null for
 * the identity ('input-major'). A tensor of rank ≥ 2 is read with its last axis (units,
 * filters) outermost; other tensors are copied as they are.
 */
export function blockPermutation(params: readonly ParamTensor[], order: BlockOrder): Int32Array | null {
  if (order === 'input-major') return null;
  const p = params.reduce((s, t) => s + t.size, 0);
  const pi = new Int32Array(p);
  let q = 0;
  for (const t of params) {
    if (t.offset !== q) throw new SsseError('BAD_ARGUMENT', `blockPermutation: ${t.name} starts at ${t.offset}, expected ${q}`);
    const units = t.shape.length >= 2 ? (t.shape[t.shape.length - 1] as number) : 1;
    const inner = t.size / units;
    if (!Number.isInteger(inner) || inner * units !== t.size) {
      throw new SsseError('BAD_ARGUMENT', `blockPermutation: ${t.name} has shape [${t.shape.join(', ')}] but size ${t.size}`);
    }
    // Row-major [inner…, units]: entry (i, j) is at offset + i·units + j; unit-major puts it at q + j·inner + i.
    for (let j = 0; j < units; j++) {
      for (let i = 0; i < inner; i++) pi[q + j * inner + i] = t.offset + i * units + j;
    }
    q += t.size;
  }
  return pi;
}
