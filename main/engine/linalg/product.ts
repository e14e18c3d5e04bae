import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SsseError } from '../errors.js';

/**
 * The matrix product the fast routes (gram.ts, blockedCholesky.ts) are built on, C = A·B for
 * row-major A (m×k) and B (k×n).
 *
 * On the wasm (and tensorflow) backends it is a tfjs matMul: SIMD float32, 10–30 GFLOP/s here.
 * The cpu backend's matMul is a generic JavaScript loop that measured 0.13–0.22 GFLOP/s on the
 * reference machine, slower than the scalar float64 loops it is meant to replace, so on that
 * backend the product is computed by `gemm` below instead: JavaScript doubles, four rows at a
 * time, skipping zero entries of A (pixels are mostly zero), about 1–2 GFLOP/s, and exact to
 * float64 rounding rather than float32.
 */
export type MatMulShape = [m: number, k: number, n: number];

/** Whether products run as tfjs matMuls ('backend') or in JavaScript float64 ('javascript'). */
export type ProductEngine = 'backend' | 'javascript';

export function productEngine(): ProductEngine {
  return tf.getBackend() === 'cpu' ? 'javascript' : 'backend';
}

/** C = A·B in float64 (row-major). A and B are read as given, float32 or float64. */
export function gemm(a: Float32Array, m: number, k: number, b: Float32Array, n: number): Float64Array {
  const c = new Float64Array(m * n);
  const KB = 128; // rows of B kept hot in cache while four rows of C are updated
  for (let p0 = 0; p0 < k; p0 += KB) {
    const p1 = Math.min(k, p0 + KB);
    let i = 0;
    for (; i + 3 < m; i += 4) {
      const r0 = i * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      const ai = i * k;
      for (let p = p0; p < p1; p++) {
        const a0 = a[ai + p] as number;
        const a1 = a[ai + k + p] as number;
        const a2 = a[ai + 2 * k + p] as number;
        const a3 = a[ai + 3 * k + p] as number;
        if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) {
          const bv = b[bp + j] as number;
          c[r0 + j] = (c[r0 + j] as number) + a0 * bv;
          c[r1 + j] = (c[r1 + j] as number) + a1 * bv;
          c[r2 + j] = (c[r2 + j] as number) + a2 * bv;
          c[r3 + j] = (c[r3 + j] as number) + a3 * bv;
        }
      }
    }
    for (; i < m; i++) {
      const r = i * n;
      for (let p = p0; p < p1; p++) {
        const av = a[i * k + p] as number;
        if (av === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) c[r + j] = (c[r + j] as number) + av * (b[bp + j] as number);
      }
    }
  }
  return c;
}

/**
 * A·B by the engine in use: a fresh array the caller owns (float32 from the backend, float64
 * from `gemm`).
 */
export function product(
  a: Float32Array,
  m: number,
  k: number,
  b: Float32Array,
  n: number,
  onMatMul?: (shape: MatMulShape) => void,
): Float32Array | Float64Array {
  // gemm's float64 result is already the caller's; a float32 one may be a view of the backend.
  return withProduct({ data: a, rows: m, cols: k }, { data: b, rows: k, cols: n }, (c) => (c instanceof Float64Array ? c : c.slice()), onMatMul);
}

/**
 * An operand of `withProduct`: `rows` rows of `cols` values taken from row-major `data`, row r
 * starting at r·stride + col0 (stride defaults to cols, col0 to 0). A sub-block of a larger matrix
 * is named in place, without copying it in JavaScript. Float64 data is rounded to float32 as it is
 * written into the product's operand (the products are float32 on every engine's input side).
 */
export interface Operand {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
  stride?: number;
  col0?: number;
}

/**
 * Scratch for gathering strided operands for the javascript engine (gemm wants contiguous
 * arrays) and for tensor backends other than wasm, one per operand position, grown as needed and kept (at most the largest operand, d²
 * floats for a Fisher block) on each thread. Backend products do not use it: their operands are
 * written straight into tensors (operandTensor). Not tf.slice: the wasm backend's Slice kernel
 * first copies its whole input out of the heap into a fresh JavaScript array (readSync), which
 * costs a copy and leaves garbage the size of the input every call.
 */
