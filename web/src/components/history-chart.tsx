import { ApiError } from '../lib/api';
import { useApi } from '../lib/use-api';
import { Chart } from './chart';

/** Ranges the history charts offer (issue 15 §4). */
export const RANGES = [
  { key: '1h', ms: 3_600_000 },
  { key: '24h', ms: 86_400_000 },
  { key: '7d', ms: 7 * 86_400_000 },
  { key: '30d', ms: 30 * 86_400_000 },
] as const;
export type RangeKey = (typeof RANGES)[number]['key'];

interface HistorySeries {
  name: string;
  unit: string | null;
  t: number[];
  avg: number[];
}

export interface HistoryChartProps {
  title: string;
  unit: string;
  /** Gateway series names (`nodes/<hostname>/freeHeap`) with their legend labels and colours. */
  series: Array<{ name: string; label: string; color: string }>;
  range: RangeKey;
  /** Live samples since the page opened (seconds, values per series in the same order), appended after the stored history. */
  live?: { t: number[]; values: Array<Array<number | null>>; version: unknown };
}

/**
 * A chart of stored history (GET /api/history) for the chosen range, with the
 * page's live samples appended; an empty state instead of a meaningless axis.
 */
/** One x axis for all series: the union of their times (seconds, as uPlot wants), a column of values per series. */
function alignSeries(series: HistorySeries[]): { t: number[]; values: Array<Array<number | null>> } {
  const times = [...new Set(series.flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const values = series.map((s) => {
    const col: Array<number | null> = new Array(times.length).fill(null);
    s.t.forEach((t, i) => (col[index.get(t)!] = s.avg[i]!));
    return col;
  });
  return { t: times.map((t) => t / 1000), values };
}

export function HistoryChart(props: HistoryChartProps) {
  const names = props.series.map((s) => s.name).join(',');
  const ms = RANGES.find((r) => r.key === props.range)!.ms;
  // The window moves with the clock: the path is built at each read. Longer ranges refresh now and
  // then; the last hour also gets the live samples.
  const { data, error } = useApi(() => `/api/history?series=${encodeURIComponent(names)}&from=${Date.now() - ms}`, {
    deps: [names, props.range],
    everyMs: props.range === '1h' ? 60_000 : 5 * 60_000,
    map: (body) => alignSeries((body as { series: HistorySeries[] }).series),
  });
  const note = error instanceof ApiError && error.notEnabled ? 'History is switched off on this gateway.' : null;

  let t = data?.t ?? [];
  let values = data?.values ?? props.series.map(() => []);
  if (props.live && props.range === '1h') {
    const last = t.length ? t[t.length - 1]! : 0;
    const from = props.live.t.findIndex((x) => x > last);
    if (from >= 0) {
      t = [...t, ...props.live.t.slice(from)];
      values = values.map((col, i) => [...col, ...(props.live!.values[i] ?? []).slice(from)]);
    }
  }
  return (
    <>
      <Chart title={props.title} unit={props.unit} x={t} version={`${props.range}:${t.length}:${String(props.live?.version ?? '')}`} series={props.series.map((s, i) => ({ label: s.label, color: s.color, values: values[i] ?? [] }))} />
      {note ? <p class="muted small-print">{note}</p> : null}
    </>
  );
}

export function RangePicker({ value, onChange }: { value: RangeKey; onChange: (r: RangeKey) => void }) {
  return (
    <div class="range-picker" role="group" aria-label="Time range">
      {RANGES.map((r) => (
        <button type="button" key={r.key} class="small" aria-pressed={value === r.key} onClick={() => onChange(r.key)} data-range={r.key}>
          {r.key}
        </button>
      ))}
    </div>
  );
}
