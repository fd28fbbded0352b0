/**
 * FLOPs/params of NAS-Bench-MR networks two ways (ncp.md §4): the closed form from the setting
 * (spaces/nasbench-mr/cost.ts) and a hook-style count of the built LibTorch module (native
 * MultiResolutionNet built on the meta device, every conv/BN call counted by thop's 2020 rules). When
 * the codes come from a table, both are compared with its stored values (exact float64 equality).
 */
import * as path from 'node:path';
import { TorchnasError } from '../../core/errors';
import { loadNasBenchMrTable, loadSearchList } from '../../benchmarks/nasbench-mr';
import { resolveTablePath } from '../../benchmarks/table-names';
import { codeToEmbedding, embeddingToCode, embeddingToSetting, networkCost, TABLE_COST_OPTIONS } from '../../spaces/nasbench-mr';
import { native } from '../../native';

export type CostMethod = 'closed' | 'hooks' | 'both';

export interface CostConvention {
  head: 'cls' | 'seg';
  numClasses: number;
  inputSize: number;
}

export interface CostRow {
  code: string;
  /** G and M, = counts / 1e9 and / 1e6 like the tables. */
  closed?: { flops: number; params: number };
  hooks?: { flops: number; params: number };
  stored?: { flops: number; params: number };
}

export interface CostReport {
  convention: CostConvention;
  method: CostMethod;
  source?: string;
  rows: CostRow[];
  /** With a table: how many records equal the stored flops and params exactly, per method. */
  matches?: { records: number; closed?: number; hooks?: number };
  seconds: { closed: number; hooks: number };
}

export interface CountCostsOptions {
  convention?: Partial<CostConvention>;
  method?: CostMethod;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Codes from a text file (one per line, like search_list.txt) or a table (.pkl/.json, gzipped or not, with
 * stored costs); either may be given by name (`search-list`, `seg`, …).
 */
export async function readCostInputs(source: string): Promise<{ codes: string[]; stored?: { flops: number; params: number }[] }> {
  const file = resolveTablePath(source, { kind: ['nas-bench-mr', 'search-list'] });
  if (/\.(pkl|json)(\.gz)?$/i.test(file)) {
    const table = await loadNasBenchMrTable(file, { task: null });
    return { codes: table.records.map((r) => r.code), stored: table.records.map((r) => ({ flops: r.flops, params: r.params })) };
  }
  return { codes: await loadSearchList(file) };
}

export async function countCosts(
  codes: string[],
  stored: { flops: number; params: number }[] | undefined,
  options: CountCostsOptions = {},
  source?: string,
): Promise<CostReport> {
  if (codes.length === 0) throw new TorchnasError('no codes to count', 'INVALID_ARGUMENT');
  const convention: CostConvention = { ...TABLE_COST_OPTIONS, ...options.convention } as CostConvention;
  const method = options.method ?? 'closed';
  const embeddings = codes.map((c) => codeToEmbedding(c));
  const rows: CostRow[] = embeddings.map((e, i) => ({ code: embeddingToCode(e), ...(stored ? { stored: stored[i] } : {}) }));
  const seconds = { closed: 0, hooks: 0 };
  if (method !== 'hooks') {
    const t = process.hrtime.bigint();
    embeddings.forEach((e, i) => {
      const c = networkCost(embeddingToSetting(e), convention);
      rows[i].closed = { flops: c.flops, params: c.params };
    });
    seconds.closed = Number(process.hrtime.bigint() - t) / 1e9;
  }
  if (method !== 'closed') {
    const t = process.hrtime.bigint();
    const r = await native().countMultiResolutionOps(
      embeddings.flat(),
      { head: convention.head, numClasses: convention.numClasses, height: convention.inputSize, width: convention.inputSize },
      options.onProgress ? ([done, total]) => options.onProgress?.(done, total) : undefined,
    );
    rows.forEach((row, i) => (row.hooks = { flops: r.ops[i] / 1e9, params: r.params[i] / 1e6 }));
    seconds.hooks = Number(process.hrtime.bigint() - t) / 1e9;
  }
  const report: CostReport = { convention, method, ...(source ? { source: path.resolve(source) } : {}), rows, seconds };
  if (stored) {
    const equal = (a?: { flops: number; params: number }, b?: { flops: number; params: number }) => !!a && !!b && a.flops === b.flops && a.params === b.params;
    report.matches = { records: rows.length };
    if (method !== 'hooks') report.matches.closed = rows.filter((r) => equal(r.closed, r.stored)).length;
    if (method !== 'closed') report.matches.hooks = rows.filter((r) => equal(r.hooks, r.stored)).length;
  }
  return report;
}
