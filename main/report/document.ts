/**
 * The report's document: everything the PDF shows, as one JSON value, built from the audit store
 * at one moment. Its canonical JSON (keys sorted, main/engine/hash.ts) is what gets signed and
 * embedded; the print page renders the very same value.
 */
import * as path from 'node:path';
import { auditHead } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import { getRequest } from '../../db/queries.js';
import { recordDigest } from '../../db/records.js';
import { judgeErasure, isVerified, REPORT_FORMAT, type ReportDocument, type ReportSigner } from '../../preload/reportDocument.js';
import { storeViews } from '../app/storeViews.js';
import { ENGINE_VERSION } from '../engine/erase.js';
import { SsseError } from '../engine/errors.js';
import { canonicalJson } from '../engine/hash.js';
import type { SigningKey } from './signingKey.js';

export interface SoftwareInfo {
  version: string;
  runtime: string;
}

export function commandLineRuntime(): string {
  return `command line (Node ${process.versions.node}, ${process.platform} ${process.arch})`;
}

export function signerOf(key: SigningKey): ReportSigner {
  return { algorithm: 'Ed25519', fingerprint: key.fingerprint, publicKeyPem: key.publicKeyPem, keyProtection: key.protection };
}

/** The request's report as the store holds it now; BAD_ARGUMENT naming the database when there is no such request. */
export function buildReportDocument(store: Store, requestId: number, options: { software: SoftwareInfo; signer: ReportSigner; actor?: string; at?: Date }): ReportDocument {
  if (!getRequest(store.db, requestId)) throw new SsseError('BAD_ARGUMENT', `there is no request #${requestId} in ${store.file}`);
  const report = storeViews(store).report(requestId);
  const digest = recordDigest(store.db, 'requests', requestId);
  if (digest === null) throw new SsseError('BAD_ARGUMENT', `there is no request #${requestId} in ${store.file}`);
  return {
    format: REPORT_FORMAT,
    generatedAt: (options.at ?? new Date()).toISOString(),
    generatedBy: options.actor ?? store.actor,
    software: { name: 'SSSE audit workstation', version: options.software.version, engineVersion: ENGINE_VERSION, runtime: options.software.runtime },
    database: { file: path.basename(store.file), auditHead: auditHead(store.db), requestRecordSha256: digest },
    report,
    verdict: judgeErasure(report.gammaS, isVerified(report)),
    signer: options.signer,
  };
}

/** The bytes that are signed and embedded: canonical JSON, UTF-8. */
export function documentBytes(doc: ReportDocument): Buffer {
  return Buffer.from(canonicalJson(doc), 'utf8');
}
