import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlotType from 'uplot';

export interface ChartSeries {
  label: string;
  color: string;
  values: Array<number | null>;
}

export interface ChartProps {
  title: string;
  unit: string;
  /** x values, seconds since the epoch, ascending */
  x: number[];
  series: ChartSeries[];
  /** changes when the data changes */
  version: unknown;
  height?: number;
}

/**
 * A time-series chart (uPlot, loaded on first use so the Cluster page does
 * not ship it). Data updates go through setData: no re-creation per sample.
 */
export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlotType | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const seriesKey = props.series.map((s) => s.label).join('|');

  useEffect(() => {
    let disposed = false;
    let ro: ResizeObserver | undefined;
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')])
      .then(([{ default: uPlot }]) => {
        if (disposed || !host.current) return;
        const el = host.current;
        const axisColor = getComputedStyle(el).getPropertyValue('--muted').trim() || '#888';
        const gridColor = getComputedStyle(el).getPropertyValue('--grid').trim() || 'rgba(128,128,128,0.2)';
        const axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } };
        plot.current = new uPlot(
          {
            width: Math.max(200, el.clientWidth),
            height: props.height ?? 180,
            legend: { show: true },
            cursor: { drag: { x: false, y: false } },
            scales: { x: { time: true } },
            axes: [axis, { ...axis, label: props.unit, size: 60 }],
            series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true, points: { show: false } }))],
          },
          [props.x, ...props.series.map((s) => s.values)] as uPlotType.AlignedData,
          el,
        );
        ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 180 }));
        ro.observe(el);
      })
      .catch((err: unknown) => setFailed(String(err)));
    return () => {
      disposed = true;
      ro?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [seriesKey]);

  useEffect(() => {
    plot.current?.setData([props.x, ...props.series.map((s) => s.values)] as uPlotType.AlignedData);
  }, [props.version]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      {failed ? <p class="muted">Chart unavailable: {failed}</p> : null}
      {/* No data: no axis with made-up dates, a sentence instead. */}
      <div ref={host} class={props.x.length === 0 ? 'chart-host chart-host-empty' : 'chart-host'} role="img" aria-label={`${props.title} chart`} />
      {props.x.length === 0 ? <p class="muted chart-empty" data-testid="chart-empty">No samples in this range yet — they arrive every few seconds.</p> : null}
    </figure>
  );
}
