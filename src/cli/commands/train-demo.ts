import { restartResumeDir } from '../../distributed/launch';
import { CHECKPOINT_FILE } from '../../core/resume';
import { trainDemo } from '../../methods/demo/train-demo';
import { defineCommand, intFlag, numberFlag, runMethod } from '../command';

export const trainDemoCommand = defineCommand({
  name: 'train-demo',
  summary: 'train a small CNN on Fashion-MNIST for one epoch and print test accuracy',
  usage: '[--epochs N] [--batch N] [--lr X] [--seed N] [--device D] [--threads N] [--data DIR] [--limit N] [--out DIR] [--resume DIR] [--json]',
  flags: {
    epochs: { type: 'string', value: 'N', help: 'epochs (default 1)' },
    batch: { type: 'string', value: 'N', help: 'batch size (default 64)' },
    lr: { type: 'string', value: 'X', help: 'SGD learning rate (default 0.05)' },
    seed: { type: 'string', value: 'N', help: 'seed of initialisation and shuffles (default 0)' },
    device: { type: 'string', value: 'D', help: 'cpu, cuda or cuda:N (default cpu)' },
    threads: { type: 'string', value: 'N', help: 'LibTorch intra-op threads' },
    data: { type: 'string', value: 'DIR', help: "Fashion-MNIST IDX folder (default $TORCHNAS_FASHION_MNIST, else Debian's /usr/share/datasets/fashion-mnist)" },
    limit: { type: 'string', value: 'N', help: 'train on the first N images only' },
    out: { type: 'string', value: 'DIR', help: 'write DIR/result.json and DIR/model.pt' },
    resume: { type: 'string', value: 'DIR', help: "continue from a previous run's checkpoint in DIR" },
    json: { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' },
  },
  async run(flags) {
    const options = {
      epochs: intFlag(flags.epochs, 'epochs') ?? 1,
      batchSize: intFlag(flags.batch, 'batch') ?? 64,
      lr: numberFlag(flags.lr, 'lr') ?? 0.05,
      seed: intFlag(flags.seed, 'seed') ?? 0,
      device: flags.device ?? 'cpu',
      threads: intFlag(flags.threads, 'threads'),
      dataDir: flags.data,
      limit: intFlag(flags.limit, 'limit'),
      out: flags.out,
      // a group restarted by `torchnas launch --max-restarts` continues from --out's last checkpoint
      resume: restartResumeDir(flags.out, flags.resume, CHECKPOINT_FILE),
    };
    const r = await runMethod('train-demo', flags.json, (context) => trainDemo({ ...options, ...context }));
    if (!flags.json) {
      const last = r.epochs[r.epochs.length - 1];
      process.stdout.write(
        `Fashion-MNIST test accuracy: ${(100 * r.testAccuracy).toFixed(2)}% ` +
          `(${r.testImages} test images; ${r.epochs.length} epoch(s) on ${r.trainImages} images, ` +
          `last epoch ${last.seconds.toFixed(1)} s, train loss ${last.meanLoss.toFixed(4)}; device ${r.device}, ${r.threads} thread(s))\n`,
      );
    }
    return 0;
  },
});
