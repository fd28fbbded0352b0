/** trajectory.svg: the predicted main metric per step, and against FLOPs (plus the Pareto sweep's ends). */
import { renderChart, Series, stackCharts } from '../../report/svg';
import type { PropagateResult } from './propagate';

function label(result: PropagateResult, i: number): string {
  const t = result.trajectories[i];
  const weights = Object.entries(t.weights)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return result.trajectories.length === 1 ? `rounded code (${weights})` : `#${i} ${weights}`;
}

export function trajectoryChart(result: PropagateResult): string {
  const main = result.mainMetric;
  const overSteps: Series[] = result.trajectories.flatMap((t, i) => [
    { name: `${label(result, i)}`, points: t.steps.map((s) => [s.step, s.predictedRounded[main]] as [number, number]) },
    ...(result.trajectories.length === 1
      ? [{ name: 'continuous code', points: t.steps.map((s) => [s.step, s.predicted[main]] as [number, number]) }]
      : []),
  ]);
  const overFlops: Series[] = result.trajectories.map((t, i) => ({
    name: label(result, i),
    style: 'points' as const,
    points: t.steps.map((s) => [s.flops, s.predictedRounded[main]] as [number, number]),
  }));
  const charts = [
    renderChart(overSteps, { title: `NCP on ${result.dataset}: predicted ${main} per step`, xLabel: 'step', yLabel: `predicted ${main}` }),
    renderChart(overFlops, {
      title: `predicted ${main} vs FLOPs of the rounded code`,
      xLabel: 'FLOPs (G, table convention: cls head, 50 classes, 128×128)',
      yLabel: `predicted ${main}`,
    }),
  ];
  if (result.pareto) {
    const front = result.pareto.filter((p) => p.onFront).sort((a, b) => a.flops - b.flops);
    charts.push(
      renderChart(
        [
          { name: 'end of each swept weight', style: 'points', points: result.pareto.map((p) => [p.flops, p.predictedMain] as [number, number]) },
          { name: 'Pareto front', points: front.map((p) => [p.flops, p.predictedMain] as [number, number]) },
        ],
        { title: `Pareto sweep over the FLOPs weight`, xLabel: 'FLOPs (G)', yLabel: `predicted ${main}` },
      ),
    );
  }
  return stackCharts(charts);
}
