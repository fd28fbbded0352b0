/**
 * `torchnas dashboard --export OUT.html`: the same page with Chart.js, the run list and every run's plots inlined,
 * so the one file opens anywhere, offline (file://), with no server.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file';
import { chartLibrary, renderPage } from './page';
import { listRuns, runDetail } from './server';
import { RunsFolder } from './runs';

export interface ExportResult {
  file: string;
  runs: number;
  bytes: number;
}

/** The exported document (the runs as they are now). */
export function renderExport(runsDir: string): { html: string; runs: number } {
  const folder = new RunsFolder(runsDir);
  const runs = listRuns(folder);
  const details = Object.fromEntries(runs.map((r) => [r.id, runDetail(folder, r.id)]));
  const html = renderPage({
    title: `torchnas dashboard — ${path.basename(folder.root)}`,
    chartSource: chartLibrary(),
    data: { exportedAt: new Date().toISOString(), runs, details },
  });
  return { html, runs: runs.length };
}

export async function exportDashboard(runsDir: string, out: string): Promise<ExportResult> {
  const { html, runs } = renderExport(runsDir);
  await writeFileAtomic(out, html);
  return { file: out, runs, bytes: Buffer.byteLength(html) };
}