const gatherScratch: Float32Array[] = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];

/** Copies the operand's rows into `out` (rows×cols, contiguous), element by element: no views allocated per row. */
function gatherRows(x: Operand, out: Float32Array): void {
  const stride = x.stride ?? x.cols;
  const col0 = x.col0 ?? 0;
  const { data, rows, cols } = x;
  for (let r = 0; r < rows; r++) {
    const src = r * stride + col0;
    const dst = r * cols;
    for (let c = 0; c < cols; c++) out[dst + c] = data[src + c] as number;
  }
}

/** Rows that follow one another in `data` (a stride equal to the row length), wherever they start. */
function isContiguous(x: Operand): boolean {
  return (x.stride ?? x.cols) === x.cols;
}

function rowsAsSubarray(x: Operand): Float32Array | Float64Array {
  const col0 = x.col0 ?? 0;
  return x.data.subarray(col0, col0 + x.rows * x.cols);
}

/**
 * The operand as one contiguous rows×cols float32 array: a subarray of its data when it already
 * is one, else its rows gathered (and float64 rounded to float32) into `scratch(length)`.
 */
function contiguous(x: Operand, scratch: (length: number) => Float32Array): Float32Array {
  if (isContiguous(x) && x.data instanceof Float32Array) return x.data.subarray(x.col0 ?? 0, (x.col0 ?? 0) + x.rows * x.cols);
  const out = scratch(x.rows * x.cols);
  gatherRows(x, out);
  return out;
}

/** Operand positions with scratch of their own: the operands of one product (or chain) use different ones. */
type Position = 0 | 1 | 2;

function gatherScratchFor(position: Position): (length: number) => Float32Array {
  return (length) => {
    let scratch = gatherScratch[position] as Float32Array;
    if (scratch.length < length) {
      scratch = new Float32Array(length);
      gatherScratch[position] = scratch;
    }
    return scratch.subarray(0, length);
  };
}

/** The wasm backend's heap (HEAPU8 comes from the Emscripten module type, whose typings tfjs does not ship). */
function wasmHeap(backend: BackendWasm): ArrayBuffer | null {
  const heap = (backend.wasm as unknown as { HEAPU8?: Uint8Array }).HEAPU8;
  return heap ? (heap.buffer as ArrayBuffer) : null;
}

/**
 * The operand as a rows×cols float32 tensor on the backend in use (tracked like any tensor: call
 * it inside tf.tidy or dispose it). On wasm the tensor's memory is allocated in the backend's heap
 * and the rows are written there directly, strided or not: no JavaScript copy in between (a
 * strided operand of a Fisher block is up to d² floats, 2.5 MB at d = 784, that would otherwise be
 * gathered into a JavaScript scratch array first). Elsewhere tf.tensor2d of the contiguous rows
 * (strided ones gathered into the scratch of `position`: give the two operands of one product
 * different positions).
 */
export function operandTensor(x: Operand, position: Position = 0): tf.Tensor2D {
  const backend = tf.backend();
  if (backend instanceof BackendWasm) {
    const shape = [x.rows, x.cols];
    const dataId = backend.write(null, shape, 'float32'); // allocated, not initialised
    const t = tf.engine().makeTensorFromDataId(dataId, shape, 'float32', backend) as tf.Tensor2D;
    const info = backend.dataIdMap.get(dataId);
    // Read after the allocation, which may have grown (and so replaced) the heap's buffer.
    const heap = wasmHeap(backend);
    if (info && heap) {
      const view = new Float32Array(heap, info.memoryOffset, x.rows * x.cols);
      if (isContiguous(x)) view.set(rowsAsSubarray(x));
      else gatherRows(x, view);
      return t;
    }
    t.dispose();
  }
  return tf.tensor2d(contiguous(x, gatherScratchFor(position)), [x.rows, x.cols]);
}

