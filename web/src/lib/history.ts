/**
 * Free heap and latency samples per node over the last minutes, for the Node
 * page's charts. Fed by every cluster/update (all nodes) and by the Node
 * page's own polls. Bounded: at most HISTORY_MS of samples, at most
 * MAX_SAMPLES per node.
 */
export const HISTORY_MS = 15 * 60_000; // ms
const MAX_SAMPLES = 1200;

export interface Series {
  t: number[]; // seconds since the epoch (uPlot's x unit)
  heap: Array<number | null>;
  latency: Array<number | null>;
  roundTrip: Array<number | null>;
}

const byIp = new Map<string, Series>();
const listeners = new Set<(ip: string) => void>();

export function seriesOf(ip: string): Series {
  let s = byIp.get(ip);
  if (!s) byIp.set(ip, (s = { t: [], heap: [], latency: [], roundTrip: [] }));
  return s;
}

export function addSample(ip: string, atMs: number, sample: { heap?: number | null; latency?: number | null; roundTrip?: number | null }): void {
  const s = seriesOf(ip);
  const t = atMs / 1000;
  // Keep x sorted (uPlot requires it); a late sample is dropped.
  if (s.t.length && t < s.t[s.t.length - 1]!) return;
  s.t.push(t);
  s.heap.push(sample.heap ?? null);
  s.latency.push(sample.latency ?? null);
  s.roundTrip.push(sample.roundTrip ?? null);
  const cutoff = t - HISTORY_MS / 1000;
  let drop = 0;
  while (drop < s.t.length && s.t[drop]! < cutoff) drop++;
  drop = Math.max(drop, s.t.length - MAX_SAMPLES);
  if (drop > 0) {
    s.t.splice(0, drop);
    s.heap.splice(0, drop);
    s.latency.splice(0, drop);
    s.roundTrip.splice(0, drop);
  }
  for (const l of listeners) l(ip);
}

export function forgetNode(ip: string): void {
  byIp.delete(ip);
}

export function onSample(listener: (ip: string) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
