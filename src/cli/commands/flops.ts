import { TorchnasError } from '../../core/errors';
import { Progress } from '../../core/progress';
import { countCosts, CostMethod, readCostInputs } from '../../methods/ncp/costs';
import { Command, intFlag, parseFlags, printJson } from '../command';

const USAGE =
  'torchnas flops --space nasbench-mr (--code C … | --file F) [--head cls|seg] [--classes K] [--input N] [--method closed|hooks|both] [--json]\n' +
  '  F: a text file of codes (one per line) or a NAS-Bench-MR table (.pkl/.json; stored flops/params are compared).\n' +
  '  Defaults: the table convention — classification head, 50 classes, 128×128 input, thop-2020 rules (ncp.md §4).';

export const flopsCommand: Command = {
  name: 'flops',
  summary: 'FLOPs and parameters of NAS-Bench-MR networks (closed form and/or hook count of the built module)',
  usage: USAGE,
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        space: { type: 'string' },
        code: { type: 'string', multiple: true },
        file: { type: 'string' },
        head: { type: 'string' },
        classes: { type: 'string' },
        input: { type: 'string' },
        method: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const space = (values.space as string | undefined) ?? 'nasbench-mr';
    if (space !== 'nasbench-mr') throw new TorchnasError(`--space ${space}: only nasbench-mr is supported\nusage: ${USAGE}`, 'INVALID_ARGUMENT');
    const head = (values.head as string | undefined) ?? 'cls';
    if (head !== 'cls' && head !== 'seg') throw new TorchnasError(`--head must be cls or seg, got '${head}'`, 'INVALID_ARGUMENT');
    const method = (values.method as string | undefined) ?? 'closed';
    if (!['closed', 'hooks', 'both'].includes(method)) throw new TorchnasError(`--method must be closed, hooks or both, got '${method}'`, 'INVALID_ARGUMENT');
    const codes = (values.code as string[] | undefined) ?? [];
    const file = values.file as string | undefined;
    if ((codes.length > 0) === (file !== undefined)) throw new TorchnasError(`give either --code (repeatable) or --file\nusage: ${USAGE}`, 'INVALID_ARGUMENT');
    const inputs = file ? await readCostInputs(file) : { codes, stored: undefined };
    const progress = new Progress({ label: 'hook count', total: inputs.codes.length, quiet: Boolean(values.json) || method === 'closed' || inputs.codes.length < 200 });
    const report = await countCosts(
      inputs.codes,
      inputs.stored,
      {
        convention: { head, numClasses: intFlag(values.classes as string | undefined, 'classes', 50), inputSize: intFlag(values.input as string | undefined, 'input', 128) },
        method: method as CostMethod,
        onProgress: (done) => progress.update(done),
      },
      file,
    );
    progress.finish();
    if (values.json) {
      printJson(report);
      return 0;
    }
    const c = report.convention;
    const lines = [`convention: ${c.head} head, ${c.numClasses} classes, ${c.inputSize}×${c.inputSize} input, thop-2020 rules (ncp.md §4)`];
    const shown = report.rows.length > 20 && report.matches ? report.rows.filter((r) => (r.closed !== undefined && !same(r.closed, r.stored)) || (r.hooks !== undefined && !same(r.hooks, r.stored))).slice(0, 20) : report.rows;
    for (const r of shown) {
      const parts = [r.code];
      if (r.closed) parts.push(`closed ${r.closed.flops} G ${r.closed.params} M`);
      if (r.hooks) parts.push(`hooks ${r.hooks.flops} G ${r.hooks.params} M`);
      if (r.stored) parts.push(`stored ${r.stored.flops} G ${r.stored.params} M`);
      lines.push(parts.join('  '));
    }
    if (report.matches) {
      const m = report.matches;
      const per = (name: string, n: number | undefined, s: number) => (n === undefined ? [] : [`${name}: ${n}/${m.records} records equal the stored flops and params (${s.toFixed(3)} s)`]);
      lines.push(...per('closed form', m.closed, report.seconds.closed), ...per('hook count', m.hooks, report.seconds.hooks));
    }
    process.stdout.write(lines.join('\n') + '\n');
    const all = report.matches ? [report.matches.closed, report.matches.hooks].every((n) => n === undefined || n === report.matches?.records) : true;
    return all ? 0 : 1;
  },
};

function same(a?: { flops: number; params: number }, b?: { flops: number; params: number }): boolean {
  return !!a && !!b && a.flops === b.flops && a.params === b.params;
}
