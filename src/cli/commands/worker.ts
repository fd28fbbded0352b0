import { TorchnasError } from '../../core/errors';
import { setThreads } from '../../core/device';
import { JOB_HANDLERS } from '../../distributed/jobs';
import { DEFAULT_QUEUE_NAME, startWorker } from '../../distributed/queue';
import { defineCommand, intFlag } from '../command';

export const workerCommand = defineCommand({
  name: 'worker',
  summary: 'take evaluation jobs from a Redis queue (BullMQ) and run them until stopped',
  usage: '--redis URL [--concurrency N] [--threads N] [--queue-name NAME] [--stall-ms MS]',
  flags: {
    redis: { type: 'string', value: 'URL', help: 'the queue\'s Redis, redis://host:port[/db], required' },
    concurrency: { type: 'string', value: 'N', help: 'jobs run at once (default 1)' },
    threads: { type: 'string', value: 'N', help: 'LibTorch/OpenMP/BLAS threads of this process (default: LibTorch\'s)' },
    'queue-name': { type: 'string', value: 'NAME', help: `queue name (default ${DEFAULT_QUEUE_NAME})` },
    'stall-ms': { type: 'string', value: 'MS', help: 'job lock time: a killed worker\'s job is run again after about this long (default 30000)' },
  },
  notes: [
    `Job kinds: ${Object.keys(JOB_HANDLERS).join(', ')}. Runs that fan out to workers: tenas correlate --queue URL, tenas search --queue URL, densenas train --top-k K --queue URL, ncp train --seeds A,B,… --queue URL.`,
    'Ctrl-C (SIGINT) or SIGTERM: finish the running jobs, then exit; a second Ctrl-C exits at once (the jobs are taken',
    'up again by another worker after the stall time).',
  ],
  async run(flags) {
    if (!flags.redis) throw new TorchnasError('worker needs --redis URL', 'INVALID_ARGUMENT');
    const threads = intFlag(flags.threads, 'threads');
    if (threads !== undefined) setThreads(threads);
    const log = (line: string) => process.stderr.write(`[worker ${process.pid}] ${line}\n`);
    const worker = await startWorker(flags.redis, JOB_HANDLERS, {
      queueName: flags['queue-name'],
      concurrency: intFlag(flags.concurrency, 'concurrency'),
      stallMs: intFlag(flags['stall-ms'], 'stall-ms'),
      onEvent: (e) =>
        log(e.type === 'started' ? `started ${e.kind} ${e.id.slice(0, 13)}` : `${e.type} ${e.kind} ${e.id.slice(0, 13)} in ${e.seconds?.toFixed(1)} s${e.error ? `: ${e.error}` : ''}`),
    });
    log(`ready on ${flags.redis} (queue ${flags['queue-name'] ?? DEFAULT_QUEUE_NAME})`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = () => {
        if (stopping) {
          log('stopping now');
          void worker.close(true).then(resolve, resolve);
          return;
        }
        stopping = true;
        log('finishing the running jobs (Ctrl-C again to stop now)');
        void worker.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    log('stopped');
    return 0;
  },
});
