/**
 * NCP on NAS-Bench-MR: train the metric predictor on the bundled segmentation table, then propagate a network
 * code through it (gradient steps that raise predicted mIoU and lower FLOPs).
 *
 *   node examples/run.js examples/ncp-predictor.ts --epochs 200 --iters 70 --out runs/ncp   # the original settings
 *   node examples/run.js examples/ncp-predictor.ts --epochs 5 --iters 10 --out runs/ncp     # seconds
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadNcpConfig, NCP_DEFAULT_START, propagateNcp, trainNcpPredictor } from 'torchnas';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { epochs: { type: 'string', default: '20' }, iters: { type: 'string', default: '20' }, out: { type: 'string', default: 'runs/ncp-example' }, table: { type: 'string', default: 'seg' } },
  });
  // The configs ship with the package; this one is NCP's configs/seg.yaml.
  const packageDir = path.dirname(require.resolve('torchnas/package.json'));
  const config = loadNcpConfig(path.join(packageDir, 'configs', 'ncp', 'seg.yaml'));
  config.optimization.epoch = Number(values.epochs);

  const predictorDir = path.join(values.out, 'predictor');
  const trained = await trainNcpPredictor(config, {
    data: values.table, // a table name (seg, seg-4x after `torchnas data fetch seg-4x`, …) or a .pkl/.json path
    out: predictorDir,
    onProgress: (epoch, epochs, fields) => {
      if (epoch === epochs || epoch % 10 === 0) console.error(`epoch ${epoch}/${epochs} loss ${Number(fields?.loss).toFixed(4)}`);
    },
  });
  const main = trained.metrics.mIoU.best;
  console.log(`trained on ${trained.dataset} (${trained.split.train} train / ${trained.split.validation} validation), best epoch ${trained.bestEpoch}`);
  console.log(`validation mIoU: L1 ${main.l1.toFixed(4)}, Kendall tau ${main.kendallTau.toFixed(4)}, Spearman rho ${main.spearmanRho.toFixed(4)}`);

  const edited = await propagateNcp(config, { predictor: predictorDir, start: [NCP_DEFAULT_START], iterations: Number(values.iters), out: path.join(values.out, 'edit') });
  const steps = edited.trajectories[0].steps;
  const first = steps[0];
  const last = steps[steps.length - 1];
  console.log(`start  ${first.roundedCode}  predicted mIoU ${first.predictedRounded.mIoU.toFixed(2)}, ${first.flops.toFixed(3)} GFLOPs`);
  console.log(`step ${last.step} ${last.roundedCode}  predicted mIoU ${last.predictedRounded.mIoU.toFixed(2)}, ${last.flops.toFixed(3)} GFLOPs`);
  console.log(`wrote ${predictorDir} and ${path.join(values.out, 'edit', 'result.json')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
