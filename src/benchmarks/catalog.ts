/**
 * The catalog of benchmark tables torchnas knows by name (docs/architecture.md, "one way to name a table"): what each
 * table is, where it lives under `$TORCHNAS_HOME` and the bundled `data/`, the sha256 of its original
 * bytes, and, for tables the package does not ship, the public URL `torchnas data fetch` downloads.
 * An extra catalog (a JSON file named by `$TORCHNAS_CATALOG` or passed as an option) adds tables or
 * replaces entries by name: a private mirror of other tables, or the synthetic tables of the tests.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../config/load';
import { TorchnasError } from '../core/errors';

/** What a table holds, i.e. which reader takes it. */
export type TableKind = 'nb201' | 'nas-bench-mr' | 'search-list' | 'densenas-lut';

export interface TableEntry {
  /** Canonical name, `<group>/<table>` or a single word (`nb201`). */
  name: string;
  /** Other names accepted for it (the NAS-Bench-MR task alone, e.g. `seg-4x`). */
  aliases: string[];
  kind: TableKind;
  description: string;
  /** Path of the original file relative to `$TORCHNAS_HOME` (and, gzipped, to `data/`), e.g. `nas-bench-mr/seg.pkl`. */
  file: string;
  /** The package ships it as `data/<file>.gz`. */
  bundled: boolean;
  /** Size in bytes and sha256 of the original (uncompressed) file; absent for a table known by name only. */
  bytes?: number;
  sha256?: string;
  /** Where `data fetch` downloads it: `<base>/<path>`; a mirror replaces `base`. */
  remote?: { base: string; path: string };
  /** Where it comes from and under which license. */
  source: string;
  license: string;
}

/** NCP's repository (github.com/dingmyu/NCP) at commit 5259acd, the source of the NAS-Bench-MR and NB201 tables. */
export const NCP_DATA_BASE = 'https://raw.githubusercontent.com/dingmyu/NCP/main/data';
const NCP_SOURCE = 'NCP repository, github.com/dingmyu/NCP (commit 5259acd)';
const NCP_LICENSE = 'BSD-2-Clause (NCP)';

/** One NAS-Bench-MR task table of NCP's repository (`data/<task>/trainval.pkl`). */
function nasBenchMr(task: string, description: string, bytes: number, sha256: string, bundled: boolean): TableEntry {
  return {
    name: `nas-bench-mr/${task}`,
    aliases: [task],
    kind: 'nas-bench-mr',
    description: `NAS-Bench-MR ${description}, 2507 architectures`,
    file: `nas-bench-mr/${task}.pkl`,
    bundled,
    bytes,
    sha256,
    remote: { base: NCP_DATA_BASE, path: `${task}/trainval.pkl` },
    source: `${NCP_SOURCE}, data/${task}/trainval.pkl`,
    license: NCP_LICENSE,
  };
}

/** The shipped catalog; the pins were checked against the files of NCP's repository. */
export const BUILTIN_TABLES: readonly TableEntry[] = Object.freeze([
  {
    name: 'nb201',
    aliases: ['nas-bench-201'],
    kind: 'nb201',
    description: "NCP's NAS-Bench-201 table: 15625 cells, ImageNet16-120 accuracy, CIFAR-100 FLOPs/params",
    file: 'nas-bench-201/ncp-trainval.pkl',
    bundled: true,
    bytes: 2953708,
    sha256: '6048b2ce2ae8f466c9c2fafd0cb9065edbe94db36f7804790beab0e845fa40d0',
    remote: { base: NCP_DATA_BASE, path: 'nas-bench-201/trainval.pkl' },
    source: `${NCP_SOURCE}, data/nas-bench-201/trainval.pkl; derived from NAS-Bench-201 (github.com/D-X-Y/NAS-Bench-201)`,
    license: `${NCP_LICENSE}; NAS-Bench-201 data: MIT`,
  },
  nasBenchMr('seg', 'segmentation task seg (mIoU, mAcc, aAcc)', 1145600, '1854e1ec044c8416cc53d4068cdef4d019a24bcd1e72d07020255550f56ea729', true),
  nasBenchMr('cls-10-1000', 'classification task cls-10-1000 (top1, top5)', 1118011, '423e0a511b72b47587fb418f91122b8a7b0e6ea6d89e029a2703374916fca4ca', true),
  nasBenchMr('cls-10c', 'classification task cls-10c (top1, top5)', 1118011, '99d8e31680794790ef6e01dc65d7ba714786b3c15cbf97ee25cf61ea2bef34d6', true),
  nasBenchMr('cls-50-100', 'classification task cls-50-100 (top1, top5)', 1118011, 'f6c7f8d67c84abc3aa226f5c5115c6c35adf576f41dd4d157b683148486f559b', true),
  nasBenchMr('video', 'video task video (top1, top5)', 1118011, 'ec40f09230374c5cb80fa689b16e8c0767060dac7312fb3a6c48610972df2e4d', true),
  nasBenchMr('seg-4x', 'segmentation task seg-4x (mIoU, mAcc, aAcc)', 1145600, 'c111b4ad884e63fd16a1fd2d91fe5eb25ef39a9f3c8b5534a34b025aed06d434', false),
  nasBenchMr('video-p', 'video task video-p (top1, top5)', 1118011, 'f004d8a270712858ea166a609f619e577287c5fabe8f46979364565bdddbb1b0', false),
  nasBenchMr('cls-50-1000', 'classification task cls-50-1000 (top1, top5)', 1118011, 'ce6588f4ee339b49b2fa2acf2ca55fa92a75bd813b5590796f5a5fc7cc280a6c', false),
  {
    name: 'nas-bench-mr/3ddet',
    aliases: ['3ddet'],
    kind: 'nas-bench-mr',
    description: 'NAS-Bench-MR 3D-detection task 3ddet (moderate); not in the original release, so no download: place your copy in $TORCHNAS_HOME',
    file: 'nas-bench-mr/3ddet.pkl',
    bundled: false,
    source: 'NAS-Bench-MR (user-provided copy)',
    license: NCP_LICENSE,
  },
  {
    name: 'nas-bench-mr/search-list',
    aliases: ['search-list'],
    kind: 'search-list',
    description: 'NAS-Bench-MR search_list.txt: the 2511 network codes of the benchmark',
    file: 'nas-bench-mr/search_list.txt',
    bundled: true,
    bytes: 192894,
    sha256: '9dd9201f9d223a17e17db7adc2af5220dcbcca7e11af1f0d1bd2a18b5fa9a957',
    remote: { base: NCP_DATA_BASE, path: 'search_list.txt' },
    source: `${NCP_SOURCE}, data/search_list.txt`,
    license: NCP_LICENSE,
  },
  {
    name: 'densenas/lat-small32-cpu',
    aliases: [],
    kind: 'densenas-lut',
    description: "example DenseNAS latency LUT (original positional lat_list format), 32×32 inputs, batch 32, 2-core CPU",
    file: 'densenas/lat_list_small32_cpu',
    bundled: true,
    bytes: 11940,
    sha256: 'eb4c230bd5fa2848108812ed3cb025a2b844d7cabeb2a66761b3e70c0758b5b2',
    source: "measured for torchnas with DenseNAS's original latency procedure",
    license: 'MIT (torchnas)',
  },
]);

