/**
 * The plots of each method's runs (what the issue lists per method). Each reads the method's result (the envelope's
 * `result`) and, while a run is in progress, its events; result shapes are read loosely (any field may be
 * missing in an interrupted run's partial result), so a view never needs the method's code.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { PlotSpec, progressEvents, registerMethod, Series } from './plots';
import type { RunData } from './runs';

type AnyRecord = Record<string, any>;
const resultOf = (run: RunData): AnyRecord => (run.envelope?.result && typeof run.envelope.result === 'object' ? (run.envelope.result as AnyRecord) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const fmt = (v: unknown, digits = 4): string => (typeof v === 'number' && Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toPrecision(digits)) : 'n/a');
const points = (rows: [unknown, unknown][]): [number, number][] =>
  rows.filter(([x, y]) => num(x) !== null && num(y) !== null).map(([x, y]) => [x as number, y as number]);
const records = (run: RunData, kind: string): any[] => run.events.filter((e) => e.type === 'record' && e.kind === kind).map((e) => (e as { data: unknown }).data);

// ---------- TE-NAS ----------
function tenasRounds(run: RunData): PlotSpec[] {
  const r = resultOf(run);
  // a finished (or interrupted) run's rounds are in result.json; a running one's in its `round` records
  const rounds: any[] = Array.isArray(r.rounds) && run.status !== 'running' ? r.rounds : records(run, 'round');
  const plots = rounds.map((round, i): PlotSpec => {
    const candidates: any[] = Array.isArray(round?.candidates) ? round.candidates : [];
    const label = round?.phase === 'edges' ? 'edge pruning' : `round ${(num(round?.round) ?? i) + 1}`;
    return {
      id: `tenas:round:${i}`,
      title: `TE-NAS ${label}: candidates (Δκ vs ΔR)`,
      type: 'scatter',
      xLabel: 'Δκ relative (higher = removal improves trainability)',
      yLabel: 'ΔR relative (lower = removal keeps expressivity)',
      series: [
        { name: 'kept', points: points(candidates.filter((c) => !c.pruned).map((c) => [c.deltaKappa, c.deltaRegions])) },
        { name: 'pruned', points: points(candidates.filter((c) => c.pruned).map((c) => [c.deltaKappa, c.deltaRegions])) },
      ],
    };
  });
  if (run.status === 'running') {
    // the round in progress: its candidates scored so far (progress fields), under the id its record will take
    const scored = progressEvents(run).filter((e) => e.fields.round === rounds.length + 1);
    if (scored.length) {
      plots.push({
        id: `tenas:round:${rounds.length}`,
        title: `TE-NAS round ${rounds.length + 1} (in progress): candidates scored so far (Δκ vs ΔR)`,
        type: 'scatter',
        xLabel: 'Δκ relative (higher = removal improves trainability)',
        yLabel: 'ΔR relative (lower = removal keeps expressivity)',
        series: [{ name: 'scored', points: points(scored.map((e) => [e.fields.deltaKappa, e.fields.deltaRegions])) }],
      });
    }
  }
  return plots;
}

function tenasCorrelation(run: RunData): PlotSpec[] {
  const r = resultOf(run);
  const rows: { kappa: unknown; regions: unknown; accuracy: unknown }[] =
    Array.isArray(r.architectures) && run.status !== 'running'
      ? r.architectures.map((a: any) => ({ kappa: a?.kappa?.mean, regions: a?.regions?.mean, accuracy: a?.accuracy }))
      : progressEvents(run).map((e) => ({ kappa: e.fields.kappa, regions: e.fields.regions, accuracy: e.fields.accuracy }));
  const scatter = (key: 'kappa' | 'regions', label: string, axis: string): PlotSpec => ({
    id: `tenas:correlation:${key}`,
    title: `${label} vs NB201 accuracy`,
    type: 'scatter',
    xLabel: axis,
    yLabel: 'accuracy (%)',
    series: [{ name: 'architectures', points: points(rows.map((a) => [key === 'kappa' ? Math.log10(Number(a.kappa)) : a.regions, a.accuracy])) }],
  });
  return [scatter('kappa', 'NTK condition number κ_N', 'log10 κ_N'), scatter('regions', 'linear regions R_N', 'R_N')];
}

registerMethod('tenas search', {
  plots: tenasRounds,
  // the candidates' Δκ and ΔR are the round scatters; the round number alone says little
  hideEventSeries: ['round', 'deltaKappa', 'deltaRegions'],
  headline(run) {
    const r = resultOf(run);
    if (!r.arch) return undefined;
    return `${r.arch}${r.lookup ? ` — accuracy ${fmt(r.lookup.accuracy)} %, rank ${r.lookup.rank}` : ''}`;
  },
  config: (c: any) => (c ? `${c.space} · data ${c.data?.source} · NTK batch ${c.ntk?.batchSize} · ${c.search?.repeats} repeat(s)` : undefined),
});
registerMethod('tenas correlate', {
  plots: tenasCorrelation,
  hideEventSeries: ['kappa', 'regions', 'accuracy'],
  headline(run) {
    const r = resultOf(run);
    return r.kendallTau ? `${r.scored ?? '?'} archs: τ(κ) ${fmt(r.kendallTau.kappa, 3)}, τ(R) ${fmt(r.kendallTau.regions, 3)}, τ(combined) ${fmt(r.kendallTau.combined, 3)}` : undefined;
  },
  config: (c: any) => (c ? `data ${c.data?.source} · NTK batch ${c.ntk?.batchSize} · ${c.search?.repeats} repeat(s)` : undefined),
});

// ---------- NCP ----------
registerMethod('ncp train', {
  plots(run) {
    const r = resultOf(run);
    const history: any[] = Array.isArray(r.history) ? r.history : [];
    if (history.length === 0) return [];
    const metrics = r.metrics && typeof r.metrics === 'object' ? Object.keys(r.metrics) : [];
    return [
      { id: 'ncp:loss', title: 'NCP predictor: training loss per epoch', type: 'line', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'train loss', points: points(history.map((h) => [h.epoch, h.trainLoss])) }] },
      {
        id: 'ncp:validation',
        title: 'NCP predictor: validation L1 per metric',
        type: 'line',
        xLabel: 'epoch',
        yLabel: 'L1',
        series: metrics.map((m, k) => ({ name: m, points: points(history.map((h) => [h.epoch, Array.isArray(h.validationL1) ? h.validationL1[k] : null])) })),
      },
    ];
  },
  headline(run) {
    const r = resultOf(run);
    const main = r.metrics ? Object.keys(r.metrics)[0] : undefined;
    if (!main) return undefined;
    const best = r.metrics[main].best;
    return `${r.dataset}: ${main} L1 ${fmt(best?.l1)}, Kendall τ ${fmt(best?.kendallTau, 3)} (best epoch ${r.bestEpoch})`;
  },
  config: (c: any) => (c ? `${c.data?.dataset} · ${c.optimization?.epoch} epochs · ${c.optimization?.optimizer} · batch ${c.optimization?.batch_size}` : undefined),
});

registerMethod('ncp edit', {
  plots(run) {
    const r = resultOf(run);
    const main: string = r.mainMetric ?? 'main';
    const trajectories: any[] = Array.isArray(r.trajectories) ? r.trajectories : [];
    const plots: PlotSpec[] = [];
    if (trajectories.length) {
      plots.push({
        id: 'ncp:trajectories',
        title: `NCP trajectories: predicted ${main} vs FLOPs, step by step`,
        type: 'line',
        xLabel: 'FLOPs (G)',
        yLabel: `predicted ${main}`,
        series: trajectories.map((t, i) => ({
          name: `#${i} ${Object.entries(t.weights ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`,
          points: points((t.steps ?? []).map((s: any) => [s.flops, s.predicted?.[main]])),
        })),
      });
      plots.push({
        id: 'ncp:trajectory-steps',
        title: `NCP trajectories: predicted ${main} per step`,
        type: 'line',
        xLabel: 'step',
        yLabel: `predicted ${main}`,
        series: trajectories.map((t, i) => ({ name: `#${i}`, points: points((t.steps ?? []).map((s: any) => [s.step, s.predicted?.[main]])) })),
      });
    }
    if (Array.isArray(r.pareto) && r.pareto.length) {
      const pareto: any[] = r.pareto;
      plots.push({
        id: 'ncp:pareto',
        title: `NCP Pareto sweep: ${main} vs FLOPs (one point per FLOPs weight)`,
        type: 'scatter',
        xLabel: 'FLOPs (G)',
        yLabel: `predicted ${main}`,
        series: [
          { name: 'front', points: points(pareto.filter((p) => p.onFront).map((p) => [p.flops, p.predictedMain])) },
          { name: 'dominated', points: points(pareto.filter((p) => !p.onFront).map((p) => [p.flops, p.predictedMain])) },
        ],
      });
    }
    return plots;
  },
  headline(run) {
    const r = resultOf(run);
    const t = Array.isArray(r.trajectories) ? r.trajectories[0] : undefined;
    const first = t?.steps?.[0];
    const last = t?.steps?.[t.steps.length - 1];
    if (!first || !last) return undefined;
    const m = r.mainMetric;
    return `${r.trajectories.length} trajectories; #0 ${m} ${fmt(first.predicted?.[m])} → ${fmt(last.predicted?.[m])}, FLOPs ${fmt(first.flops)} → ${fmt(last.flops)} G`;
  },
  config: (c: any) => (c ? `${c.data?.dataset} · ${c.options?.iterations ?? c.editing?.iters ?? '?'} steps` : undefined),
});

// ---------- DenseNAS ----------
function opHistograms(records: any[], key: 'stackOpProbability' | 'headOpProbability', label: string): PlotSpec | undefined {
  const withOps = records.filter((r) => r && r[key] && typeof r[key] === 'object');
  if (withOps.length === 0) return undefined;
  const categories = [...new Set(withOps.flatMap((r) => Object.keys(r[key])))];
  return {
    id: `densenas:${key}`,
    title: `DenseNAS ${label} op probabilities per epoch`,
    type: 'bar',
    xLabel: 'op',
    yLabel: 'mean probability',
    categories,
    series: withOps.map((r) => ({ name: `epoch ${r.epoch}`, values: categories.map((c) => num(r[key][c]) ?? 0) })),
  };
}

registerMethod('densenas search', {
  plots(run) {
    const r = resultOf(run);
    const recs: any[] = Array.isArray(r.records) ? r.records : [];
    const plots: PlotSpec[] = [];
    for (const p of [opHistograms(recs, 'stackOpProbability', 'stack-layer'), opHistograms(recs, 'headOpProbability', 'head-layer')]) if (p) plots.push(p);
    if (recs.length) {
      const unit = r.costUnit ?? 'ms';
      const series: Series[] = [
        { name: `predicted by the table (${unit})`, points: points(recs.map((e) => [e.epoch, e.derivedCost])) },
        { name: 'expected cost of the super network', points: points(recs.map((e) => [e.epoch, e.expectedCost])) },
      ];
      const measured: Series | undefined = recs.some((e) => e.derivedLatency)
        ? { name: 'measured on this device (ms, median)', points: points(recs.map((e) => [e.epoch, e.derivedLatency?.median])) }
        : undefined;
      // a latency table's prediction and the measurement share an axis (ms); a FLOPs table's cost gets its own plot
      if (measured && unit === 'ms') series.push(measured);
      plots.push({ id: 'densenas:latency', title: `DenseNAS derived network: predicted ${unit === 'ms' ? 'vs measured latency' : 'cost'} per epoch`, type: 'line', xLabel: 'epoch', yLabel: unit, series });
      if (measured && unit !== 'ms') {
        plots.push({ id: 'densenas:measured', title: 'DenseNAS derived network: measured latency per epoch', type: 'line', xLabel: 'epoch', yLabel: 'ms per batch', series: [measured] });
      }
      plots.push({
        id: 'densenas:accuracy',
        title: 'DenseNAS search: accuracy per epoch',
        type: 'line',
        xLabel: 'epoch',
        yLabel: 'accuracy',
        series: [
          { name: 'train', points: points(recs.map((e) => [e.epoch, e.trainAccuracy])) },
          { name: 'validation', points: points(recs.map((e) => [e.epoch, e.valAccuracy])) },
        ],
      });
    }
    return plots;
  },
  headline(run) {
    const r = resultOf(run);
    const last = Array.isArray(r.records) ? r.records[r.records.length - 1] : undefined;
    if (!last) return undefined;
    return `${r.records.length} epoch(s); derived cost ${fmt(last.derivedCost)} ${r.costUnit ?? ''}${last.valAccuracy !== null && last.valAccuracy !== undefined ? `, validation accuracy ${fmt(100 * last.valAccuracy, 3)} %` : ''}`;
  },
  config: (c: any) => (c ? `${c.net_type ?? c.netType ?? 'densenas'} · ${c.train_params?.epochs ?? '?'} epochs · batch ${c.data?.batch_size ?? '?'}` : undefined),
});

registerMethod('densenas train', {
  plots(run) {
    const r = resultOf(run);
    const epochs: any[] = Array.isArray(r.epochs) ? r.epochs : [];
    const plots: PlotSpec[] = [];
    if (epochs.length) {
      plots.push({ id: 'densenas-train:loss', title: 'DenseNAS retraining: mean loss per epoch', type: 'line', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'loss', points: points(epochs.map((e) => [e.epoch, e.meanLoss])) }] });
      plots.push({ id: 'densenas-train:accuracy', title: 'DenseNAS retraining: train accuracy per epoch', type: 'line', xLabel: 'epoch', yLabel: 'accuracy', series: [{ name: 'train accuracy', points: points(epochs.map((e) => [e.epoch, e.trainAccuracy])) }] });
    }
    if (num(r.measuredLatencyMs) !== null) {
      plots.push({
        id: 'densenas-train:latency',
        title: 'DenseNAS derived network: predicted vs measured latency',
        type: 'bar',
        xLabel: '',
        yLabel: 'ms per batch',
        categories: ['predicted (search table)', 'measured (this device)'],
        series: [{ name: 'latency', values: [num(r.predictedCost) ?? 0, r.measuredLatencyMs] }],
      });
    }
    return plots;
  },
  headline: (run) => {
    const r = resultOf(run);
    return num(r.testAccuracy) === null ? undefined : `test accuracy ${fmt(100 * r.testAccuracy, 4)} %, ${fmt(r.measuredLatencyMs)} ms measured${num(r.predictedCost) !== null ? ` vs ${fmt(r.predictedCost)} predicted` : ''}`;
  },
  config: (c: any) => (c ? `${c.data} · ${c.epochs} epochs · batch ${c.batchSize} · lr ${c.lr}` : undefined),
});

// ---------- LUT ----------
registerMethod('lut build', {
  plots(run) {
    const r = resultOf(run);
    const entries: any[] = Array.isArray(r.lut?.entries) ? r.lut.entries : [];
    if (entries.length === 0) return [];
    const sorted = [...entries].sort((a, b) => (b.median ?? 0) - (a.median ?? 0));
    const byOp = new Map<string, number>();
    for (const e of entries) byOp.set(e.op, (byOp.get(e.op) ?? 0) + (num(e.median) ?? 0));
    return [
      {
        id: 'lut:entries',
        title: `LUT entries: median ms per batch (${entries.length}, slowest first)`,
        type: 'bar',
        xLabel: 'entry (op/C_in/C_out/stride/HxW)',
        yLabel: 'ms',
        categories: sorted.map((e) => `${e.op}/${e.cIn}/${e.cOut}/${e.stride}/${e.h}x${e.w}`),
        series: [{ name: 'median', values: sorted.map((e) => num(e.median) ?? 0) }],
      },
      { id: 'lut:ops', title: 'LUT: summed medians per op', type: 'bar', xLabel: 'op', yLabel: 'ms', categories: [...byOp.keys()], series: [{ name: 'sum of medians', values: [...byOp.values()] }] },
    ];
  },
  headline: (run) => {
    const r = resultOf(run);
    return num(r.entries) === null ? undefined : `${r.entries} entries (${r.measured} measured), total ${fmt(r.total)} ms per batch`;
  },
  config: (c: any) => (c?.lut ? `batch ${c.lut.batch} · ${c.lut.threads} thread(s) · ${c.lut.out ?? ''}` : undefined),
});

// ---------- NAR ----------
/**
 * NAR's runs (`nar train|search`): learning curves from the numeric progress fields (loss, τ per epoch: the generic
 * series), and predicted-vs-true scatters from `record` events of kind 'predicted-vs-true' ({ predicted: number[],
 * actual: number[], name?: string }) or a result field `predictedVsTrue` of the same shape.
 */
