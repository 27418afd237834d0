/**
 * Where a process's JavaScript thread spends its time, from a V8 `.cpuprofile` (`node --cpu-prof`):
 * self time grouped by what the code belongs to (the gateway's own files, each library, Node.js
 * internals, native calls, GC, idle), and the heaviest functions. Used by
 * bench/mqtt-ws-throughput.ts for issue 16 §5 ("say in the doc where the time goes").
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A readable group for a script URL. */
export function categoryOf(url: string, fn: string): string {
  if (!url) {
    if (fn === '(idle)') return 'idle (waiting in epoll)';
    if (fn === '(garbage collector)') return 'garbage collection';
    if (fn === '(program)') return 'V8/native, outside JS (program)';
    return `native: ${fn || 'anonymous'}`;
  }
  if (url.startsWith('node:')) {
    const mod = url.slice(5).replace(/^internal\//, '');
    if (/^(net|stream|streams\/|_stream|_http|http)/.test(mod)) return 'Node.js net/stream';
    if (/^(timers|process\/task_queues|async_hooks)/.test(mod)) return 'Node.js timers/ticks';
    if (/^buffer|^util|^encoding/.test(mod)) return 'Node.js buffer/util';
    return `Node.js ${mod.split('/')[0]}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return `library ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const src = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)/.exec(url);
  if (src) return `gateway ${src[1]!.replace(/\.js$/, '')}`;
  return 'other';
}

export interface ProfileSummary {
  totalMs: number;
  categories: Array<{ category: string; ms: number; percent: number }>;
  functions: Array<{ fn: string; where: string; ms: number; percent: number }>;
}

/**
 * `window`: only the samples between these monotonic-clock times (µs; `process.hrtime.bigint() / 1000n`
 * in any process of this machine — V8's profile clock is the same CLOCK_MONOTONIC).
 */
export function summariseProfile(file: string, top = 15, window?: { startUs: number; endUs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (window && (t < window.startUs || t > window.endUs)) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const cats = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const cat = categoryOf(url, functionName);
    cats.set(cat, (cats.get(cat) ?? 0) + us);
    const where = url ? `${url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const f = fns.get(key) ?? { fn: functionName || '(anonymous)', where, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    totalMs: Math.round(total / 1000),
    categories: [...cats].map(([category, us]) => ({ category, ms: Math.round(us / 1000), percent: pct(us) })).sort((a, b) => b.ms - a.ms),
    functions: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ fn: f.fn, where: f.where, ms: Math.round(f.us / 1000), percent: pct(f.us) })),
  };
}
