import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { CONTENT_SECURITY_POLICY, mimeType, resolveAppFile } from '../../main/app/staticFiles.js';

const root = path.resolve('/srv/app/renderer/dist');

test('app:// paths map to files under the renderer folder', () => {
  assert.equal(resolveAppFile(root, 'app://ssse/', 'ssse'), path.join(root, 'index.html'));
  assert.equal(resolveAppFile(root, 'app://ssse/index.html', 'ssse'), path.join(root, 'index.html'));
  assert.equal(resolveAppFile(root, 'app://ssse/assets/index-1.js?x=1#frag', 'ssse'), path.join(root, 'assets', 'index-1.js'));
});

test('dot segments never leave the folder, plain or percent-encoded', () => {
  for (const url of ['app://ssse/../../etc/passwd', 'app://ssse/%2e%2e/%2e%2e/etc/passwd', 'app://ssse/assets/..%2f..%2f..%2fetc%2fpasswd', 'app://ssse/a/%2E%2E%5C..%5Cx']) {
    const file = resolveAppFile(root, url, 'ssse');
    assert.ok(file === null || file.startsWith(root + path.sep), `${url} → ${file}`);
  }
  assert.equal(resolveAppFile(root, 'app://ssse/assets/..%2f..%2f..%2fetc%2fpasswd', 'ssse'), null);
});

test('other hosts, NUL bytes and malformed URLs are refused', () => {
  for (const url of [
    'app://ssse/%00index.html',
    'app://ssse/%E0%A4%A',
    'app://other/index.html',
    'not a url',
  ]) {
    assert.equal(resolveAppFile(root, url, 'ssse'), null, url);
  }
});

test('MIME types and a CSP that allows nothing from elsewhere', () => {
  assert.equal(mimeType('a/b.js'), 'text/javascript; charset=utf-8');
  assert.equal(mimeType('x.HTML'), 'text/html; charset=utf-8');
  assert.equal(mimeType('x.bin'), 'application/octet-stream');
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|\*|http:|https:/);
});
