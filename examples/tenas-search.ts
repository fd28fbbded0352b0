/**
 * A TE-NAS search on NAS-Bench-201 from a script: progress through `onProgress`, cancellation through an
 * AbortSignal (Ctrl-C, or --stop-after N scored candidates), and the result looked up in the bundled NB201 table.
 *
 *   node examples/run.js examples/tenas-search.ts                       # the embedded defaults (~2 min on 2 cores)
 *   node examples/run.js examples/tenas-search.ts --data random --batch 4 --repeats 1 --samples 500   # seconds
 */
import { parseArgs } from 'node:util';
import { isTorchnasError, loadTenasConfig, runTenasSearch } from 'torchnas';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, // fashion-mnist (default), random or cifar10:DIR
      batch: { type: 'string' },
      repeats: { type: 'string' },
      samples: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      'stop-after': { type: 'string' },
    },
  });
  const int = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));

  // Overrides are merged into the defaults before the schema validates them, like the CLI's flags.
  const config = loadTenasConfig(undefined, {
    seed: int(values.seed),
    threads: int(values.threads),
    data: values.data === undefined ? undefined : { source: values.data },
    ntk: { batchSize: int(values.batch) },
    search: { repeats: int(values.repeats) },
    linearRegions: { samples: int(values.samples) },
  });

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort()); // Ctrl-C: stop after the native job in flight
  const stopAfter = int(values['stop-after']);
  let scored = 0;
  let total = 0;

  try {
    const result = await runTenasSearch(config, {
      benchmark: 'nb201', // the NB201 table bundled with torchnas, by name
      signal: controller.signal,
      onProgress: (done, of) => {
        scored = done;
        total = of;
        if (done % 10 === 0 || done === of) console.error(`scored ${done}/${of} candidates`);
        if (stopAfter !== undefined && done >= stopAfter) controller.abort();
      },
    });
    console.log(`architecture: ${result.arch}`);
    if (result.lookup) {
      const { index, accuracy, rank, percentile } = result.lookup;
      console.log(`NB201 index ${index}: ImageNet16-120 accuracy ${accuracy.toFixed(2)} %, rank ${rank} of 15625 (better than ${percentile.toFixed(1)} %)`);
    }
    console.log(`${result.ntkEvaluations} NTK evaluations in ${result.seconds.toFixed(1)} s`);
  } catch (e) {
    if (!isTorchnasError(e, 'CANCELLED')) throw e;
    console.log(`search cancelled after ${scored} of ${total} candidate scores`);
    process.exitCode = 130;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
