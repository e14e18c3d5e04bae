/**
 * The filter gradient of a 2-D convolution for the wasm backend, which ships no
 * Conv2DBackpropFilter kernel (tfjs-backend-wasm 4.22): without it a convolutional network
 * cannot train on wasm at all, and falling back to the cpu backend would be about 30 times
 * slower. Built from what wasm has, the classic way:
 *
 *   im2col   Xcᵀ[k, m] = x[b, oh·sh + fh − top, ow·sw + fw − left, ci]   (0 outside the image)
 *            k = (fh·FW + fw)·CI + ci,  m = (b·OH + oh)·OW + ow
 *   matMul   dW[k, co] = Σ_m Xcᵀ[k, m] · dy[m, co]                     (wasm BatchMatMul)
 *
 * so dW comes out as [FH, FW, CI, CO] row-major, the filter layout. The patch matrix is built
 * directly transposed (K×M) in the wasm heap, because the wasm matMul's transposed-operand path
 * is an order of magnitude slower than its plain one. Both data formats (NHWC, NCHW), every
 * stride and padding mode that computeConv2DInfo accepts; dilations never reach this kernel (the
 * conv2d gradient refuses them). Tested against the cpu backend's kernel.
 */
import * as tf from '@tensorflow/tfjs';

/** The slice of the wasm backend this kernel uses (tfjs-backend-wasm's BackendWasm). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

const KERNEL = 'Conv2DBackpropFilter';

function conv2dBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs['x'];
  const dy = args.inputs['dy'];
  if (!x || !dy) throw new Error(`${KERNEL} (wasm): inputs x and dy are required`);
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`${KERNEL} (wasm): expected float32 inputs, got x ${x.dtype} and dy ${dy.dtype}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const { batchSize: nb, inHeight: ih, inWidth: iw, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const channelsLast = info.dataFormat === 'channelsLast';
  const K = fh * fw * ci;
  const M = nb * oh * ow;

  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!batchMatMul) throw new Error(`${KERNEL} (wasm): the wasm backend has no BatchMatMul kernel`);

  const cols = backend.makeOutput([1, K, M], 'float32');
  const dyMat = backend.makeOutput([1, M, co], 'float32');
  try {
    // Views are taken after every allocation: growing the wasm heap detaches older views.
    const colsView = backend.typedArrayFromHeap(cols);
    const dyView = backend.typedArrayFromHeap(dyMat);
    const xv = backend.typedArrayFromHeap(x);
    const dyv = backend.typedArrayFromHeap(dy);
    // x strides for (b, h, w, c) in either layout.
    const xsB = ih * iw * ci;
    const [xsH, xsW, xsC] = channelsLast ? [iw * ci, ci, 1] : [iw, 1, ih * iw];
    for (let f = 0; f < fh; f++) {
      for (let g = 0; g < fw; g++) {
        for (let c = 0; c < ci; c++) {
          const row = ((f * fw + g) * ci + c) * M;
          let m = 0;
          for (let b = 0; b < nb; b++) {
            const xb = b * xsB + c * xsC;
            for (let r = 0; r < oh; r++) {
              const y = r * sh + f - top;
              const inRow = y >= 0 && y < ih;
              for (let s = 0; s < ow; s++, m++) {
                const z = s * sw + g - left;
                colsView[row + m] = inRow && z >= 0 && z < iw ? (xv[xb + y * xsH + z * xsW] as number) : 0;
              }
            }
          }
        }
      }
    }
    if (channelsLast) {
      dyView.set(dyv.subarray(0, M * co));
    } else {
      // dy is [B, CO, OH, OW]: gather it into [M, CO].
      const plane = oh * ow;
      for (let b = 0; b < nb; b++) {
        for (let o = 0; o < co; o++) {
          const src = (b * co + o) * plane;
          for (let q = 0; q < plane; q++) dyView[(b * plane + q) * co + o] = dyv[src + q] as number;
        }
      }
    }
    const product = batchMatMul.kernelFunc({
      inputs: { a: cols, b: dyMat },
      backend: args.backend as tf.KernelBackend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    // [1, K, CO] row-major is [FH, FW, CI, CO] row-major: hand the same data over, reshaped.
    return { dataId: product.dataId, shape: [fh, fw, ci, co], dtype: 'float32' };
  } finally {
    backend.disposeData(cols.dataId);
    backend.disposeData(dyMat.dataId);
  }
}

/**
 * Registers the kernel for wasm unless a kernel of that name is already there (a later
 * tfjs-backend-wasm may ship its own; then that one is used). Idempotent.
 */
export function registerWasmConv2dBackpropFilter(): void {
  if (tf.getKernel(KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm as tf.KernelFunc });
}

/** True when the registered wasm kernel is this module's (for tests and reports). */
export function isOwnWasmConv2dBackpropFilter(): boolean {
  return tf.getKernel(KERNEL, 'wasm')?.kernelFunc === (conv2dBackpropFilterWasm as tf.KernelFunc);
}

registerWasmConv2dBackpropFilter();
