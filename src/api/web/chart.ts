/**
 * The percent of a record over its period, against the target and at-risk lines (uPlot, bundled):
 * the x axis is the whole period, so the line shows how far into it the record is.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartInput {
  start: number;
  end: number;
  points: [number, number | null][];
  target: number;
  atRisk: number | null;
  label: string;
}

function dataOf(c: ChartInput): uPlot.AlignedData {
  const xs = [c.start / 1000, ...c.points.map((p) => p[0] / 1000), c.end / 1000];
  const ys = [null, ...c.points.map((p) => p[1]), null];
  const target = xs.map(() => c.target);
  const atRisk = xs.map(() => c.atRisk);
  return c.atRisk === null ? [xs, ys, target] : [xs, ys, target, atRisk];
}

function yRange(c: ChartInput): [number, number] {
  const values = c.points.map((p) => p[1]).filter((v): v is number => v !== null);
  const lo = Math.min(c.target, c.atRisk ?? c.target, ...values);
  return [Math.max(0, Math.floor(lo - 1)), 100];
}

export class PercentChart {
  private plot: uPlot;
  private input: ChartInput;

  constructor(el: HTMLElement, input: ChartInput) {
    this.input = input;
    const series: uPlot.Series[] = [
      {},
      { label: input.label, stroke: '#1f4e9c', width: 2, spanGaps: true, points: { show: input.points.length < 3 }, value: (_u, v) => (v === null ? '—' : `${v.toFixed(3)} %`) },
      { label: 'Target', stroke: '#1b7f3b', dash: [6, 4], width: 1.5, points: { show: false }, value: () => `${input.target} %` },
    ];
    if (input.atRisk !== null) series.push({ label: 'At risk', stroke: '#a05a00', dash: [2, 3], width: 1.5, points: { show: false }, value: () => `${input.atRisk} %` });
    this.plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth || 600),
        height: 260,
        series,
        scales: { x: { time: true, range: () => [this.input.start / 1000, this.input.end / 1000] }, y: { range: () => yRange(this.input) } },
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => `${t} %`), size: 60 }],
        legend: { live: true },
      },
      dataOf(input),
      el,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(280, el.clientWidth), height: 260 })).observe(el);
  }

  update(input: ChartInput): void {
    this.input = input;
    this.plot.setData(dataOf(input));
  }
}

/** A small trend line (no axes) for the overview: the percent of the last periods. */
export function sparkline(values: (number | null)[], target: number): string {
  const w = 120;
  const h = 32;
  const vs = values.filter((v): v is number => v !== null);
  if (!vs.length) return '';
  const lo = Math.min(target, ...vs) - 0.5;
  const hi = 100;
  const x = (i: number) => (values.length === 1 ? w / 2 : (i / (values.length - 1)) * (w - 6) + 3);
  const y = (v: number) => h - 3 - ((v - lo) / (hi - lo)) * (h - 6);
  const path = values
    .map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
    .filter(Boolean)
    .join(' ');
  // The latest period as a dot (with one period so far it is all there is to see).
  const last = values.length - 1 - [...values].reverse().findIndex((v) => v !== null);
  const dot = `<circle cx="${x(last).toFixed(1)}" cy="${y(values[last]!).toFixed(1)}" r="2.5" class="spark-dot"/>`;
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" aria-hidden="true" focusable="false"><line x1="0" x2="${w}" y1="${y(target).toFixed(1)}" y2="${y(target).toFixed(1)}" class="spark-target"/><polyline points="${path}" class="spark-line"/>${dot}</svg>`;
}
