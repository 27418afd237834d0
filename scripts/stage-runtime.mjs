#!/usr/bin/env node
// Makes the runtime file layout of the container image from a built checkout:
//   node scripts/stage-runtime.mjs <dest>
// The Dockerfile's build stage runs exactly this, and its runtime stage copies <dest> as /app;
// test/packaging/image-layout.test.ts runs it too, so the layout it starts is the image's.
//  1. package.json + package-lock.json, then `npm ci --omit=dev --ignore-scripts`: production
//     dependencies only, at the locked versions (no `prepare` build: there is no TypeScript here);
//  2. native addons (packages allowed to run install scripts in package.json's allowScripts,
//     i.e. better-sqlite3) are taken from the build's own node_modules when the version matches —
//     compiled once, in the build stage, for the same Node — else rebuilt here;
//  3. dist/ (the compiled gateway, emulator and web UI) and README.md.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dest = process.argv[2];
if (!dest) {
  console.error('usage: node scripts/stage-runtime.mjs <destination directory>');
  process.exit(2);
}
const src = process.cwd();
const app = resolve(dest);
if (!existsSync(join(src, 'dist/src/cli/gateway-main.js'))) {
  console.error('stage-runtime: dist/ is missing; run `npm run build` (or `npm ci`) first');
  process.exit(2);
}
mkdirSync(app, { recursive: true });
for (const file of ['package.json', 'package-lock.json']) cpSync(join(src, file), join(app, file));

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// --prefer-offline: a warm npm cache (CI, a developer's machine) makes this a copy.
execFileSync(npm, ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, stdio: 'inherit' });

const version = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
const allowed = Object.entries(JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')).allowScripts ?? {}).filter(([, on]) => on === true).map(([name]) => name);
for (const name of allowed) {
  const to = join(app, 'node_modules', name);
  if (!existsSync(to)) continue; // a dev-only package (esbuild)
  const from = join(src, 'node_modules', name);
  if (existsSync(join(from, 'build')) && version(from) === version(to)) {
    // Only the compiled addons: the object files and the bundled SQLite archive are build debris.
    const release = join(from, 'build', 'Release');
    mkdirSync(join(to, 'build', 'Release'), { recursive: true });
    for (const f of readdirSync(release)) if (f.endsWith('.node')) cpSync(join(release, f), join(to, 'build', 'Release', f));
  } else {
    execFileSync(npm, ['rebuild', name, '--loglevel=error'], { cwd: app, stdio: 'inherit' });
  }
}
cpSync(join(src, 'dist'), join(app, 'dist'), { recursive: true });
cpSync(join(src, 'README.md'), join(app, 'README.md'));

// npm's hidden lockfile lists exactly what `npm ci` installed.
const count = Object.keys(JSON.parse(readFileSync(join(app, 'node_modules', '.package-lock.json'), 'utf8')).packages).length;
const size = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true }).reduce((n, e) => (e.isFile() ? n + statSync(join(e.parentPath, e.name)).size : n), 0);
console.log(`stage-runtime: ${app}: ${count} production packages, ${(size(app) / 1e6).toFixed(1)} MB`);
