import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ssse, tempDir, writeDataset } from '../helpers/storeFixtures.js';

describe('ssse demo', () => {
  const dir = tempDir('demo');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('records its run in the database, exports its results, and the store verifies; a second run reuses the model', async () => {
    const data = writeDataset(path.join(dir, 'data'), { n: 150 });
    const db = path.join(dir, 'out', 'ssse.db');
    const out = path.join(dir, 'out', 'demo');
    const args = ['demo', '--dataset', data, '--db', db, '--out', out, '--remove-fraction', '0.05', '--epsilon-sweep', '0.5,1,2', '--backend', 'cpu'];
    const first = await ssse(...args);
    assert.equal(first.code, 0, first.out + first.err);
    assert.match(first.err, new RegExp(`ssse demo: recording the run in ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(first.out, /Recorded as request #1 \(verified\) in .*: fashion-mnist-demo@2 is the erased model\.\n {2}audit verify: OK/);
    assert.ok(fs.existsSync(path.join(out, 'summary.json')));
    const second = await ssse(...args, '--seed', '1');
    assert.notEqual(second.code, 0, 'another seed trains another model: refused under the same name');
    assert.match(second.err, /already holds a model "fashion-mnist-demo" trained on other data or settings/);
    const again = await ssse(...args);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.err, /reusing fashion-mnist-demo@1/);
    assert.match(again.err, /reusing certification #1/);
    assert.match(again.out, /Recorded as request #2 \(verified\) .*fashion-mnist-demo@3 is the erased model/);
    const verify = await ssse('audit', 'verify', '--db', db);
    assert.equal(verify.code, 0, verify.out);
  });
});
