/**
 * The workstation's report-signing key: one Ed25519 key pair, created on first use in the user's
 * data folder, the private half readable by its owner only. The app keeps it encrypted with
 * Electron's safeStorage instead (main/electron/reportExport.ts passes a KeyProtector); the
 * command line keeps it as a PKCS#8 PEM file with mode 0600, the way ssh keeps its keys, and
 * refuses one that others can read.
 *
 * The public half is written beside it (…pub.pem) so that it can be handed to whoever checks
 * reports: `ssse verify-report FILE --key THAT.pub.pem`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SsseError } from '../engine/errors.js';

/** How the private key is kept on disk. */
export interface KeyProtector {
  /** Shown in reports: "file, owner-only (0600)". */
  description: string;
  /** The key file's name in the key folder (each protector has its own file). */
  fileName: string;
  protect(pkcs8Pem: string): Buffer;
  unprotect(stored: Buffer): string;
}

/** The command line's: the PEM as it is, in a file only its owner may read. */
export const FILE_PROTECTOR: KeyProtector = {
  description: 'file, owner-only (0600)',
  fileName: 'report-signing-key.pem',
  protect: (pem) => Buffer.from(pem, 'utf8'),
  unprotect: (stored) => stored.toString('utf8'),
};

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  fingerprint: string;
  protection: string;
  /** The private key's file and the public key's. */
  file: string;
  publicFile: string;
  /** Whether this call created the key. */
  created: boolean;
}

/**
 * The user's data folder for ssse: $SSSE_DATA_DIR, else the platform's (XDG_DATA_HOME or
 * ~/.local/share on Linux, ~/Library/Application Support on macOS, %APPDATA% on Windows).
 */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const given = env['SSSE_DATA_DIR'];
  if (given && given.trim()) return path.resolve(given);
  const home = os.homedir();
  if (platform === 'win32') return path.join(env['APPDATA'] ?? path.join(home, 'AppData', 'Roaming'), 'ssse');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'ssse');
  return path.join(env['XDG_DATA_HOME'] || path.join(home, '.local', 'share'), 'ssse');
}

export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDataDir(env), 'keys');
}

/** SHA-256 of the public key's SubjectPublicKeyInfo (DER), hex in groups of four. */
export function fingerprintOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').replace(/(.{4})(?=.)/g, '$1 ');
}

/** A public key from PEM text; the error names where it came from. */
export function publicKeyFromPem(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new SsseError('BAD_INPUT', `${source}: not a PEM public key (${e instanceof Error ? e.message : String(e)})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SsseError('BAD_INPUT', `${source}: a ${key.asymmetricKeyType ?? 'unknown'} key, expected Ed25519`);
  return key;
}

export function signBytes(data: Buffer, key: SigningKey): Buffer {
  return sign(null, data, key.privateKey);
}

export function verifyBytes(data: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  try {
    return verify(null, data, publicKey, signature);
  } catch {
    return false;
  }
}

const POSIX = process.platform !== 'win32';

function checkOwnerOnly(file: string): void {
  if (!POSIX) return;
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new SsseError(
      'RESOURCE',
      `${file}: the report-signing key can be read by others (mode ${mode.toString(8).padStart(4, '0')}); it was not used. Make it owner-only (chmod 600 ${file}), or move it away to create a new key`,
    );
  }
}

function writePublic(file: string, pem: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === pem) return;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pem, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

function fromPrivatePem(pem: string, file: string, protection: string, created: boolean): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new SsseError('BAD_INPUT', `${file}: not a readable private key (${e instanceof Error ? e.message : String(e)}); move it away to create a new key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new SsseError('BAD_INPUT', `${file}: a ${privateKey.asymmetricKeyType ?? 'unknown'} key, expected Ed25519`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const publicFile = file.replace(/(\.[^.]*)?$/, '.pub.pem');
  writePublic(publicFile, publicKeyPem);
  return { privateKey, publicKey, publicKeyPem, fingerprint: fingerprintOf(publicKey), protection, file, publicFile, created };
}

/**
 * The signing key in `dir`, created on first use. Creation is safe against two processes at
 * once: the key is written to a private temporary file and linked into place, so exactly one
 * key wins and the other process reads it.
 */
export function loadOrCreateSigningKey(dir: string = defaultKeyDir(), protector: KeyProtector = FILE_PROTECTOR): SigningKey {
  const file = path.join(dir, protector.fileName);
  if (fs.existsSync(file)) {
    checkOwnerOnly(file);
    return fromPrivatePem(protector.unprotect(fs.readFileSync(file)), file, protector.description, false);
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const tmp = path.join(dir, `.${protector.fileName}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, protector.protect(pem), { mode: 0o600, flag: 'wx' });
  try {
    if (POSIX) fs.chmodSync(tmp, 0o600); // the umask may have taken bits away, never added: make sure
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Another process created the key first: use theirs.
    return loadOrCreateSigningKey(dir, protector);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return fromPrivatePem(pem, file, protector.description, true);
}
