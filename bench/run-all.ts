/**
 * `npm run bench`: runs every bench/*.ts that exports `run()` (or the ones named
 * on the command line), prints each summary and writes bench/results/<name>.json.
 * Needs a build (`npm run build`; `npm ci` does it).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

const only = process.argv.slice(2);
const dir = new URL('.', import.meta.url).pathname;
const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && f !== 'run-all.ts' && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
await mkdir(join(dir, 'results'), { recursive: true });
let failed = 0;
for (const file of files) {
  const name = basename(file, '.ts');
  const mod = (await import(join(dir, file))) as { run?: () => Promise<unknown> };
  if (typeof mod.run !== 'function') continue;
  console.log(`\n=== ${name} ===`);
  try {
    const summary = await mod.run();
    console.log(JSON.stringify(summary, null, 2));
    await writeFile(join(dir, 'results', `${name}.json`), JSON.stringify({ at: new Date().toISOString(), summary }, null, 2));
  } catch (err) {
    failed++;
    console.error(`${name} failed: ${(err as Error).stack ?? String(err)}`);
  }
}
process.exit(failed ? 1 : 0);
