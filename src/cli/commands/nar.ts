/**
 * `torchnas nar …`: NAR (Neural Architecture Ranker, nar.md). One subcommand per job; `dataset` regenerates the
 * NB201 cell-information file. Further subcommands (train, evaluate, search) join the list in {@link narCommand}.
 */
import * as path from 'node:path';
import { regenerateNb201CellDataset, RegeneratedNb201CellDataset } from '../../benchmarks/nar-nb201-dataset';
import { setThreads } from '../../core/device';
import { restartResumeDir } from '../../distributed/launch';
import { NAR_CHECKPOINT_FILES } from '../../methods/nar/ranker';
import { TorchnasError } from '../../core/errors';
import { loadNarConfig } from '../../methods/nar/config';
import { evaluateNarRanker, EvaluateNarResult, NarEvaluation, trainNarRanker, TrainNarResult } from '../../methods/nar/train';
import { choiceFlag, Command, defineCommand, defineGroup, intFlag, numberFlag, printJson, runMethod } from '../command';
import { searchNarCheckpoint } from '../../methods/nar/run-search';
import { NarSearchResult, NarSearchSummary } from '../../methods/nar/search';

const SPACES = ['nb201', 'nb101'] as const;
const FLOAT_STYLES = ['js', 'python'] as const;

function describeDataset(r: RegeneratedNb201CellDataset): string {
  return [
    `NB201 cell information: ${r.records.toLocaleString('en-US')} architectures from ${r.table}`,
    `  wrote ${r.file} (${r.bytes.toLocaleString('en-US')} bytes, ${r.seconds.toFixed(1)} s)`,
    `  sha256 ${r.sha256}`,
  ].join('\n') + '\n';
}

const datasetCommand = (group: string): Command =>
  defineCommand(
    {
      name: 'dataset',
      summary: 'regenerate the NB201 cell-information file (per-edge FLOPs/params of three networks, accuracies) from NCP\'s NB201 table',
      usage: '--space nb201 --out FILE [--table TABLE] [--float-style js|python] [--json]',
      flags: {
        space: { type: 'string', value: 'S', help: 'search space: nb201 (NB101 cell information is a user download, not regenerated)' },
        table: { type: 'string', value: 'TABLE', help: "NCP's NB201 table: the name nb201 (default, the bundled copy) or a path to ncp-trainval.pkl|json" },
        out: { type: 'string', value: 'FILE', help: 'the JSON file to write (atomically)' },
        'float-style': { type: 'string', value: 'S', help: "js (default: accuracies as JSON.stringify writes them, 43) or python (as Python's json writes them, 43.0)" },
        json: { type: 'boolean', help: 'print what was written as JSON' },
      },
      notes: [
        'The file is NAR\'s NB201 format (nar.md §1.2): one compact JSON object keyed "0".."15624" in NB201 index order.',
        'Costs come from our fvcore-convention counter (§3) for cifar10-valid, cifar100 and ImageNet16-120; the table\'s',
        'ImageNet16-120 accuracy fills imagenet16_val_acc and imagenet16_test_acc; CIFAR accuracies and latencies are null.',
        'sha256 of the default (js) form: d9c2a8ed8696cc87f9b182a351c4e32941c09b401942b0eb5ad73eef1e6984bf (§7.1); python form: 61cc554d…9586.',
      ],
      async run(f) {
        const space = choiceFlag(f.space, 'space', SPACES);
        if (space === undefined) throw new TorchnasError('--space is required (nb201)', 'INVALID_ARGUMENT');
        if (space === 'nb101') {
          throw new TorchnasError(
            'NB101 cell information cannot be regenerated here (it needs the NB101 TFRecord); download the 717 MB nasbench101 JSON of the NAR repository and read it with readNb101CellInfo',
            'INVALID_ARGUMENT',
          );
        }
        if (f.out === undefined) throw new TorchnasError('--out FILE is required', 'INVALID_ARGUMENT');
        const floatStyle = choiceFlag(f['float-style'], 'float-style', FLOAT_STYLES);
        const r = await regenerateNb201CellDataset({ table: f.table, out: path.resolve(f.out), floatStyle });
        if (f.json) printJson({ space, ...r });
        else process.stdout.write(describeDataset(r));
        return 0;
      },
    },
    `${group} dataset`,
  );

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