/**
 * Hands C = A·B (row-major, a.rows × b.cols) to `use` and returns what `use` returns, without
 * leaving garbage behind: on the wasm backend C is a view of the backend's heap (no copy at
 * all), valid only during `use`, which must therefore neither keep it nor run tfjs operations
 * (they may grow, and so move, that heap). Other tensor backends copy C out (dataSync); the
 * javascript engine (cpu backend) computes it with `gemm` in float64.
 *
 * Why: the Fisher build's products return tens of MB per block; as fresh arrays they are garbage
 * that V8 collects late and the allocator keeps, and they set the build's peak memory
 * (bench/results.json, fisher_build_memory_fresh_process).
 */
export function withProduct<T>(
  a: Operand,
  b: Operand,
  use: (c: Float32Array | Float64Array) => T,
  onMatMul?: (shape: MatMulShape) => void,
): T {
  if (a.cols !== b.rows) {
    throw new SsseError('BAD_ARGUMENT', `withProduct: the inner dimensions differ (${a.rows}×${a.cols} times ${b.rows}×${b.cols})`);
  }
  onMatMul?.([a.rows, a.cols, b.cols]);
  if (productEngine() === 'javascript') {
    return use(gemm(contiguous(a, gatherScratchFor(0)), a.rows, a.cols, contiguous(b, gatherScratchFor(1)), b.cols));
  }
  const out = tf.tidy(() => tf.matMul(operandTensor(a, 0), operandTensor(b, 1)));
  try {
    return readTensor(out, use);
  } finally {
    out.dispose();
  }
}

/**
 * Hands A·(B·C) to `use`, as withProduct does A·B: on the backends B·C stays a tensor, never read
 * out and written back (on wasm, `use` gets a view of the heap); the javascript engine rounds B·C
 * to float32 before the second product, as a backend would. onMatMul is told B·C's shape, then
 * A·(B·C)'s.
 */
export function withProductOfThree<T>(
  a: Operand,
  b: Operand,
  c: Operand,
  use: (abc: Float32Array | Float64Array) => T,
  onMatMul?: (shape: MatMulShape) => void,
): T {
  if (b.cols !== c.rows || a.cols !== b.rows) {
    throw new SsseError('BAD_ARGUMENT', `withProductOfThree: the inner dimensions differ (${a.rows}×${a.cols} times ${b.rows}×${b.cols} times ${c.rows}×${c.cols})`);
  }
  onMatMul?.([b.rows, b.cols, c.cols]);
  onMatMul?.([a.rows, a.cols, c.cols]);
  if (productEngine() === 'javascript') {
    const bc = Float32Array.from(gemm(contiguous(b, gatherScratchFor(1)), b.rows, b.cols, contiguous(c, gatherScratchFor(2)), c.cols));
    return use(gemm(contiguous(a, gatherScratchFor(0)), a.rows, a.cols, bc, c.cols));
  }
  const out = tf.tidy(() => tf.matMul(operandTensor(a, 0), tf.matMul(operandTensor(b, 1), operandTensor(c, 2))));
  try {
    return readTensor(out, use);
  } finally {
    out.dispose();
  }
}

/**
 * Hands a float32 tensor's values to `use`: on the wasm backend a view of its heap (no copy;
 * the same rules as withProduct's), elsewhere a copy (dataSync).
 */
export function readTensor<T>(t: tf.Tensor, use: (values: Float32Array) => T): T {
  if (t.dtype !== 'float32') throw new SsseError('BAD_ARGUMENT', `readTensor: expected a float32 tensor, got ${t.dtype}`);
  const backend = tf.backend();
  if (backend instanceof BackendWasm) {
    const info = backend.dataIdMap.get(t.dataId);
    const heap = wasmHeap(backend);
    if (info && heap) return use(new Float32Array(heap, info.memoryOffset, t.size));
  }
  return use(t.dataSync() as Float32Array);
}
