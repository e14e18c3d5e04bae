import { mount, tick } from 'svelte';
import type { ReportDocument } from '../../preload/reportDocument';
import PrintReport from './report/PrintReport.svelte';
import './styles.css';
import './report/print.css';

// The print page of the signed report (main/report/html.ts inlines this bundle with the
// document). It tells the printer it is done by setting data-report-ready on <body>: "true",
// or the error that stopped it.
const READY = 'data-report-ready';

function readJson<T>(id: string): T {
  const el = document.getElementById(id);
  if (!el?.textContent) throw new Error(`the report page has no #${id} data`);
  return JSON.parse(el.textContent) as T;
}

async function start(): Promise<void> {
  document.documentElement.dataset['theme'] = 'light';
  const doc = readJson<ReportDocument>('ssse-report-data');
  const signature = readJson<string | null>('ssse-report-signature');
  const target = document.getElementById('report');
  if (!target) throw new Error('the report page has no #report element');
  mount(PrintReport, { target, props: { doc, signature } });
  await tick();
  await document.fonts.ready;
  // Charts size themselves from their measured width: let that settle before printing.
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  await tick();
  document.body.setAttribute(READY, 'true');
}

start().catch((e: unknown) => {
  document.body.setAttribute(READY, e instanceof Error ? e.message : String(e));
});
