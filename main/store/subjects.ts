import { createHmac } from 'node:crypto';
import { SsseError } from '../engine/errors.js';

/**
 * The pseudonymous subject reference as stored: HMAC-SHA256 keyed with the database's own salt
 * (meta.subject_salt, 32 random bytes made when the database was created). The same reference
 * always gives the same value in one database, so requests of one subject can be found, but the
 * value means nothing without the salt and differs between databases. The reference itself is
 * never stored. Whitespace at either end is ignored and Unicode is normalised (NFC).
 */
export function subjectHash(saltHex: string, reference: string): string {
  const ref = reference.trim().normalize('NFC');
  if (ref === '') throw new SsseError('BAD_ARGUMENT', '--subject: the subject reference is empty');
  return createHmac('sha256', Buffer.from(saltHex, 'hex')).update(ref, 'utf8').digest('hex');
}
