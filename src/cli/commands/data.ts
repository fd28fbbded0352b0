import { TorchnasError } from '../../core/errors';
import { fetchTable, FetchTableResult } from '../../benchmarks/fetch-table';
import { listTables, TableListing, verifyTables } from '../../benchmarks/table-store';
import { BUNDLED_DATA_DIR, resolveTablePath, torchnasHome } from '../../benchmarks/table-names';
import { defineCommand, defineGroup, printJson, runMethod } from '../command';

const json = { type: 'boolean', help: 'print JSON' } as const;

const NAMES_NOTE = [
  'A table is named by its catalog name or alias (nb201, nas-bench-mr/seg or seg, seg-4x, search-list, …) wherever',
  'a flag or config field takes one (--benchmark, --data, --file, data.table, benchmark); a path works too.',
  'Names resolve to $TORCHNAS_HOME (default ~/.cache/torchnas) first, then the package\'s bundled data/.',
  '$TORCHNAS_CATALOG names an extra catalog JSON ({"tables":[{name, kind, file, bytes, sha256, base, path}]}).',
];

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(2)} MB`;
}

/** Table rows with aligned columns. */
function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

function where(t: TableListing): string {
  if (t.state === 'fetchable') return `torchnas data fetch ${t.name}${t.partial ? ` (resumes: ${t.partial.bytes} bytes done)` : ''}`;
  if (t.state === 'absent') return `place it at ${t.homeFile}`;
  return t.file ?? '';
}

const listCommand = (group: string) =>
  defineCommand(
    {
      name: 'list',
      summary: 'every known table: bundled, cached in $TORCHNAS_HOME, fetchable; size and sha256',
      usage: '[--json]',
      flags: { json },
      notes: NAMES_NOTE,
      async run(flags) {
        const tables = await listTables();
        if (flags.json) {
          printJson({ home: torchnasHome(), bundled: BUNDLED_DATA_DIR, tables });
          return 0;
        }
        const rows = [['NAME', 'ALIASES', 'STATE', 'SIZE', 'SHA256', 'FILE / HOW TO GET IT']];
        for (const t of tables) rows.push([t.name, t.aliases.join(',') || '-', t.state, megabytes(t.bytes), t.sha256 ?? '-', where(t)]);
        process.stdout.write(
          [...columns(rows), '', `$TORCHNAS_HOME: ${torchnasHome()}`, `bundled:       ${BUNDLED_DATA_DIR} (sources and licenses in its NOTICE)`].join('\n') + '\n',
        );
        return 0;
      },
    },
    `${group} list`,
  );

const pathCommand = (group: string) =>
  defineCommand(
    {
      name: 'path',
      summary: 'print the file a table name (or path) resolves to',
      usage: 'NAME',
      flags: {},
      positionals: { min: 1, max: 1 },
      notes: NAMES_NOTE,
      async run(_, [name]) {
        process.stdout.write(resolveTablePath(name) + '\n');
        return 0;
      },
    },
    `${group} path`,
  );

function describeFetch(r: FetchTableResult): string {
  if (r.status === 'bundled') return `${r.name}: bundled with the package (${r.file}); nothing to download`;
  if (r.status === 'present') return `${r.name}: already in ${r.file} (sha256 ${r.sha256} verified)`;
  const resumed = r.resumedFrom > 0 ? `, resumed at byte ${r.resumedFrom}` : '';
  return `${r.name}: downloaded ${r.bytes} bytes from ${r.url}${resumed}; sha256 ${r.sha256} verified\n  -> ${r.file}`;
}

const fetchCommand = (group: string) =>
  defineCommand(
    {
      name: 'fetch',
      summary: 'download tables the package does not ship into $TORCHNAS_HOME (resumable, sha256-checked)',
      usage: 'NAME… [--mirror URL] [--json]',
      flags: {
        mirror: { type: 'string', value: 'URL', help: 'base URL replacing the table\'s own: <URL>/<task>/trainval.pkl (default $TORCHNAS_MIRROR)' },
        json: { type: 'boolean', help: 'print the results as JSON (no progress bar)' },
      },
      positionals: { min: 1, max: Infinity },
      notes: [
        'An interrupted download stays in <file>.partial and the next fetch resumes it (HTTP Range). The whole file must',
        "match the catalog's pinned size and sha256 before it is renamed into place; a mismatch deletes the partial file.",
        ...NAMES_NOTE,
      ],
      async run(flags, names) {
        const results: FetchTableResult[] = [];
        for (const name of names) {
          const r = await runMethod(`fetch ${name}`, flags.json, ({ signal, onProgress }) => fetchTable(name, { mirror: flags.mirror, signal, onProgress }));
          results.push(r);
          if (!flags.json) process.stdout.write(describeFetch(r) + '\n');
        }
        if (flags.json) printJson(results);
        return 0;
      },
    },
    `${group} fetch`,
  );

const verifyCommand = (group: string) =>
  defineCommand(
    {
      name: 'verify',
      summary: "check the bundled and cached tables against the sha256 of their original bytes",
      usage: '[--json]',
      flags: { json },
      async run(flags) {
        const rows = await verifyTables();
        const bad = rows.filter((r) => r.status === 'mismatch' || r.status === 'missing');
        if (flags.json) printJson(rows);
        else {
          const table = [['NAME', 'WHERE', 'STATUS', 'SHA256', 'FILE']];
          for (const r of rows) table.push([r.name, r.where, r.status, r.actual?.sha256 ?? r.error ?? '-', r.file]);
          process.stdout.write(columns(table).join('\n') + '\n');
          for (const r of bad) {
            if (r.status === 'missing') process.stdout.write(`  ${r.name}: the bundled file ${r.file} is missing; reinstall the package\n`);
            else process.stdout.write(`  ${r.name}: ${r.file} ${r.error ?? `has sha256 ${r.actual?.sha256}`}, expected ${r.expected}\n`);
          }
        }
        if (bad.length > 0) {
          throw new TorchnasError(`${bad.length} table file(s) failed verification: ${bad.map((r) => r.file).join(', ')}`, 'FILE_CORRUPT');
        }
        return 0;
      },
    },
    `${group} verify`,
  );

export const dataCommand = defineGroup({
  name: 'data',
  summary: 'benchmark tables: list, resolve a name, fetch, verify',
  subcommands: [listCommand, pathCommand, fetchCommand, verifyCommand],
});
