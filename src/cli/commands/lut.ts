import * as fs from 'node:fs';
import * as path from 'node:path';
import { LutFingerprint, readLutOrLatListFile } from '../../benchmarks/densenas-lut';
import { resolveTablePath } from '../../benchmarks/table-names';
import { resolveDevice } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { BuildLutResult, CheckLutResult, DEFAULT_LUT_BATCH, LutSummary, buildLut, checkLut, showLut } from '../../methods/densenas/lut';
import { PACKAGE_ROOT } from '../../native';
import { DenseNasConfig, buildDenseSpace, loadDenseNasConfig } from '../../spaces/densenas';
import { defineCommand, defineGroup, intFlag, numberFlag, printJson, runMethod } from '../command';

/** The DenseNAS configs the package ships (configs/densenas/<name>.yaml), accepted by name. */
const BUNDLED_CONFIGS = path.join(PACKAGE_ROOT, 'configs', 'densenas');

/** A config given as a path, or by the name of a bundled one (mbv2-small32, …). */
function loadConfig(spec: string | undefined): { config: DenseNasConfig; file: string } {
  if (spec === undefined) throw new TorchnasError('--config is required (a DenseNAS YAML, e.g. configs/densenas/mbv2-small32.yaml, or a bundled name: mbv2-small32)', 'INVALID_ARGUMENT');
  let file = path.resolve(spec);
  if (!fs.existsSync(file) && /^[A-Za-z0-9._-]+$/.test(spec)) {
    const bundled = path.join(BUNDLED_CONFIGS, spec.endsWith('.yaml') ? spec : `${spec}.yaml`);
    if (fs.existsSync(bundled)) file = bundled;
    else {
      const known = fs.existsSync(BUNDLED_CONFIGS) ? fs.readdirSync(BUNDLED_CONFIGS).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)) : [];
      throw new TorchnasError(`DenseNAS config '${spec}' is neither a file nor a bundled config (${known.join(', ')})`, 'FILE_NOT_FOUND');
    }
  }
  return { config: loadDenseNasConfig(file), file };
}

