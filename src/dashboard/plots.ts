/**
 * What the page draws: plot specs computed here from a run's result.json and events.jsonl, drawn by one generic
 * page. A method registers its plots (and a headline and a config summary) with {@link registerMethod}; a run of a
 * method with no registration still lists, and shows its numeric progress series.
 */
import type { ProgressEvent, RunEvent } from '../report/events';
import type { RunData, RunSummary } from './runs';

export interface Series {
  name: string;
  /** Points of a line or scatter plot. */
  points?: [number, number][];
  /** Bar heights, one per category of the plot. */
  values?: number[];
}

export interface PlotSpec {
  /** Stable within a method (the overlay merges plots of the same id). */
  id: string;
  title: string;
  type: 'line' | 'scatter' | 'bar';
  xLabel: string;
  yLabel: string;
  /** Bar plots: the x categories. */
  categories?: string[];
  series: Series[];
}

export interface MethodView {
  plots(run: RunData): PlotSpec[];
  /** One line: the run's result at a glance. */
  headline?(run: RunData): string | undefined;
  /** One line: what the run was configured with. */
  config?(config: unknown): string | undefined;
  /** Progress fields whose generic series the method's own plots already show. */
  hideEventSeries?: string[];
}

const registry = new Map<string, MethodView>();

/** Registers a method's views under its envelope `method` name (e.g. 'tenas search'). */
export function registerMethod(method: string, view: MethodView): void {
  registry.set(method, view);
}

export function progressEvents(run: RunData): ProgressEvent[] {
  return run.events.filter((e): e is ProgressEvent => e.type === 'progress');
}

/** Every numeric progress field as a series over the step count (`done`), one plot per field. */
export function eventSeriesPlots(events: RunEvent[]): PlotSpec[] {
  const byField = new Map<string, [number, number][]>();
  for (const e of events) {
    if (e.type !== 'progress') continue;
    for (const [key, value] of Object.entries(e.fields ?? {})) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      let points = byField.get(key);
      if (!points) byField.set(key, (points = []));
      points.push([e.done, value]);
    }
  }
  return [...byField].map(([field, points]) => {
    const shown = thin(points, MAX_EVENT_POINTS);
    return {
      id: `events:${field}`,
      title: `${field} (progress events${shown.length < points.length ? `, ${shown.length} of ${points.length} shown` : ''})`,
      type: 'line' as const,
      xLabel: 'step',
      yLabel: field,
      series: [{ name: field, points: shown }],
    };
  });
}

/** A long run's per-step series is thinned to this many points (a browser draws them all on every update). */
export const MAX_EVENT_POINTS = 2000;

/** Every k-th point, k the smallest stride that fits `max`, and always the last (the latest value stays visible). */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / (max - 1));
  const kept = points.filter((_p, i) => i % stride === 0);
  if ((points.length - 1) % stride !== 0) kept.push(points[points.length - 1]);
  return kept;
}

/** The run's plots: its method's, then its numeric progress series. */
export function plotsOf(run: RunData): PlotSpec[] {
  const view = registry.get(run.method);
  let own: PlotSpec[] = [];
  if (view) {
    try {
      own = view.plots(run);
    } catch {
      // a partial or older result.json the view does not understand: the generic series still show
      own = [];
    }
  }
  const hidden = new Set((view?.hideEventSeries ?? []).map((field) => `events:${field}`));
  return [...own, ...eventSeriesPlots(run.events).filter((p) => !hidden.has(p.id))];
}

/** Runs of one method overlaid: each plot id once, each run's series prefixed with its id. */
export function overlayPlots(runs: RunData[]): PlotSpec[] {
  const merged = new Map<string, PlotSpec>();
  for (const run of runs) {
    for (const plot of plotsOf(run)) {
      let target = merged.get(plot.id);
      if (!target) merged.set(plot.id, (target = { ...plot, title: `${plot.title} — ${runs.length} runs`, series: [] }));
      if (plot.type === 'bar' && target.categories && plot.categories && plot.categories.join() !== target.categories.join()) continue;
      for (const s of plot.series) target.series.push({ ...s, name: `${run.id}: ${s.name}` });
    }
  }
  return [...merged.values()];
}

function compactJson(value: unknown, limit = 90): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > limit ? text.slice(0, limit - 1) + '…' : text;
}

function formatField(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

/** The list row of a run. */
export function summarize(run: RunData): RunSummary {
  const view = registry.get(run.method);
  const start = [...run.events].reverse().find((e) => e.type === 'start');
  const config = run.envelope?.config ?? (start?.type === 'start' ? start.config : null);
  const progress = progressEvents(run);
  const last = progress[progress.length - 1];
  let headline: string | undefined;
  try {
    headline = view?.headline?.(run);
  } catch {
    headline = undefined;
  }
  if (!headline && last) {
    headline = `${last.done}/${last.total} ` + Object.entries(last.fields ?? {}).map(([k, v]) => `${k}=${formatField(v)}`).join(' ');
  }
  let configText: string | undefined;
  try {
    configText = view?.config?.(config);
  } catch {
    configText = undefined;
  }
  const startedAt = run.envelope?.startedAt ?? (start ? start.time : null);
  const running = run.status === 'running';
  return {
    id: run.id,
    method: run.method,
    config: configText ?? (config === null || config === undefined ? '' : compactJson(config)),
    seed: run.envelope?.seed ?? (start?.type === 'start' ? start.seed : null),
    status: run.status,
    startedAt,
    // a running run's wall time counts to now; a stopped one's to its last event
    wallSeconds: running && start ? (Date.now() - Date.parse(start.time)) / 1000 : !run.envelope ? (last ? last.t - (start?.t ?? 0) : null) : run.envelope.wallSeconds,
    headline: headline ?? '',
    events: progress.length,
  };
}
