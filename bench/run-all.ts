/**
 * `npm run bench`: runs every bench/*.ts that exports `run()` (or only those whose file name
 * contains one of the words on the command line: `npm run bench -- failover`), writes each
 * result to bench/results/<name>.json (bench/lib/report.ts: BenchResultFile — load average
 * before and after, machine, every tool version), then regenerates docs/benchmarks.md and
 * bench/results/summary.json from every stored result (bench/render-doc.ts), so a run of one
 * benchmark keeps the others' figures, and prints the summary table.
 * `BENCH_QUICK=1` shortens the long runs (each report says what was run).
 * Needs a build (`npm run build`; `npm ci` does it).
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { basename, join } from 'node:path';
import { renderAll } from './render-doc.js';
import { round, type BenchReport, type BenchResultFile } from './lib/report.js';
import { toolVersions } from './lib/versions.js';

const only = process.argv.slice(2);
/** BENCH_SKIP=failover,web-ui: leave these out (their stored results stay in the doc). */
const skip = (process.env.BENCH_SKIP ?? '').split(',').filter(Boolean);
const dir = new URL('.', import.meta.url).pathname;
const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && f !== 'run-all.ts' && f !== 'render-doc.ts' && (only.length === 0 || only.some((o) => f.includes(o))) && !skip.some((o) => f.includes(o))).sort();
await mkdir(join(dir, 'results'), { recursive: true });
let failed = 0;
const load = () => loadavg().map((l) => round(l, 2));
for (const file of files) {
  const name = basename(file, '.ts');
  const mod = (await import(join(dir, file))) as { run?: () => Promise<BenchReport> };
  if (typeof mod.run !== 'function') continue;
  console.log(`\n=== ${name} ===`);
  const startedAt = new Date();
  const loadAverageBefore = load();
  let report: BenchReport | null = null;
  let error: string | undefined;
  try {
    const returned = (await mod.run()) as BenchReport | Record<string, unknown>;
    // A benchmark not yet on the BenchReport format: its figures are kept as raw JSON only.
    report = Array.isArray((returned as BenchReport).figures) && typeof (returned as BenchReport).title === 'string' ? (returned as BenchReport) : { title: name, method: `\`bench/${name}.ts\` does not return a BenchReport yet (bench/lib/report.ts): its result is only in \`bench/results/${name}.json\`.`, figures: [], raw: returned };
    console.log(JSON.stringify({ figures: report.figures, params: report.params }, null, 2));
  } catch (err) {
    failed++;
    error = (err as Error).stack ?? String(err);
    console.error(`${name} failed: ${error}`);
  }
  const finishedAt = new Date();
  const result: BenchResultFile = {
    schema: 1,
    name,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSec: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    ok: !error,
    ...(error ? { error } : {}),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: round(totalmem() / 2 ** 30, 1), os: `${type()} ${release()}`, loadAverageBefore, loadAverageAfter: load() },
    versions: { ...toolVersions(), ...(report?.versions ?? {}) },
    report,
  };
  // A failed run does not overwrite the last good result of that benchmark.
  await writeFile(join(dir, 'results', error ? `${name}.failed.json` : `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  if (!error) await rm(join(dir, 'results', `${name}.failed.json`), { force: true });
}
const { table } = await renderAll();
console.log(`\n${table}`);
process.exit(failed ? 1 : 0);