const flags = {
  config: { type: 'string', value: 'F', help: 'DenseNAS config: a YAML path or a bundled name (mbv2-small32, mbv2-fmnist28, mbv2-imagenet, res-imagenet)' },
  device: { type: 'string', value: 'D', help: 'cpu, cuda or cuda:N (default cpu)' },
  threads: { type: 'string', value: 'N', help: 'LibTorch intra-op threads for the timing (recorded in the fingerprint)' },
  warmup: { type: 'string', value: 'N', help: 'untimed runs before each entry (default 2)' },
  'min-runs': { type: 'string', value: 'N', help: 'timed runs per entry, at least (default 10)' },
  'max-runs': { type: 'string', value: 'N', help: 'timed runs per entry, at most (default 200)' },
  'rel-se': { type: 'string', value: 'X', help: 'stop once the relative standard error of the median is below X (default 0.01; 0: always --max-runs)' },
  seed: { type: 'string', value: 'N', help: 'seed of the random inputs and weights (default 0)' },
  json: { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' },
} as const;

type MeasureFlags = { device?: string; threads?: string; warmup?: string; 'min-runs'?: string; 'max-runs'?: string; 'rel-se'?: string; seed?: string };

function measureOptions(f: MeasureFlags) {
  return {
    device: f.device,
    threads: intFlag(f.threads, 'threads'),
    warmup: intFlag(f.warmup, 'warmup'),
    minRuns: intFlag(f['min-runs'], 'min-runs'),
    maxRuns: intFlag(f['max-runs'], 'max-runs'),
    relSe: numberFlag(f['rel-se'], 'rel-se'),
    seed: intFlag(f.seed, 'seed'),
  };
}

const percent = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const signedPercent = (x: number | null): string => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`);
const ms = (x: number): string => (x >= 100 ? x.toFixed(1) : String(Number(x.toPrecision(4))));
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? 'y' : 'ies'}`;
const describeFingerprint = (f: LutFingerprint | null): string =>
  f === null ? 'none recorded (positional lat_list)' : `${f.device}, ${f.threads} thread(s), LibTorch ${f.torch}, ${f.dtype}, batch ${f.batch}`;

function describeBuild(r: BuildLutResult, configFile: string): string {
  const lines = [
    `DenseNAS LUT of ${configFile}: ${r.entries} entries for ${r.positions} positions; ${r.measured} measured, ${r.resumed} resumed${r.kept > 0 ? `, ${r.kept} other entries kept` : ''} (${r.seconds.toFixed(1)} s)`,
    `  fingerprint: ${describeFingerprint(r.fingerprint)}`,
    `  total over all positions ${ms(r.total)} ms per batch (${r.statistic}s); spread ${percent(r.spread)} (median relative std of the runs)`,
  ];
  if (r.file) lines.push(`  wrote ${r.file}${r.latList ? ` and the positional lat_list ${r.latList}` : ''}`);
  return lines.join('\n') + '\n';
}

/** The default run-record folder of a LUT build: `x.lut.json` → `x.lut.run/`. */
export function lutRecordFolder(out: string): string {
  return out.replace(/\.json$/i, '') + '.run';
}

const buildCommand = (group: string) =>
  defineCommand(
    {
      name: 'build',
      summary: "measure a config's latency LUT on this device (resumable)",
      usage: '--config F [--device D] [--batch N] [--out F] [--lat-list F] [--warmup N] [--min-runs N] [--max-runs N] [--rel-se X] [--threads N] [--seed N] [--fresh] [--json]',
      flags: {
        ...flags,
        batch: { type: 'string', value: 'N', help: `batch of the timed inputs (default ${DEFAULT_LUT_BATCH}, the shipped LUTs')` },
        out: { type: 'string', value: 'F', help: 'keyed LUT file (JSON), written as the build goes (default <config>-<device>-b<batch>.lut.json here)' },
        'lat-list': { type: 'string', value: 'F', help: "also write the original positional lat_list (medians) for this config" },
        fresh: { type: 'boolean', help: 'overwrite an existing --out file instead of resuming from it' },
        record: { type: 'string', value: 'DIR', help: "folder for the run's events.jsonl and result.json (default <out without .json>.run beside the LUT)" },
      },
      notes: [
        'Every distinct key (op, C_in, C_out, stride, H, W, batch) the space needs is timed once at its real input size',
        '(eval mode, no grad); positions sharing a key reuse it. The table is written atomically every few seconds and on',
        'Ctrl-C; the same command resumes it, timing only what it lacks (same fingerprint: device, threads, LibTorch, batch).',
      ],
      async run(f) {
        const { config, file } = loadConfig(f.config);
        const batch = intFlag(f.batch, 'batch') ?? DEFAULT_LUT_BATCH;
        const device = resolveDevice(f.device ?? 'cpu');
        const out = f.out ?? `${path.basename(file).replace(/\.ya?ml$/i, '')}-${device.replace(':', '')}-b${batch}.lut.json`;
        // the LUT is a file, so the run's record (events.jsonl and result.json) gets a folder of its own beside it
        const record = f.record ?? lutRecordFolder(out);
        const r = await runMethod(
          'lut build',
          f.json,
          (context) => buildLut(config, { ...measureOptions(f), device, batch, out, latList: f['lat-list'], fresh: f.fresh, ...context }),
          { record, writeResult: true },
        );
        if (!f.json) process.stdout.write(describeBuild(r, file));
        return 0;
      },
    },
    `${group} build`,
  );

function describeCheck(r: CheckLutResult): string {
  const lines = [
    `${r.file ?? 'LUT'} (${r.format}) on ${describeFingerprint(r.fingerprint.here)}: ${r.sampled} of ${r.entries} entries re-timed (seed ${r.seed}, ${r.passes} pass${r.passes === 1 ? '' : 'es'}), ${r.seconds.toFixed(1)} s`,
    `  median |drift| ${percent(r.medianAbsDrift)}, mean drift ${signedPercent(r.meanDrift)}, max |drift| ${percent(r.maxAbsDrift)}` +
      (r.beyondNoise ? `; ${r.beyondNoise.rows} of ${r.beyondNoise.of} entries drifted beyond their noise (95 %)` : ''),
    ...(r.repeatability === null ? [] : [`  this machine repeats an entry's median to ±${percent(r.repeatability)} from one pass to the next (run-to-run; part of each row's noise)`]),
    `  fingerprint: ${r.fingerprint.differences.length === 0 ? 'same as this device' : r.fingerprint.differences.join('; ')}`,
  ];
  const width = Math.max(5, ...r.rows.map((row) => row.entry.length));
  lines.push(`  ${'entry'.padEnd(width)}  ${'stored ms'.padStart(10)}  ${'measured ms'.padStart(11)}  drift  (± noise)`);
  for (const row of r.rows) {
    const noise = row.noise === null ? '' : `  (± ${percent(1.96 * row.noise)}${row.beyondNoise ? ', beyond' : ''})`;
    lines.push(`  ${row.entry.padEnd(width)}  ${ms(row.stored).padStart(10)}  ${ms(row.measured).padStart(11)}  ${signedPercent(row.drift)}${noise}`);
  }
  return lines.join('\n') + '\n';
}

const lutFlag = { type: 'string', value: 'F', help: 'the LUT: a keyed LUT (JSON) or a positional lat_list (needs --config), a path or a name (densenas/lat-small32-cpu)' } as const;
const lutBatchFlag = { type: 'string', value: 'N', help: `batch a positional lat_list was measured at (default ${DEFAULT_LUT_BATCH}; keyed LUTs record theirs)` } as const;

async function readLut(spec: string | undefined, config: DenseNasConfig | undefined, batch: string | undefined) {
  if (spec === undefined) throw new TorchnasError('--lut is required (a keyed LUT or a lat_list: a path or a name such as densenas/lat-small32-cpu)', 'INVALID_ARGUMENT');
  const file = resolveTablePath(spec, { kind: 'densenas-lut' });
  return readLutOrLatListFile(file, { space: config ? buildDenseSpace(config) : undefined, batch: intFlag(batch, 'batch') });
}

const checkCommand = (group: string) =>
  defineCommand(
    {
      name: 'check',
      summary: "re-time a seeded sample of a LUT's entries here and report the drift",
      usage: '--config F --lut F [--sample N] [--passes N] [--seed N] [--device D] [--threads N] [--batch N] [--warmup N] [--min-runs N] [--max-runs N] [--rel-se X] [--json]',
      flags: {
        ...flags,
        lut: lutFlag,
        sample: { type: 'string', value: 'N', help: 'entries to re-time (default 20)' },
        passes: { type: 'string', value: 'N', help: "times over the sample, alternating order (default 2): the spread between passes is the machine's run-to-run repeatability, part of each drift's noise" },
        batch: lutBatchFlag,
      },
      notes: ['drift = measured median / stored median − 1, at the LUT\'s batch; the LUT must hold every entry the config\'s space needs.'],
      async run(f) {
        const { config, file } = loadConfig(f.config);
        const lut = await readLut(f.lut, config, f.batch);
        const r = await runMethod('lut check', f.json, (context) =>
          checkLut(config, lut, { ...measureOptions(f), sample: intFlag(f.sample, 'sample'), passes: intFlag(f.passes, 'passes'), configName: file, ...context }),
        );
        if (!f.json) process.stdout.write(describeCheck(r));
        return 0;
      },
    },
    `${group} check`,
  );

function describeShow(s: LutSummary, configFile: string | undefined): string {
  const lines = [
    `${s.file} (${s.format === 'keyed' ? 'keyed LUT' : 'positional lat_list'}): ${s.entries} entries${s.runs === null ? '' : `, ${s.runs} timed runs`}`,
    `  fingerprint: ${describeFingerprint(s.fingerprint)}`,
    `  total ${ms(s.total)} ms per batch (each entry once, medians); spread ${percent(s.spread)} (median relative std of the runs)`,
  ];
  if (s.space) {
    const fit = s.space.missing === 0 ? 'all present' : `${s.space.missing} missing, first ${s.space.firstMissing}`;
    lines.push(`  space of ${configFile}: ${s.space.positions} positions, ${s.space.entries} entries, ${fit}${s.space.total === null ? '' : `; total over all positions ${ms(s.space.total)} ms`}`);
  }
  lines.push('  slowest entries:');
  const width = Math.max(...s.slowest.map((e) => e.entry.length));
  for (const e of s.slowest) lines.push(`    ${e.entry.padEnd(width)}  ${ms(e.median).padStart(8)} ms  ${percent(e.share)}`);
  lines.push('  per op:');
  const opWidth = Math.max(...s.ops.map((o) => o.op.length));
  for (const o of s.ops) lines.push(`    ${o.op.padEnd(opWidth)}  ${plural(o.entries, 'entr').padStart(12)}  ${ms(o.total).padStart(8)} ms`);
  return lines.join('\n') + '\n';
}

const showCommand = (group: string) =>
  defineCommand(
    {
      name: 'show',
      summary: 'summarise a LUT: entries, total, spread, slowest ops; with --config, whether it fits that space',
      usage: '--lut F [--config F] [--batch N] [--json]',
      flags: {
        lut: lutFlag,
        config: { type: 'string', value: 'F', help: 'DenseNAS config (path or bundled name): needed for a lat_list; for a keyed LUT, checks it covers the space' },
        batch: lutBatchFlag,
        json: { type: 'boolean', help: 'print the summary as JSON' },
      },
      async run(f) {
        const loaded = f.config === undefined ? undefined : loadConfig(f.config);
        const lut = await readLut(f.lut, loaded?.config, f.batch);
        const summary = showLut(lut, { space: loaded ? buildDenseSpace(loaded.config) : undefined });
        if (f.json) printJson(summary);
        else process.stdout.write(describeShow(summary, loaded?.file));
        return 0;
      },
    },
    `${group} show`,
  );

export const lutCommand = defineGroup({
  name: 'lut',
  summary: 'DenseNAS latency LUTs: build on this device (resumable), check drift, show',
  subcommands: [buildCommand, checkCommand, showCommand],
});