const sha256Text = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const safeRelative = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'expected a relative path without ..');

/** An entry of an extra catalog file; a table there must be fetchable or placed by hand, never bundled. */
const extraEntrySchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?$/, 'expected lowercase letters, digits, . _ - and at most one /'),
    aliases: z.array(z.string().min(1)).default([]),
    kind: z.enum(['nb201', 'nas-bench-mr', 'search-list', 'densenas-lut']),
    description: z.string().default(''),
    file: safeRelative,
    bytes: z.number().int().min(0).optional(),
    sha256: sha256Text.optional(),
    /** Download URL = `<base>/<path>`; a mirror replaces `base`. */
    base: z.string().url().optional(),
    path: safeRelative.optional(),
    source: z.string().default('extra catalog'),
    license: z.string().default('unknown'),
  })
  .strict()
  .refine((e) => (e.base === undefined) === (e.path === undefined), { message: 'base and path come together (the URL is <base>/<path>)' })
  .refine((e) => e.base === undefined || (e.sha256 !== undefined && e.bytes !== undefined), { message: 'a table with a download URL needs its bytes and sha256' });

const extraCatalogSchema = z.object({ tables: z.array(extraEntrySchema) }).strict();

/**
 * Reads an extra catalog file: `{ "tables": [{ name, aliases?, kind, file, bytes?, sha256?, base?, path?,
 * description?, source?, license? }] }` (file: where the table goes under $TORCHNAS_HOME; the download URL is
 * `<base>/<path>`).
 */
export function readExtraCatalog(file: string): TableEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'CONFIG_INVALID';
    throw new TorchnasError(`table catalog ${file}: ${(e as Error).message}`, code, { cause: e });
  }
  const parsed = extraCatalogSchema.safeParse(raw);
  if (!parsed.success) throw new TorchnasError(`table catalog ${file}: ${describeIssues(parsed.error.issues)}`, 'CONFIG_INVALID');
  return parsed.data.tables.map((e) => ({
    name: e.name,
    aliases: e.aliases,
    kind: e.kind,
    description: e.description,
    file: e.file,
    bundled: false,
    bytes: e.bytes,
    sha256: e.sha256,
    remote: e.base === undefined || e.path === undefined ? undefined : { base: e.base.replace(/\/+$/, ''), path: e.path },
    source: e.source,
    license: e.license,
  }));
}

/** Where the catalog comes from: the shipped one plus an extra file (option, else `$TORCHNAS_CATALOG`). */
export interface CatalogOptions {
  /** An extra catalog JSON file; default `$TORCHNAS_CATALOG`. */
  catalog?: string;
}

/** The tables known by name: the shipped catalog, with an extra catalog's entries added or replacing by name. */
export function tableCatalog(options: CatalogOptions = {}): TableEntry[] {
  const extraFile = options.catalog ?? process.env.TORCHNAS_CATALOG;
  const tables = BUILTIN_TABLES.map((t) => ({ ...t, aliases: [...t.aliases] }));
  if (!extraFile) return tables;
  for (const extra of readExtraCatalog(extraFile)) {
    const at = tables.findIndex((t) => t.name === extra.name);
    if (at >= 0) tables[at] = { ...extra, aliases: [...new Set([...tables[at].aliases, ...extra.aliases])] };
    else tables.push(extra);
  }
  return tables;
}

/** The entry called `name` (canonical or alias), or undefined. */
export function findTable(name: string, tables: readonly TableEntry[]): TableEntry | undefined {
  return tables.find((t) => t.name === name) ?? tables.find((t) => t.aliases.includes(name));
}

/** What a table kind is called in messages (see {@link kindWithArticle}). */
export const KIND_NAMES: Readonly<Record<TableKind, string>> = Object.freeze({
  nb201: 'NB201 table',
  'nas-bench-mr': 'NAS-Bench-MR table',
  'search-list': 'NAS-Bench-MR search list',
  'densenas-lut': 'DenseNAS latency LUT',
});

/** `an NB201 table`, `a NAS-Bench-MR table`, … */
export function kindWithArticle(kind: TableKind): string {
  return `${kind === 'nb201' ? 'an' : 'a'} ${KIND_NAMES[kind]}`;
}
