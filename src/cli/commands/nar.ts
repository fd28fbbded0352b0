/**
 * `torchnas nar …`: NAR (Neural Architecture Ranker, nar.md). One subcommand per job; `dataset` regenerates the
 * NB201 cell-information file. Further subcommands (train, evaluate, search) join the list in {@link narCommand}.
 */
import * as path from 'node:path';
import { regenerateNb201CellDataset, RegeneratedNb201CellDataset } from '../../benchmarks/nar-nb201-dataset';
import { TorchnasError } from '../../core/errors';
import { choiceFlag, Command, defineCommand, defineGroup, printJson } from '../command';

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

export const narCommand = defineGroup({
  name: 'nar',
  summary: 'NAR (neural architecture ranker): cell-information datasets',
  subcommands: [datasetCommand],
});
