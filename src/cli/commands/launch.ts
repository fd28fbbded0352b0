import * as path from 'node:path';
import { TorchnasError } from '../../core/errors';
import { launch } from '../../distributed/launch';
import { defineCommand, intFlag } from '../command';

export const launchCommand = defineCommand({
  name: 'launch',
  summary: 'start the worker processes of a data-parallel run on this node (torchrun\'s environment)',
  usage: '--nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] [--max-restarts K] -- <torchnas command and flags>',
  flags: {
    'nproc-per-node': { type: 'string', value: 'N', help: 'worker processes on this node, required' },
    nnodes: { type: 'string', value: 'M', help: 'nodes in the run (default 1)' },
    'node-rank': { type: 'string', value: 'R', help: "this node's index, 0 … M-1 (default 0)" },
    'master-addr': { type: 'string', value: 'A', help: "rank 0's address, reachable from every node (default 127.0.0.1)" },
    'master-port': { type: 'string', value: 'P', help: "rank 0's store port (default 29500)" },
    'max-restarts': { type: 'string', value: 'K', help: 'restart the whole group up to K times after a failure (default 0)' },
  },
  positionals: { min: 1, max: Infinity },
  notes: [
    'Workers get RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT and TORCHELASTIC_RESTART_COUNT;',
    'their output lines are prefixed with [rank R]. When one fails the others are stopped and launch exits with its code.',
    'Ctrl-C stops every worker (a second Ctrl-C kills them).',
  ],
  async run(flags, positionals) {
    const nproc = intFlag(flags['nproc-per-node'], 'nproc-per-node');
    if (nproc === undefined) throw new TorchnasError('launch needs --nproc-per-node N', 'INVALID_ARGUMENT');
    // the workers run this same CLI (dist/cli/index.js) with the given command
    const cli = path.join(__dirname, '..', 'index.js');
    const r = await launch({
      nprocPerNode: nproc,
      nnodes: intFlag(flags.nnodes, 'nnodes'),
      nodeRank: intFlag(flags['node-rank'], 'node-rank'),
      masterAddr: flags['master-addr'],
      masterPort: intFlag(flags['master-port'], 'master-port'),
      maxRestarts: intFlag(flags['max-restarts'], 'max-restarts'),
      command: [process.execPath, cli, ...positionals],
    });
    if (r.failure) process.stderr.write(`torchnas launch: rank ${r.failure.rank} failed${r.restarts ? ` after ${r.restarts} restart(s)` : ''}:\n${r.failure.stderrTail}\n`);
    return r.exitCode;
  },
});
