import { product, productEngine, type MatMulShape } from '../main/engine/linalg/product.js';
import { measure } from './measure.js';

/**
 * The raw matrix-multiply throughput of the product engine in use (GFLOP/s, 2·m·k·n flops per
 * product, the median of `runs`), on the shapes the Fisher build multiplies; smaller shapes on the
 * JavaScript gemm (cpu backend), which is about 20× slower.
 */
export async function matmulThroughput(runs: number): Promise<Record<string, number>> {
  const shapes: MatMulShape[] =
    productEngine() === 'javascript'
      ? [
          [256, 256, 256],
          [784, 512, 200],
        ]
      : [
          [256, 256, 256],
          [512, 512, 512],
          [784, 1024, 200],
          [784, 1024, 784],
          [1024, 1024, 1024],
        ];
  const out: Record<string, number> = {};
  for (const [m, k, n] of shapes) {
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) / 13);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) / 11);
    product(a, m, k, b, n);
    const t = await measure(runs, () => product(a, m, k, b, n));
    out[`${m}x${k}x${n}`] = Number(((2 * m * k * n) / t.median_s / 1e9).toFixed(2));
  }
  return out;
}
