import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ArtefactCache, crc32, crc32Table, removeOrphans } from '../../main/engine/cache.js';
import { sha256Bytes } from '../../main/engine/hash.js';

const made: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-cache-test-'));
  made.push(dir);
  return dir;
}

after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** XORs the byte `fromEnd` bytes before the end of the file with `mask`; returns the new contents. */
function flipByte(file: string, fromEnd: number, mask: number): Buffer {
  const bytes = fs.readFileSync(file);
  const at = bytes.length - fromEnd;
  bytes[at] = (bytes[at] as number) ^ mask;
  fs.writeFileSync(file, bytes);
  return bytes;
}

function blocks(count: number, len: number): Float32Array[] {
  return Array.from({ length: count }, (_, b) => Float32Array.from({ length: len }, (_, i) => b * 1000 + i * 0.5));
}

describe('ArtefactCache.open: positioned reads of single arrays', () => {
  test('reads each array at its offset, checks it, and counts only the bytes it read', () => {
    const cache = new ArtefactCache(tempDir());
    const arrays = blocks(5, 1000);
    const file = cache.write('fisher', 'k1', { d: 10, note: 'x' }, arrays);
    const reader = cache.open<{ d: number; note: string }>('fisher', 'k1');
    assert.ok(reader);
    try {
      assert.deepEqual(reader.meta, { d: 10, note: 'x' });
      assert.equal(reader.dtype, 'float32');
      assert.deepEqual(reader.lengths, [1000, 1000, 1000, 1000, 1000]);
      const header = reader.bytesRead;
      const scratch = new ArrayBuffer(4000);
      const b3 = reader.readArray(3, scratch);
      assert.ok(b3 instanceof Float32Array);
      assert.equal(b3.buffer, scratch, 'the scratch buffer is reused');
      assert.deepEqual(Array.from(b3), Array.from(arrays[3] ?? []));
      assert.deepEqual(Array.from(reader.readArray(0) ?? []), Array.from(arrays[0] ?? []));
      assert.equal(reader.bytesRead, header + 2 * 4000, 'two arrays read, nothing else');
      assert.ok(reader.bytesRead < fs.statSync(file).size);
      assert.equal(reader.readArray(5), null, 'no such array');
    } finally {
      reader.close();
    }
    // The whole-entry reader still accepts the entry (the header's extra field is compatible).
    const whole = cache.read('fisher', 'k1');
    assert.ok(whole);
    assert.deepEqual(Array.from(whole.arrays[4] ?? []), Array.from(arrays[4] ?? []));
  });

  test('a damaged array is reported as null while the others still read; a truncated file does not open', () => {
    const cache = new ArtefactCache(tempDir());
    const arrays = blocks(3, 256);
    const file = cache.write('fisher', 'k2', {}, arrays);
    // Flip one byte inside array 1 (the payload ends with arrays 0, 1, 2 of 1024 bytes each).
    const bytes = flipByte(file, 2 * 1024 - 100, 0xff);
    const reader = cache.open('fisher', 'k2');
    assert.ok(reader);
    assert.ok(reader.readArray(0));
    assert.equal(reader.readArray(1), null);
    assert.ok(reader.readArray(2));
    reader.close();
    assert.equal(cache.read('fisher', 'k2'), null, 'the whole-entry check catches it too');
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1));
    assert.equal(cache.open('fisher', 'k2'), null);
    assert.equal(cache.open('fisher', 'absent'), null);
  });

  test('an entry written before per-array checksums is read whole, checked by its SHA-256, and served', () => {
    const dir = tempDir();
    const arrays = [Float64Array.from([1, 2, 3]), Float64Array.from([4, 5])];
    const payload = Buffer.concat(arrays.map((a) => new Uint8Array(a.buffer)));
    const header = Buffer.from(JSON.stringify({ magic: 'SSSECACHE1', dtype: 'float64', lengths: [3, 2], sha256: sha256Bytes(payload), meta: { old: true } }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length, 0);
    fs.writeFileSync(path.join(dir, 'theta-star-old.bin'), Buffer.concat([len, header, payload]));
    const reader = new ArtefactCache(dir).open<{ old: boolean }>('theta-star', 'old');
    assert.ok(reader);
    assert.deepEqual(reader.meta, { old: true });
    assert.deepEqual(Array.from(reader.readArray(1) ?? []), [4, 5]);
    reader.close();
  });

  test('readArrayPieces streams a float32 array in pieces, in order, with its CRC-32 carried along; damage reads false', () => {
    const cache = new ArtefactCache(tempDir());
    const arrays = blocks(3, 1000);
    const file = cache.write('fisher', 'p1', {}, arrays);
    const reader = cache.open('fisher', 'p1');
    assert.ok(reader);
    try {
      for (const pieceLength of [1000, 333, 7, 1, 4000]) {
        const before: number = reader.bytesRead;
        const got: number[] = [];
        const firsts: number[] = [];
        assert.equal(
          reader.readArrayPieces(2, pieceLength, (piece, first) => {
            assert.equal(first, got.length, 'pieces arrive in order');
            assert.ok(piece.length >= 1 && piece.length <= pieceLength);
            firsts.push(first);
            got.push(...piece);
          }),
          true,
          `pieces of ${pieceLength}`,
        );
        assert.deepEqual(got, Array.from(arrays[2] ?? []));
        assert.equal(firsts.length, Math.ceil(1000 / pieceLength));
        assert.equal(reader.bytesRead, before + 4000);
      }
      assert.throws(() => reader.readArrayPieces(0, 0, () => undefined), /pieceLength/);
      assert.equal(reader.readArrayPieces(3, 10, () => undefined), false, 'no such array');
    } finally {
      reader.close();
    }
    // A byte flipped inside array 1 (the second of three 4000-byte arrays): its pieces read false, the others true.
    flipByte(file, 2 * 4000 - 2500, 0x01);
    const damaged = cache.open('fisher', 'p1');
    assert.ok(damaged);
    assert.equal(damaged.readArrayPieces(1, 100, () => undefined), false);
    assert.equal(damaged.readArrayPieces(0, 100, () => undefined), true);
    damaged.close();
    // Float64 entries are refused by name.
    cache.write('theta-star', 'p2', {}, [Float64Array.from([1, 2])]);
    const f64 = cache.open('theta-star', 'p2');
    assert.throws(() => f64?.readArrayPieces(0, 1, () => undefined), /float64/);
    f64?.close();
  });

  test('crc32 is the standard CRC-32 (check value of "123456789"), and continues over pieces', () => {
    const whole = Buffer.from('123456789');
    for (const f of [crc32, crc32Table]) {
      assert.equal(f(whole, f(Buffer.alloc(0))), 0xcbf43926);
      assert.equal(f(whole.subarray(4), f(whole.subarray(0, 4))), 0xcbf43926, `${f.name} continued`);
    }
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) & 255));
    assert.equal(crc32Table(data), crc32(data));
    const native = (zlib as typeof zlib & { crc32?: (b: Uint8Array) => number }).crc32;
    if (native) assert.equal(crc32(data), native(data) >>> 0);
  });
});