function describeEvaluation(e: NarEvaluation): string {
  const top = e.rest.topK.map((t) => `top-${t.k} hit ${fmt(t.hitRate, 2)} (best ${fmt(t.bestAccuracy, 2)}, rank ${t.bestRank})`).join('; ');
  const lines = [
    `  ${e.checkpoint} (epoch ${e.epoch}): Kendall τ-b val ${fmt(e.val.kendallTau)} · train ${fmt(e.train.kendallTau)} · rest ${fmt(e.rest.kendallTau)} (${e.rest.count} archs; params alone ${fmt(e.paramsBaselineKendallTau)}); Spearman rest ${fmt(e.rest.spearman)}`,
    `    tier accuracy val ${fmt(e.valTiers.accuracy)}; rest subset (${e.restTiers.count}) ${fmt(e.restTiers.accuracy)}, within one tier ${fmt(e.restTiers.withinOne)}`,
    `    rest ${top}`,
    `    rest tier confusion (rows true tier 1..${e.restTiers.confusion.length}, columns predicted): ${e.restTiers.confusion.map((r) => `[${r.join(' ')}]`).join(' ')}`,
  ];
  return lines.join('\n');
}

function describeTrain(r: TrainNarResult): string {
  const lines = [
    `NAR ranker (${r.space}, ${r.parameters.toLocaleString('en-US')} parameters) on ${r.dataset.source}: ${r.split.train} train / ${r.split.val} val / ${r.split.rest} rest, seed ${r.seed}`,
    `  ${r.epochs} epochs${r.resumedAtEpoch ? ` (resumed at epoch ${r.resumedAtEpoch})` : ''}: training ${fmt(r.wallSeconds.training, 1)} s, evaluation ${fmt(r.wallSeconds.evaluation, 1)} s, total ${fmt(r.wallSeconds.total, 1)} s; peak RSS ${fmt(r.peakRssMiB, 0)} MiB`,
    `  best val tier accuracy ${fmt(r.bestValTierAccuracy)} at epoch ${r.bestEpoch}; last ${fmt(r.history[r.history.length - 1]?.valTierAccuracy ?? NaN)}`,
  ];
  if (r.evaluation) lines.push(describeEvaluation(r.evaluation.best), describeEvaluation(r.evaluation.last));
  if (r.out) lines.push(`  wrote ${r.out}/{nar.json, ckp_best.pt, ckp_last.pt, result.json, learning-curves.svg, score-vs-accuracy.svg}`);
  return lines.join('\n') + '\n';
}

function describeEvaluate(r: EvaluateNarResult): string {
  return [`NAR ranker ${r.checkpoint} (${r.space}) on ${r.dataset.source}`, ...r.evaluations.map(describeEvaluation)].join('\n') + '\n';
}

