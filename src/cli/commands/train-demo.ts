import { trainDemo } from '../../methods/demo/train-demo';
import { Command, intFlag, numberFlag, parseFlags, printJson } from '../command';

export const trainDemoCommand: Command = {
  name: 'train-demo',
  summary: 'train a small CNN on Fashion-MNIST for one epoch and print test accuracy',
  usage:
    'torchnas train-demo [--epochs N] [--batch N] [--lr X] [--seed N] [--device D] [--threads N] [--data DIR] [--limit N] [--out DIR] [--json]',
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        epochs: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        seed: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        data: { type: 'string' },
        limit: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
      },
      this.usage,
    );
    if (values.help) {
      process.stdout.write(`${this.usage}\n`);
      return 0;
    }
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const r = await trainDemo({
        epochs: intFlag(values.epochs as string | undefined, 'epochs', 1),
        batchSize: intFlag(values.batch as string | undefined, 'batch', 64),
        lr: numberFlag(values.lr as string | undefined, 'lr', 0.05),
        seed: intFlag(values.seed as string | undefined, 'seed', 0),
        device: (values.device as string | undefined) ?? 'cpu',
        threads: intFlag(values.threads as string | undefined, 'threads'),
        dataDir: values.data as string | undefined,
        limit: intFlag(values.limit as string | undefined, 'limit'),
        out: values.out as string | undefined,
        quiet: Boolean(values.json),
        signal: controller.signal,
      });
      if (values.json) {
        printJson(r);
      } else {
        const last = r.epochs[r.epochs.length - 1];
        process.stdout.write(
          `Fashion-MNIST test accuracy: ${(100 * r.testAccuracy).toFixed(2)}% ` +
            `(${r.testImages} test images; ${r.epochs.length} epoch(s) on ${r.trainImages} images, ` +
            `last epoch ${last.seconds.toFixed(1)} s, train loss ${last.meanLoss.toFixed(4)}; device ${r.device}, ${r.threads} thread(s))\n`,
        );
      }
      return 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
