import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../main/engine/backend.js';
import { isOwnWasmConv2dBackpropFilter } from '../../../main/engine/nn/wasmConv2dBackpropFilter.js';

type Shape4 = [number, number, number, number];

interface Case {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
}

const CASES: Case[] = [
  { x: [2, 7, 6, 3], filter: [3, 2, 3, 4], strides: 1, pad: 'valid', dataFormat: 'NHWC' },
  { x: [3, 9, 8, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'same', dataFormat: 'NHWC' },
  { x: [1, 8, 9, 1], filter: [2, 4, 1, 3], strides: [1, 2], pad: 1, dataFormat: 'NHWC' },
  { x: [2, 6, 7, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same', dataFormat: 'NCHW' },
];

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(phase + i * 1.37) + 0.25 * Math.cos(i * 0.11));
}

/** The kernel's output for one case on the named backend (x and dy are the same numbers on both). */
async function filterGradient(backend: 'cpu' | 'wasm', c: Case): Promise<Float32Array> {
  await initBackend(backend);
  const outShape = tf.tidy(() => {
    const x = tf.zeros(c.dataFormat === 'NHWC' ? c.x : [c.x[0], c.x[3], c.x[1], c.x[2]]);
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, c.filter, c.strides, 1, c.pad, undefined, false, c.dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst');
    return info.outShape;
  });
  const xShape = c.dataFormat === 'NHWC' ? c.x : ([c.x[0], c.x[3], c.x[1], c.x[2]] as Shape4);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(xShape.reduce((a, b) => a * b), 0.3), xShape);
    const dy = tf.tensor4d(values(outShape.reduce((a, b) => a * b), 1.1), outShape as Shape4);
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: c.strides,
      pad: c.pad,
      dataFormat: c.dataFormat,
      dimRoundingMode: undefined,
      filterShape: c.filter,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    assert.deepEqual(dw.shape, c.filter);
    return (dw.dataSync() as Float32Array).slice();
  });
}

after(async () => {
  await initBackend('wasm');
});

test('the wasm Conv2DBackpropFilter kernel is the engine’s (tfjs-backend-wasm 4.22 has none)', async () => {
  await initBackend('wasm');
  assert.ok(isOwnWasmConv2dBackpropFilter());
});

for (const c of CASES) {
  test(`wasm Conv2DBackpropFilter equals the cpu backend’s: x ${c.x.join('×')} (${c.dataFormat}), filter ${c.filter.join('×')}, strides ${String(c.strides)}, pad ${String(c.pad)}`, async () => {
    const cpu = await filterGradient('cpu', c);
    const before = tf.memory().numTensors;
    const wasm = await filterGradient('wasm', c);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks on wasm');
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < cpu.length; i++) {
      scale = Math.max(scale, Math.abs(cpu[i] as number));
      diff = Math.max(diff, Math.abs((cpu[i] as number) - (wasm[i] as number)));
    }
    // Both sum the same ≤ 162 products in float32, in different orders (the cpu kernel loops,
    // wasm's matMul blocks): they differ by rounding, a few ulps of the sums' magnitude. A wrong
    // patch offset, padding or layout changes entries by O(scale).
    assert.ok(scale > 0.1, `entries up to ${scale}`);
    assert.ok(diff <= 1e-5 * scale, `max |Δ| ${diff} against entries up to ${scale}`);
  });
}

test('a convolutional network’s gradient on wasm equals the cpu backend’s', async () => {
  const grad = async (backend: 'cpu' | 'wasm') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 12 * 12 * 2, 0.7), [2, 12, 12, 2]);
      const f1 = tf.tensor4d(values(3 * 3 * 2 * 4, 0.2), [3, 3, 2, 4]);
      const f2 = tf.tensor4d(values(3 * 3 * 4 * 3, 0.9), [3, 3, 4, 3]);
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(tf.maxPool(tf.relu(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), 2, 2, 'valid'), b as tf.Tensor4D, 2, 'valid')));
      return tf.grads(loss)([f1, f2]).map((g) => (g.dataSync() as Float32Array).slice());
    });
  };
  const cpu = await grad('cpu');
  const wasm = await grad('wasm');
  cpu.forEach((g, i) => {
    const other = wasm[i] as Float32Array;
    const scale = Math.max(...g.map(Math.abs));
    const diff = Math.max(...g.map((v, j) => Math.abs(v - (other[j] as number))));
    // Two float32 convolution layers, pooling and ReLU: rounding differences compound a little
    // more than in one kernel (see above), still orders of magnitude below an O(scale) error.
    assert.ok(diff <= 1e-4 * scale, `filter ${i + 1}: max |Δ| ${diff} of ${scale}`);
  });
});