const trainCommand = (group: string): Command =>
  defineCommand(
    {
      name: 'train',
      summary: 'train the NAR ranker by tiers (tier CE + rank loss, AdamW with the Noam schedule), then evaluate it',
      usage: '--config F [--data FILE] [--out DIR] [--seed N] [--epochs N] [--resume DIR] [--device D] [--threads N] [--json]',
      flags: {
        config: { type: 'string', value: 'F', help: 'NAR config (configs/nar/nb201.yaml, nb101.yaml, or the original config201.yml/config.yml), required' },
        data: { type: 'string', value: 'FILE', help: 'cell-information JSON (NB201 object or NB101 list); default the config\'s, else for NB201 the data regenerated from the bundled table' },
        out: { type: 'string', value: 'DIR', help: 'run folder: nar.json, ckp_last.pt, ckp_best.pt, result.json, SVGs' },
        seed: { type: 'string', value: 'N', help: "split, initialisation, dropout and shuffles (default the config's seed)" },
        epochs: { type: 'string', value: 'N', help: "training epochs (default the config's ranker_epochs)" },
        resume: { type: 'string', value: 'DIR', help: 'continue a run folder from its ckp_last.pt' },
        device: { type: 'string', value: 'D', help: "cpu (default), cuda or cuda:N" },
        threads: { type: 'string', value: 'N', help: 'LibTorch/OpenMP/BLAS threads (default: LibTorch\'s)' },
        json: { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' },
      },
      notes: [
        'The split is a seeded permutation of all architectures (train_size, then val_size; the rest is evaluated).',
        'Evaluation: Kendall τ-b and Spearman of the score head on val, train and the rest; tier accuracy and confusion.',
      ],
      async run(f) {
        if (f.config === undefined && f.resume === undefined) throw new TorchnasError('--config is required', 'INVALID_ARGUMENT');
        const config = f.config !== undefined ? loadNarConfig(f.config) : (undefined as never);
        // a group restarted by `torchnas launch --max-restarts` continues from --out's last checkpoint
        const resume = restartResumeDir(f.out, f.resume, NAR_CHECKPOINT_FILES.last);
        const out = f.out ?? resume;
        const r = await runMethod('nar train', Boolean(f.json), ({ signal, onProgress, onEnvelope, onStart }) =>
          trainNarRanker(config, {
            data: f.data !== undefined ? path.resolve(f.data) : undefined,
            out: f.out !== undefined ? path.resolve(f.out) : undefined,
            seed: intFlag(f.seed, 'seed'),
            epochs: intFlag(f.epochs, 'epochs'),
            resume: resume !== undefined ? path.resolve(resume) : undefined,
            device: f.device,
            threads: intFlag(f.threads, 'threads'),
            signal,
            onProgress,
            onEnvelope,
            onStart,
          }),
          { record: out !== undefined ? path.resolve(out) : undefined },
        );
        if (!f.json) process.stdout.write(describeTrain(r));
        return 0;
      },
    },
    `${group} train`,
  );

const evaluateCommand = (group: string): Command =>
  defineCommand(
    {
      name: 'evaluate',
      summary: "evaluate a trained ranker: Kendall τ on the rest, tier accuracy and confusion matrix",
      usage: '--checkpoint DIR [--which best|last|both] [--data FILE] [--json]',
      flags: {
        checkpoint: { type: 'string', value: 'DIR', help: "run folder written by 'nar train --out DIR', required" },
        which: { type: 'string', value: 'S', help: 'best (default), last or both' },
        data: { type: 'string', value: 'FILE', help: 'the cell-information file the run was trained on, if not the recorded one' },
        device: { type: 'string', value: 'D', help: 'cpu (default), cuda or cuda:N' },
        json: { type: 'boolean', help: 'print the result as JSON' },
      },
      async run(f) {
        if (f.checkpoint === undefined) throw new TorchnasError('--checkpoint DIR is required', 'INVALID_ARGUMENT');
        const which = choiceFlag(f.which, 'which', ['best', 'last', 'both'] as const);
        const r = await evaluateNarRanker(path.resolve(f.checkpoint), { which, data: f.data !== undefined ? path.resolve(f.data) : undefined, device: f.device });
        if (f.json) printJson(r);
        else process.stdout.write(describeEvaluate(r));
        return 0;
      },
    },
    `${group} evaluate`,
  );

function describeSearch(r: NarSearchResult, out: string): string {
  const pick = (p: NarSearchSummary['best']) => (p ? `${p.arch}  test ${p.testAcc.toFixed(2)}  val ${p.valAcc.toFixed(2)}  rank ${p.rank} (top ${((100 * p.rank) / r.benchmarkSize).toFixed(3)} %)` : 'none');
  const lines = [
    `NAR search: ${r.iterations} iterations, seed ${r.seed}, ${r.benchmarkSize.toLocaleString('en-US')} architectures` +
      (r.budget.maxFlops !== null || r.budget.maxParams !== null ? `, budget FLOPs ≤ ${r.budget.maxFlops ?? '∞'}, params ≤ ${r.budget.maxParams ?? '∞'}` : ''),
    `  best top-1: ${pick(r.top1.best)}`,
    `  mean top-1 test accuracy over iterations: ${r.top1.meanTestAcc === null ? 'n/a' : r.top1.meanTestAcc.toFixed(3)}`,
    ...r.topK.map((k) => `  best of top-${k.k}: ${pick(k.best)}; mean best-of-${k.k} test accuracy ${k.meanTestAcc === null ? 'n/a' : k.meanTestAcc.toFixed(3)}`),
    ...r.notes.map((n) => `  note: ${n}`),
    `  wrote ${path.join(out, 'search.json')}, search-picks.svg and result.json (${r.seconds.toFixed(1)} s, ranking ${r.rankSeconds.toFixed(1)} s)`,
  ];
  return lines.join('\n') + '\n';
}

const searchCommand = (group: string): Command =>
  defineCommand(
    {
      name: 'search',
      summary: "NAR's tier-guided search with a trained ranker (nar.md §5), optionally within a FLOPs/params budget",
      usage: '--checkpoint DIR [--iterations N] [--max-flops X] [--max-params Y] [--seed N] [--which best|last] [--data FILE] [--out DIR] [--json]',
      flags: {
        checkpoint: { type: 'string', value: 'DIR', help: "run folder written by 'nar train --out DIR', required" },
        iterations: { type: 'string', value: 'N', help: "search iterations (default the config's sampler_epochs − ranker_epochs, 50)" },
        'max-flops': { type: 'string', value: 'X', help: 'budget: every reported pick has at most X FLOPs (total, of the benchmark network)' },
        'max-params': { type: 'string', value: 'Y', help: 'budget: every reported pick has at most Y parameters' },
        seed: { type: 'string', value: 'N', help: "the search's sampling seed (default the run's seed)" },
        which: { type: 'string', value: 'S', help: 'checkpoint: best (default) or last' },
        data: { type: 'string', value: 'FILE', help: 'the cell-information file the run was trained on, if not the recorded one' },
        out: { type: 'string', value: 'DIR', help: 'output folder (default DIR/search): result.json, search.json, search-picks.svg' },
        device: { type: 'string', value: 'D', help: 'cpu (default), cuda or cuda:N' },
        threads: { type: 'string', value: 'N', help: "LibTorch/OpenMP/BLAS threads (default: LibTorch's)" },
        json: { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' },
      },
      async run(f) {
        if (f.checkpoint === undefined) throw new TorchnasError('--checkpoint DIR is required', 'INVALID_ARGUMENT');
        const which = choiceFlag(f.which, 'which', ['best', 'last'] as const);
        const threads = intFlag(f.threads, 'threads');
        if (threads !== undefined) setThreads(threads);
        const checkpoint = path.resolve(f.checkpoint);
        const out = path.resolve(f.out ?? path.join(checkpoint, 'search'));
        const r = await runMethod(
          'nar search',
          Boolean(f.json),
          ({ signal, onProgress, onEnvelope, onStart }) =>
            searchNarCheckpoint(checkpoint, {
              which,
              iterations: intFlag(f.iterations, 'iterations'),
              seed: intFlag(f.seed, 'seed'),
              maxFlops: numberFlag(f['max-flops'], 'max-flops'),
              maxParams: numberFlag(f['max-params'], 'max-params'),
              data: f.data !== undefined ? path.resolve(f.data) : undefined,
              out,
              device: f.device,
              signal,
              onProgress,
              onEnvelope,
              onStart,
            }),
          { record: out },
        );
        if (!f.json) process.stdout.write(describeSearch(r, out));
        return 0;
      },
    },
    `${group} search`,
  );

export const narCommand = defineGroup({
  name: 'nar',
  summary: 'NAR (neural architecture ranker): cell-information datasets, ranker training, evaluation and tier-guided search',
  subcommands: [datasetCommand, trainCommand, evaluateCommand, searchCommand],
});
