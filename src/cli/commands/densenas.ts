import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file';
import { TorchnasError } from '../../core/errors';
import { CHECKPOINT_FILE, readResumePoint } from '../../core/resume';
import { restartResumeDir } from '../../distributed/launch';
import { archParametersOf, createSuperNet } from '../../methods/densenas/supernet';
import { DenseSearchResult, runDenseSearch, SEARCH_FILES } from '../../methods/densenas/search';
import { trainDerivedNet } from '../../methods/densenas/train';
import { DenseTopKResult, trainTopK } from '../../methods/densenas/top-k';
import { buildDenseSpace, deriveArchitecture, DenseNasConfig, formatNetConfig, loadDenseNasConfig, netConfigToJson } from '../../spaces/densenas';
import { choiceFlag, defineCommand, defineGroup, intFlag, numberFlag, runMethod } from '../command';

const json = { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' } as const;

const searchCommand = (group: string) =>
  defineCommand(
    {
      name: 'search',
      summary: 'search the DenseNAS super network (weights and architecture alternately) and derive the network',
      usage:
        '--config F [--lut F] [--data fashion-mnist|cifar10:DIR|folder:DIR] [--out DIR] [--resume DIR] [--seed N] [--epochs N] [--limit N] [--batch N] [--arch-start N] [--val-start N] [--penalty log|ratio|hinge] [--target X] [--measure|--no-measure] [--device D] [--threads N] [--json]',
      flags: {
        config: { type: 'string', value: 'F', help: "DenseNAS search config (configs/densenas/*.yaml), required unless --resume (then the run's own)" },
        lut: { type: 'string', value: 'F', help: 'latency table: keyed JSON or positional lat_list, a path or a name (densenas/lat-small32-cpu)' },
        'allow-foreign-lut': { type: 'boolean', help: 'use a keyed LUT measured on another device (warns instead of refusing)' },
        data: { type: 'string', value: 'SRC', help: 'fashion-mnist (default), cifar10:DIR (cifar-10-batches-bin) or folder:DIR (DIR/train/CLASS/*.jpg|png, resized to the config\'s input size)' },
        'data-dir': { type: 'string', value: 'DIR', help: 'Fashion-MNIST folder (default $TORCHNAS_FASHION_MNIST, else Debian\'s)' },
        out: { type: 'string', value: 'DIR', help: 'write the checkpoint, net_config, records, histograms and result.json every epoch' },
        resume: { type: 'string', value: 'DIR', help: 'continue a search from its last checkpoint in DIR' },
        seed: { type: 'string', value: 'N', help: "overrides train_params.seed" },
        epochs: { type: 'string', value: 'N', help: 'overrides train_params.epochs' },
        limit: { type: 'string', value: 'N', help: 'training images per epoch (a seeded subset; validation gets a quarter)' },
        batch: { type: 'string', value: 'N', help: 'overrides data.batch_size' },
        'arch-start': { type: 'string', value: 'N', help: 'first epoch (0-based) with architecture steps; overrides search_params.arch_update_epoch' },
        'val-start': { type: 'string', value: 'N', help: 'first epoch (0-based) with a validation pass; overrides search_params.val_start_epoch' },
        penalty: { type: 'string', value: 'log|ratio|hinge', help: "cost term: the original's λ·log_τ(cost), or against --target" },
        target: { type: 'string', value: 'X', help: 'target cost in the table\'s unit (ms, or MMAdds for FLOPs)' },
        measure: { type: 'boolean', help: 'time the derived network on this device every epoch (default with a latency LUT)' },
        'no-measure': { type: 'boolean', help: 'do not time the derived network per epoch' },
        device: { type: 'string', value: 'D', help: 'cpu, cuda or cuda:N (default cpu)' },
        threads: { type: 'string', value: 'N', help: 'LibTorch intra-op threads' },
        json,
      },
      async run(flags) {
        if (!flags.config && !flags.resume) throw new TorchnasError('--config is required (or --resume DIR, which takes the run\'s own)', 'INVALID_ARGUMENT');
        if (flags.measure && flags['no-measure']) throw new TorchnasError('--measure and --no-measure exclude each other', 'INVALID_ARGUMENT');
        // --resume DIR alone: the config (and the other settings, see runDenseSearch) come from DIR's run.json
        const config = flags.config ? loadDenseNasConfig(flags.config) : (readResumePoint(flags.resume!, 'densenas search').identity.settings.config as DenseNasConfig);
        const r = await runMethod('densenas search', flags.json, (context) =>
          runDenseSearch(config, {
            configFile: flags.config,
            lut: flags.lut,
            allowForeignLut: flags['allow-foreign-lut'],
            data: flags.data,
            dataDir: flags['data-dir'],
            out: flags.out,
            // a group restarted by `torchnas launch --max-restarts` continues from --out's last checkpoint
            resume: restartResumeDir(flags.out, flags.resume, CHECKPOINT_FILE),
            seed: intFlag(flags.seed, 'seed'),
            epochs: intFlag(flags.epochs, 'epochs'),
            limit: intFlag(flags.limit, 'limit'),
            batchSize: intFlag(flags.batch, 'batch'),
            archStart: intFlag(flags['arch-start'], 'arch-start'),
            valStart: intFlag(flags['val-start'], 'val-start'),
            penalty: choiceFlag(flags.penalty, 'penalty', ['log', 'ratio', 'hinge'] as const),
            target: numberFlag(flags.target, 'target'),
            measureDerived: flags.measure ? true : flags['no-measure'] ? false : undefined,
            device: flags.device,
            threads: intFlag(flags.threads, 'threads'),
            ...context,
          }),
          { record: flags.out ?? flags.resume },
        );
        if (!flags.json) process.stdout.write(describeSearch(r, flags.out ?? flags.resume));
        return 0;
      },
    },
    `${group} search`,
  );

const deriveCommand = (group: string) =>
  defineCommand(
    {
      name: 'derive',
      summary: "derive the network from a search's checkpoint (Viterbi path over β, argmax ops, skip layers dropped)",
      usage: '--checkpoint DIR [--out DIR] [--json]',
      flags: {
        checkpoint: { type: 'string', value: 'DIR', help: "a 'densenas search --out DIR' folder, required" },
        out: { type: 'string', value: 'DIR', help: 'write net_config and net_config.json there (default: print only)' },
        json: { type: 'boolean', help: 'print the derivation as JSON' },
      },
      async run(flags) {
        if (!flags.checkpoint) throw new TorchnasError('--checkpoint DIR is required', 'INVALID_ARGUMENT');
        const point = readResumePoint(flags.checkpoint, 'densenas search');
        const config = point.identity.settings.config as DenseNasConfig;
        const space = buildDenseSpace(config);
        const net = await createSuperNet(space, { seed: point.identity.seed });
        try {
          await net.loadCheckpoint(path.join(flags.checkpoint, CHECKPOINT_FILE));
          const derivation = deriveArchitecture(space, archParametersOf(space, net));
          if (flags.out) {
            fs.mkdirSync(flags.out, { recursive: true });
            await writeFileAtomic(path.join(flags.out, SEARCH_FILES.netConfig), formatNetConfig(derivation.netConfig, { netTypeLine: true }));
            await writeFileAtomic(path.join(flags.out, SEARCH_FILES.netConfigJson), netConfigToJson(derivation.netConfig));
          }
          if (flags.json) process.stdout.write(JSON.stringify({ netConfig: derivation.netConfig, path: derivation.path, pathProbability: derivation.pathProbability }, null, 2) + '\n');
          else process.stdout.write(`${formatNetConfig(derivation.netConfig, { netTypeLine: true })}\n(path ${derivation.path.join('→')}, probability ${derivation.pathProbability.toPrecision(4)})\n`);
        } finally {
          net.dispose();
        }
        return 0;
      },
    },
    `${group} derive`,
  );

const trainCommand = (group: string) =>
  defineCommand(
    {
      name: 'train',
      summary: 'retrain a derived network, report test accuracy, params, MAdds, measured vs predicted latency',
      usage: '--net-config F|DIR [--top-k K [--queue URL]] [--data fashion-mnist|cifar10:DIR|folder:DIR] [--input-size N] [--channels 1|3] [--epochs N] [--limit N] [--batch N] [--lr X] [--seed N] [--out DIR] [--device D] [--threads N] [--json]',
      flags: {
        'net-config': { type: 'string', value: 'F|DIR', help: "a net_config file, or a 'densenas search --out' folder (then its predicted cost is compared), required" },
        'top-k': { type: 'string', value: 'K', help: "retrain the search folder's K best derived networks (its top_results.json) and report each" },
        queue: { type: 'string', value: 'URL', help: "with --top-k: train on 'torchnas worker' processes via this Redis (redis://host:port)" },
        data: { type: 'string', value: 'SRC', help: 'fashion-mnist (default), cifar10:DIR or folder:DIR (DIR/train/CLASS/*.jpg|png, DIR/val|test/CLASS/…)' },
        'input-size': { type: 'string', value: 'N', help: 'folder:DIR only: resize images to N×N (default 32)' },
        channels: { type: 'string', value: '1|3', help: 'folder:DIR only: 3 = RGB (default), 1 = luminance' },
        'data-dir': { type: 'string', value: 'DIR', help: "Fashion-MNIST folder (default $TORCHNAS_FASHION_MNIST, else Debian's)" },
        epochs: { type: 'string', value: 'N', help: 'epochs (default 3)' },
        limit: { type: 'string', value: 'N', help: 'train on the first N images only' },
        batch: { type: 'string', value: 'N', help: 'batch size (default 128)' },
        lr: { type: 'string', value: 'X', help: 'initial SGD lr of the per-step cosine (default 0.1)' },
        seed: { type: 'string', value: 'N', help: 'initialisation and shuffles (default 0)' },
        out: { type: 'string', value: 'DIR', help: 'write result.json, weights.pt and state_dict.pt (opens with torch.load in Python)' },
        device: { type: 'string', value: 'D', help: 'cpu, cuda or cuda:N (default cpu)' },
        threads: { type: 'string', value: 'N', help: 'LibTorch intra-op threads' },
        json,
      },
      async run(flags) {
        const source = flags['net-config'];
        if (!source) throw new TorchnasError('--net-config F|DIR is required', 'INVALID_ARGUMENT');
        if (flags.queue !== undefined && flags['top-k'] === undefined) throw new TorchnasError('--queue goes with --top-k (one network trains here)', 'INVALID_ARGUMENT');
        // the training settings of one network, or of each of the top K
        const settings = {
          data: flags.data,
          dataDir: flags['data-dir'],
          inputSize: intFlag(flags['input-size'], 'input-size'),
          channels: intFlag(flags.channels, 'channels'),
          epochs: intFlag(flags.epochs, 'epochs'),
          limit: intFlag(flags.limit, 'limit'),
          batchSize: intFlag(flags.batch, 'batch'),
          lr: numberFlag(flags.lr, 'lr'),
          seed: intFlag(flags.seed, 'seed'),
          out: flags.out,
          device: flags.device,
          threads: intFlag(flags.threads, 'threads'),
        };
        if (flags['top-k'] !== undefined) {
          const k = intFlag(flags['top-k'], 'top-k')!;
          const t = await runMethod('densenas train --top-k', flags.json, (context) =>
            trainTopK(source, {
              k,
              queue: flags.queue,
              ...settings,
              ...context,
            }),
            { record: flags.out },
          );
          if (!flags.json) process.stdout.write(describeTopK(t));
          return 0;
        }
        const r = await runMethod('densenas train', flags.json, (context) =>
          trainDerivedNet(source, {
            ...settings,
            ...context,
          }),
          { record: flags.out },
        );
        if (!flags.json) {
          process.stdout.write(
            `${r.data} test accuracy: ${(100 * r.testAccuracy).toFixed(2)}% after ${r.epochs.length} epoch(s); ` +
              `${(r.parameters / 1e6).toFixed(3)} M parameters, ${(r.madds / 1e6).toFixed(2)} MMAdds; ` +
              `measured latency ${r.measuredLatencyMs.toFixed(2)} ms per batch of ${r.latencyBatch}` +
              (r.predictedCost !== null ? ` (the search predicted ${r.predictedCost.toFixed(2)})` : '') +
              `; device ${r.device}, ${r.threads} thread(s)\n`,
          );
        }
        return 0;
      },
    },
    `${group} train`,
  );

export const densenasCommand = defineGroup({
  name: 'densenas',
  summary: 'DenseNAS: search a densely connected super network against a latency table, derive the network',
  subcommands: [searchCommand, deriveCommand, trainCommand],
});

function describeSearch(r: DenseSearchResult, out: string | undefined): string {
  const last = r.records[r.records.length - 1];
  const unit = r.costUnit;
  const lines = [
    `DenseNAS ${r.netType} search on ${r.data}: ${r.records.length} epoch(s)${r.resumedAtEpoch ? ` (resumed after epoch ${r.resumedAtEpoch})` : ''}, ` +
      `${r.trainImages} training / ${r.valImages} validation images per epoch, seed ${r.seed}, ${r.threads} thread(s)`,
    last
      ? `last epoch: weight loss ${last.weightLoss.toFixed(4)}, train accuracy ${(100 * last.trainAccuracy).toFixed(1)}%` +
        (last.valAccuracy !== null ? `, validation accuracy ${(100 * last.valAccuracy).toFixed(1)}%` : '') +
        `, expected cost ${last.expectedCost.toFixed(3)} ${unit}, T ${last.temperature.toPrecision(3)}`
      : '',
    last?.derivedLatency ? `derived network measured on this device: ${last.derivedLatency.median.toFixed(3)} ms per batch (median of ${last.derivedLatency.count} runs) vs ${last.derivedCost.toFixed(3)} ${unit} predicted by the table` : '',
    `derived network (cost ${r.derived.cost.toFixed(3)} ${unit} from ${r.costSource}):`,
    r.derived.netConfig,
  ];
  if (out) lines.push(`written to ${out}/ (${SEARCH_FILES.netConfig}, ${SEARCH_FILES.netConfigJson}, ${SEARCH_FILES.records}, ${SEARCH_FILES.histogram}, result.json)`);
  return lines.filter(Boolean).join('\n') + '\n';
}

function describeTopK(t: DenseTopKResult): string {
  const lines = [`the ${t.candidates.length} best networks of ${t.search}, retrained:`];
  for (const c of t.candidates) {
    const r = c.result;
    lines.push(
      r
        ? `  #${c.rank} (search epoch ${c.searchEpoch}, val ${(100 * c.searchValAccuracy).toFixed(2)}%): test ${(100 * r.testAccuracy).toFixed(2)}%, ` +
            `${(r.parameters / 1e6).toFixed(3)} M parameters, ${(r.madds / 1e6).toFixed(2)} MMAdds, measured ${r.measuredLatencyMs.toFixed(2)} ms (predicted ${c.predictedCost.toFixed(2)})`
        : `  #${c.rank}: failed: ${c.error}`,
    );
  }
  lines.push(t.best !== null ? `best: #${t.best}` : 'no network trained');
  if (t.queue) lines.push(`queue: ${t.queue.reused} result(s) reused, ${t.queue.failed} failed`);
  return lines.join('\n') + '\n';
}
