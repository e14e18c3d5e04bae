import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fingerprintOf, FILE_PROTECTOR, loadOrCreateSigningKey, publicKeyFromPem, signBytes, userDataDir, verifyBytes } from '../../main/report/signingKey.js';
import { tempDir } from '../helpers/fixtures.js';

const posix = process.platform !== 'win32';

test('the signing key is created on first use, owner-only, and the same key is read back after', () => {
  const dir = path.join(tempDir('ssse-key-'), 'keys');
  try {
    const first = loadOrCreateSigningKey(dir);
    assert.equal(first.created, true);
    assert.equal(first.protection, FILE_PROTECTOR.description);
    if (posix) {
      assert.equal(fs.statSync(first.file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(dir).mode & 0o077, 0, 'the key folder is not open to others');
    }
    assert.match(fs.readFileSync(first.file, 'utf8'), /BEGIN PRIVATE KEY/);
    assert.equal(fs.readFileSync(first.publicFile, 'utf8'), first.publicKeyPem);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['report-signing-key.pem', 'report-signing-key.pub.pem'], 'no temporary file is left');
    const again = loadOrCreateSigningKey(dir);
    assert.equal(again.created, false);
    assert.equal(again.fingerprint, first.fingerprint);
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

test('a key file others can read is refused, naming the file and the fix', { skip: !posix }, () => {
  const dir = tempDir('ssse-key-');
  try {
    const key = loadOrCreateSigningKey(dir);
    fs.chmodSync(key.file, 0o644);
    assert.throws(() => loadOrCreateSigningKey(dir), (e: Error) => e.message.includes(key.file) && /mode 0644/.test(e.message) && /chmod 600/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the fingerprint is the SHA-256 of the public key in SubjectPublicKeyInfo form', () => {
  const dir = tempDir('ssse-key-');
  try {
    const key = loadOrCreateSigningKey(dir);
    // Independently: an Ed25519 SPKI is a fixed 12-byte header followed by the 32-byte raw key.
    const raw = Buffer.from(key.publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    const hex = createHash('sha256').update(spki).digest('hex');
    assert.equal(key.fingerprint.replace(/ /g, ''), hex);
    assert.match(key.fingerprint, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    assert.equal(fingerprintOf(publicKeyFromPem(key.publicKeyPem, 'test')), key.fingerprint);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a signature verifies with its key only, and not over other bytes', () => {
  const a = tempDir('ssse-key-a-');
  const b = tempDir('ssse-key-b-');
  try {
    const keyA = loadOrCreateSigningKey(a);
    const keyB = loadOrCreateSigningKey(b);
    const data = Buffer.from('{"a":1}');
    const sig = signBytes(data, keyA);
    assert.equal(sig.length, 64);
    assert.equal(verifyBytes(data, sig, keyA.publicKey), true);
    assert.equal(verifyBytes(data, sig, keyB.publicKey), false);
    assert.equal(verifyBytes(Buffer.from('{"a":2}'), sig, keyA.publicKey), false);
    assert.equal(verifyBytes(data, Buffer.alloc(3), keyA.publicKey), false);
  } finally {
    fs.rmSync(a, { recursive: true, force: true });
    fs.rmSync(b, { recursive: true, force: true });
  }
});

test('a public key file that is not an Ed25519 PEM key is named in the error', () => {
  assert.throws(() => publicKeyFromPem('not a key', 'other.pub.pem'), /other\.pub\.pem: not a PEM public key/);
});

test('the data folder: $SSSE_DATA_DIR, else the platform convention', () => {
  assert.equal(userDataDir({ SSSE_DATA_DIR: '/x/y' }, 'linux'), path.resolve('/x/y'));
  assert.equal(userDataDir({ XDG_DATA_HOME: '/d' }, 'linux'), path.join('/d', 'ssse'));
  assert.match(userDataDir({}, 'linux'), /\.local[/\\]share[/\\]ssse$/);
  assert.match(userDataDir({}, 'darwin'), /Library[/\\]Application Support[/\\]ssse$/);
  assert.equal(userDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32'), path.join('C:\\Users\\u\\AppData\\Roaming', 'ssse'));
});
