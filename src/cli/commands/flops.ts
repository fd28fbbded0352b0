import { TorchnasError } from '../../core/errors';
import { progressBar } from '../../core/progress';
import { countCosts, readCostInputs } from '../../methods/ncp/costs';
import { choiceFlag, defineCommand, intFlag, printJson } from '../command';

export const flopsCommand = defineCommand({
  name: 'flops',
  summary: 'FLOPs and parameters of NAS-Bench-MR networks (closed form and/or hook count of the built module)',
  usage: '--space nasbench-mr (--code C … | --file F) [--head cls|seg] [--classes K] [--input N] [--method closed|hooks|both] [--json]',
  flags: {
    space: { type: 'string', value: 'nasbench-mr', help: 'search space (only nasbench-mr)' },
    code: { type: 'string', multiple: true, value: 'C', help: 'a network code (repeatable)' },
    file: { type: 'string', value: 'F', help: 'a text file of codes (one per line) or a NAS-Bench-MR table (.pkl/.json[.gz]; stored flops/params are compared), or a name (search-list, seg, …)' },
    head: { type: 'string', value: 'cls|seg', help: 'network head (default cls)' },
    classes: { type: 'string', value: 'K', help: 'classes (default 50)' },
    input: { type: 'string', value: 'N', help: 'input side (default 128)' },
    method: { type: 'string', value: 'closed|hooks|both', help: 'closed form, hook count of the built module, or both (default closed)' },
    json: { type: 'boolean', help: 'print JSON' },
  },
  notes: ['Defaults: the table convention — classification head, 50 classes, 128×128 input, thop-2020 rules (ncp.md §4).'],
  async run(flags) {
    choiceFlag(flags.space, 'space', ['nasbench-mr'] as const);
    const head = choiceFlag(flags.head, 'head', ['cls', 'seg'] as const) ?? 'cls';
    const method = choiceFlag(flags.method, 'method', ['closed', 'hooks', 'both'] as const) ?? 'closed';
    const codes = flags.code ?? [];
    const file = flags.file;
    if ((codes.length > 0) === (file !== undefined)) throw new TorchnasError('give either --code (repeatable) or --file', 'INVALID_ARGUMENT');
    const inputs = file ? await readCostInputs(file) : { codes, stored: undefined };
    const bar = progressBar('hook count', { quiet: flags.json || method === 'closed' || inputs.codes.length < 200 });
    const report = await countCosts(
      inputs.codes,
      inputs.stored,
      {
        convention: { head, numClasses: intFlag(flags.classes, 'classes') ?? 50, inputSize: intFlag(flags.input, 'input') ?? 128 },
        method,
        onProgress: bar.onProgress,
      },
      file,
    );
    bar.finish();
    if (flags.json) {
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
});

function same(a?: { flops: number; params: number }, b?: { flops: number; params: number }): boolean {
  return !!a && !!b && a.flops === b.flops && a.params === b.params;
}
