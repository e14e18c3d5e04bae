/**
 * The PDF as evidence: sealing a printed report (its signed JSON, the signature and the public
 * key embedded as attachments; the document information set) with pdf-lib, and reading a PDF
 * back (text per page, attachments, information) with PDF.js, the reader most viewers share.
 */
import { AFRelationship, PDFDict, PDFDocument, PDFName } from 'pdf-lib';
import { REPORT_ATTACHMENTS, type ReportDocument } from '../../preload/reportDocument.js';
import { SsseError } from '../engine/errors.js';

export interface Evidence {
  json: Buffer;
  signature: Buffer;
  publicKeyPem: string;
}

export interface PdfInfo {
  title: string;
  subject: string;
  keywords: string[];
  author: string;
  creator: string;
  producer: string;
  created: Date;
}

export function pdfInfoFor(doc: ReportDocument): PdfInfo {
  const r = doc.report;
  return {
    title: `SSSE audit report: erasure request #${r.request.id}`,
    subject: `Erasure of ${r.request.k ?? 0} training samples from ${r.before?.label ?? r.request.model.label}${r.after ? ` (result ${r.after.label})` : ''}, verified by SSSE's similarity ratio; signed by key ${doc.signer.fingerprint}`,
    keywords: ['SSSE', 'machine unlearning', 'erasure request', `request ${r.request.id}`, `status ${r.request.status}`, 'Ed25519 signed', `key ${doc.signer.fingerprint}`],
    // pdf-lib joins keywords with spaces; "; " keeps multi-word ones apart.
    author: doc.generatedBy,
    creator: `${doc.software.name} ${doc.software.version}, ${doc.software.runtime}`,
    producer: `${doc.software.name} ${doc.software.version} (Chromium print, pdf-lib)`,
    created: new Date(doc.generatedAt),
  };
}

/** Drops any embedded files, so that sealing twice leaves one set (used when re-sealing in tests). */
function dropAttachments(pdf: PDFDocument): void {
  const names = pdf.catalog.lookupMaybe(PDFName.of('Names'), PDFDict);
  names?.delete(PDFName.of('EmbeddedFiles'));
  pdf.catalog.delete(PDFName.of('AF'));
}

/** Adds the evidence and the document information to a printed PDF. */
export async function sealPdf(printed: Uint8Array, evidence: Evidence, info: PdfInfo): Promise<Uint8Array> {
  const pdf = await PDFDocument.load(printed, { updateMetadata: false });
  dropAttachments(pdf);
  const when = info.created;
  const attach = (data: Uint8Array, name: string, mimeType: string, description: string) =>
    pdf.attach(data, name, { mimeType, description, creationDate: when, modificationDate: when, afRelationship: AFRelationship.Source });
  await attach(evidence.json, REPORT_ATTACHMENTS.json, 'application/json', 'The report as canonical JSON (keys sorted): what the pages show, signed');
  await attach(evidence.signature, REPORT_ATTACHMENTS.signature, 'application/octet-stream', `Ed25519 signature over ${REPORT_ATTACHMENTS.json} (64 bytes)`);
  await attach(Buffer.from(evidence.publicKeyPem, 'utf8'), REPORT_ATTACHMENTS.publicKey, 'application/x-pem-file', 'The signing public key (SubjectPublicKeyInfo, PEM)');
  pdf.setTitle(info.title, { showInWindowTitleBar: true });
  pdf.setSubject(info.subject);
  pdf.setKeywords([info.keywords.join('; ')]);
  pdf.setAuthor(info.author);
  pdf.setCreator(info.creator);
  pdf.setProducer(info.producer);
  pdf.setCreationDate(when);
  pdf.setModificationDate(when);
  pdf.setLanguage('en');
  return pdf.save({ useObjectStreams: false });
}

export interface ReadPdf {
  pages: number;
  /** Each page's text, items joined by spaces in reading order. */
  text: string[];
  attachments: Map<string, Buffer>;
  info: { title: string | null; subject: string | null; keywords: string | null; producer: string | null; creationDate: string | null };
}

interface PdfJsAttachment {
  filename?: string;
  content?: Uint8Array;
}

/** Reads a PDF's text, attachments and information; BAD_INPUT naming `source` when it is not a readable PDF. */
export async function readPdf(bytes: Uint8Array, source: string): Promise<ReadPdf> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  let doc: Awaited<ReturnType<typeof pdfjs.getDocument>['promise']>;
  try {
    // PDF.js takes ownership of the buffer it is given: hand it a copy.
    doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), verbosity: 0, isEvalSupported: false, useSystemFonts: false, disableFontFace: true }).promise;
  } catch (e) {
    throw new SsseError('BAD_INPUT', `${source}: not a readable PDF (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    const text: string[] = [];
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      const content = await page.getTextContent();
      text.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' '));
      page.cleanup();
    }
    const raw = ((await doc.getAttachments()) ?? {}) as Record<string, PdfJsAttachment>;
    const attachments = new Map<string, Buffer>();
    for (const [key, a] of Object.entries(raw)) if (a.content) attachments.set(a.filename ?? key, Buffer.from(a.content));
    const meta = await doc.getMetadata();
    const infoDict = (meta.info ?? {}) as Record<string, unknown>;
    const str = (k: string): string | null => (typeof infoDict[k] === 'string' ? (infoDict[k] as string) : null);
    return {
      pages: doc.numPages,
      text,
      attachments,
      info: { title: str('Title'), subject: str('Subject'), keywords: str('Keywords'), producer: str('Producer'), creationDate: str('CreationDate') },
    };
  } finally {
    await doc.destroy();
  }
}
