import { SsseError } from './errors.js';

/** λ_F must be a finite number > 0; the error names the flag users set it with. */
export function checkDamping(damping: number): void {
  if (!(damping > 0) || !Number.isFinite(damping)) {
    throw new SsseError('BAD_ARGUMENT', `--damping: must be a finite number > 0 (got ${damping})`);
  }
}