function narPlots(run: RunData): PlotSpec[] {
  const r = resultOf(run);
  const sets: any[] = [...(Array.isArray(r.predictedVsTrue) ? r.predictedVsTrue : r.predictedVsTrue ? [r.predictedVsTrue] : []), ...records(run, 'predicted-vs-true')];
  const plots: PlotSpec[] = [];
  const history: any[] = Array.isArray(r.history) ? r.history : [];
  if (history.length) {
    const keys = [...new Set(history.flatMap((h) => Object.keys(h ?? {}).filter((k) => k !== 'epoch' && num(h[k]) !== null)))];
    plots.push({ id: 'nar:history', title: 'NAR learning curves', type: 'line', xLabel: 'epoch', yLabel: 'value', series: keys.map((k) => ({ name: k, points: points(history.map((h) => [h.epoch, h[k]])) })) });
  }
  if (sets.length) {
    plots.push({
      id: 'nar:predicted-vs-true',
      title: 'NAR: predicted vs true',
      type: 'scatter',
      xLabel: 'true',
      yLabel: 'predicted',
      series: sets.map((s, i) => ({ name: s.name ?? `set ${i + 1}`, points: points((s.actual ?? []).map((a: unknown, k: number) => [a, s.predicted?.[k]])) })),
    });
  }
  return plots;
}
registerMethod('nar train', { plots: narPlots });
registerMethod('nar search', { plots: narPlots });
