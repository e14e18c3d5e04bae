import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../main/engine/data/npy.js';
import { loadDataset } from '../../main/engine/data/dataset.js';

export const BUNDLED = path.join(__dirname, '..', '..', 'data', 'fashion-mnist-3k');

export function tempDir(prefix = 'ssse-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a small ArrayBuffer-backed CLI output sink and returns what was written. */
export function captureIo(): { io: { out: NodeJS.WritableStream; err: NodeJS.WriteStream }; out: () => string; err: () => string } {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (key: 'out' | 'err') =>
    ({
      write: (s: string | Uint8Array) => {
        chunks[key].push(typeof s === 'string' ? s : Buffer.from(s).toString());
        return true;
      },
      isTTY: false,
    }) as unknown as NodeJS.WriteStream;
  return { io: { out: sink('out'), err: sink('err') }, out: () => chunks.out.join(''), err: () => chunks.err.join('') };
}

/**
 * A small real dataset in the npy layout: the first `n` bundled Fashion-MNIST images, average-
 * pooled 28×28 → 7×7 (d = 49) so that training takes milliseconds, with ids "img-0000"… and a
 * test split of the first `nTest` test images. Returns the folder.
 */
export function writeSmallNpyDataset(dir: string, n = 300, nTest = 100): string {
  const full = loadDataset(BUNDLED, nTest > 0 ? { limitTrain: n, limitTest: nTest } : { limitTrain: n });
  const pool = (features: Float32Array, rows: number): Float32Array => {
    const out = new Float32Array(rows * 49);
    for (let i = 0; i < rows; i++)
      for (let by = 0; by < 7; by++)
        for (let bx = 0; bx < 7; bx++) {
          let s = 0;
          for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) s += features[i * 784 + (by * 4 + y) * 28 + bx * 4 + x] as number;
          out[i * 49 + by * 7 + bx] = s / 16;
        }
    return out;
  };
  fs.mkdirSync(dir, { recursive: true });
  const classes = (ids: Int32Array | null): Int32Array => Int32Array.from(ids ?? []);
  fs.writeFileSync(path.join(dir, 'features.npy'), encodeNpy({ dtype: 'float32', shape: [n, 49], data: pool(full.train.features, n) }));
  fs.writeFileSync(path.join(dir, 'labels.npy'), encodeNpy({ dtype: 'int32', shape: [n], data: classes(full.train.classIds) }));
  const test = full.test;
  if (test && nTest > 0) {
    fs.writeFileSync(path.join(dir, 'test_features.npy'), encodeNpy({ dtype: 'float32', shape: [nTest, 49], data: pool(test.features, nTest) }));
    fs.writeFileSync(path.join(dir, 'test_labels.npy'), encodeNpy({ dtype: 'int32', shape: [nTest], data: classes(test.classIds) }));
  }
  fs.writeFileSync(path.join(dir, 'ids.txt'), Array.from({ length: n }, (_, i) => `img-${String(i).padStart(4, '0')}`).join('\n') + '\n');
  return dir;
}
