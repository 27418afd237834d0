/**
 * The one result format of every benchmark (issue 16 §6).
 *
 * A benchmark is a `bench/<name>.ts` exporting `run(): Promise<BenchReport>`. `bench/run-all.ts`
 * wraps the report into `bench/results/<name>.json` (a `BenchResultFile`: when, how long, load
 * average before and after, the machine, every tool version), then `bench/render-doc.ts`
 * regenerates `docs/benchmarks.md` and `bench/results/summary.json` from all stored result files —
 * so the document can only say what was measured. Nothing in a report is typed by hand except
 * `method` (how it is measured, in words) and the labels.
 */

/** A goal on one figure: `ours` itself, or the ratio ours ÷ peer, compared with `value`. */
export interface Goal {
  of: 'ours' | 'ratio';
  op: '>=' | '<=';
  value: number;
}

/** One figure of the summary table. */
export interface Figure {
  /** Stable id, `area.what` (e.g. `udp.knee`); the summary is keyed by it. */
  id: string;
  label: string;
  unit: string;
  ours: number | null;
  peer?: number | null;
  peerName?: string;
  /** ours ÷ peer; computed when omitted and both are numbers. */
  ratio?: number | null;
  goal?: Goal;
  /** Computed from `goal` by `finishFigure`; null when a figure is missing. */
  met?: boolean | null;
  note?: string;
}

export interface Table {
  title?: string;
  columns: string[];
  rows: Array<Array<string | number | null | undefined>>;
}

export interface BenchReport {
  /** The section heading in docs/benchmarks.md. */
  title: string;
  /** How it is measured (markdown). No figures here: they come from `figures`, `tables`, `notes`. */
  method: string;
  figures: Figure[];
  tables?: Table[];
  /** Markdown paragraphs built in code from the measured values. */
  notes?: string[];
  /** Versions of every tool/peer this benchmark used (mosquitto, chromium, node-red…). */
  versions?: Record<string, string>;
  /** What was actually run (quick mode, durations, trials, rates). */
  params?: Record<string, unknown>;
  /** Everything measured, for whoever wants to look closer. */
  raw?: unknown;
}

export interface BenchResultFile {
  schema: 1;
  name: string;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  ok: boolean;
  error?: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; os: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  versions: Record<string, string>;
  report: BenchReport | null;
}

export const round = (n: number, digits = 2): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);

export function checkGoal(goal: Goal | undefined, ours: number | null | undefined, ratio: number | null | undefined): boolean | null {
  if (!goal) return null;
  const v = goal.of === 'ours' ? ours : ratio;
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  return goal.op === '>=' ? v >= goal.value : v <= goal.value;
}

/** Fills in ratio and met. */
export function finishFigure(f: Figure): Figure {
  const ratio = f.ratio !== undefined ? f.ratio : typeof f.ours === 'number' && typeof f.peer === 'number' && f.peer !== 0 ? round(f.ours / f.peer, 2) : null;
  return { ...f, ratio, met: checkGoal(f.goal, f.ours, ratio) };
}

export function goalText(goal: Goal | undefined, unit = ''): string {
  if (!goal) return '';
  const op = goal.op === '>=' ? '≥' : '≤';
  return goal.of === 'ratio' ? `ratio ${op} ${goal.value}` : `${op} ${fmt(goal.value)}${unit ? ` ${unit}` : ''}`;
}

/** Numbers as the doc prints them: thousands separated, at most 3 significant decimals. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '—';
    const abs = Math.abs(v);
    const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
    return v.toLocaleString('en-US', { maximumFractionDigits: digits });
  }
  return String(v);
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? s[0]!;
}

export const median = (xs: number[]): number => percentile(xs, 50);

/** BENCH_QUICK=1 (or a bench's own *_QUICK=1): shorter runs; every report says so in `params`. */
export const QUICK = process.env.BENCH_QUICK === '1';