describe('ArtefactCache.writer: entries written array by array', () => {
  test('arrays in any order give the same entry as write(), readable whole and by position, payload aligned', () => {
    const cache = new ArtefactCache(tempDir());
    const arrays = blocks(4, 777);
    cache.write('fisher', 'whole', { d: 7 }, arrays);
    const w = cache.writer('fisher', 'streamed', { d: 7 }, 'float32', [777, 777, 777, 777]);
    for (const i of [2, 0, 3, 1]) w.put(i, arrays[i] as Float32Array);
    const file = w.commit();
    const whole = cache.read<{ d: number }>('fisher', 'whole');
    const streamed = cache.read<{ d: number }>('fisher', 'streamed');
    assert.ok(whole && streamed);
    assert.deepEqual(streamed, whole);
    // The header is padded so that the payload starts at a multiple of 8: the arrays are then
    // views of the file's bytes (no second copy of the entry in memory).
    const bytes = fs.readFileSync(file);
    assert.equal((4 + bytes.readUInt32LE(0)) % 8, 0);
    const reader = cache.open('fisher', 'streamed');
    assert.ok(reader);
    try {
      assert.deepEqual(reader.readArray(3, new ArrayBuffer(777 * 4)), arrays[3]);
    } finally {
      reader.close();
    }
    // The SHA-256 of the header is that of the payload, as every reader checks.
    const header = JSON.parse(bytes.subarray(4, 4 + bytes.readUInt32LE(0)).toString('utf8')) as { sha256: string };
    assert.equal(header.sha256, sha256Bytes(...arrays));
  });

  test('float64 entries; refusals; a missing array, an abort or a wrong array publish nothing', () => {
    const dir = tempDir();
    const cache = new ArtefactCache(dir);
    const w64 = cache.writer('theta', 't', null, 'float64', [3]);
    w64.put(0, Float64Array.of(1, 2, 3));
    w64.commit();
    assert.deepEqual(cache.read('theta', 't')?.arrays, [Float64Array.of(1, 2, 3)]);
    assert.throws(() => w64.put(0, Float64Array.of(1, 2, 3)), /already committed/);

    const short = cache.writer('fisher', 'short', null, 'float32', [2, 2]);
    short.put(0, Float32Array.of(1, 2));
    assert.throws(() => short.commit(), /array 1 was never written/);
    short.abort();
    const wrong = cache.writer('fisher', 'wrong', null, 'float32', [2]);
    assert.throws(() => wrong.put(0, Float32Array.of(1, 2, 3)), /array 0 does not match/);
    assert.throws(() => wrong.put(0, Float64Array.of(1, 2)), /array 0 does not match/);
    assert.throws(() => wrong.put(1, Float32Array.of(1, 2)), /array 1 does not match/);
    wrong.abort();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['theta-t.bin'], 'nothing else, not even a temporary file');
  });

  test('what a killed writer left of an entry is removed when the entry is written next; a live writer’s file is left alone', () => {
    const dir = tempDir();
    const cache = new ArtefactCache(dir);
    // A process that has exited: its pid is free (reused by another process only after a wrap-around).
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const orphan = `fisher-k.bin.tmp-${gone}-1700000000000`;
    const live = `fisher-k.bin.tmp-${process.pid}-1700000000000`;
    const other = `fisher-other.bin.tmp-${gone}-1700000000000`;
    for (const name of [orphan, live, other]) fs.writeFileSync(path.join(dir, name), 'half-written');
    assert.deepEqual(removeOrphans(path.join(dir, 'fisher-k.bin')), [orphan]);
    fs.writeFileSync(path.join(dir, orphan), 'half-written');
    const w = cache.writer('fisher', 'k', null, 'float32', [1]);
    w.put(0, Float32Array.of(1));
    w.commit();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['fisher-k.bin', live, other].sort(), 'the entry’s orphan is gone; another entry’s is not this writer’s business');
  });
});
