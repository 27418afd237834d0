import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Keeps docs/architecture.md honest: every import in src/ and web/src/ respects the layers
 * the page draws. Layers, bottom to top:
 *   0 wire     src/protocol/, src/contract/         pure: only each other and zod, no node:
 *   1 services every other folder of src/, and the root files but gateway.ts and index.ts
 *   2 adapters src/api/, src/metrics/                 services, never gateway.ts or cli/
 *   3 wiring   src/gateway.ts, src/index.ts          anything but cli/
 *   4 binaries src/cli/                              anything (and the emulator, for the demo)
 * An import may go down or stay level, never up. The web UI (web/src/) may import from src/
 * only the wire layer and the one shared MQTT topic matcher (src/mqtt/topic-filter.ts).
 */

const ROOT = resolve(import.meta.dirname, '../..');

type Layer = 'wire' | 'services' | 'adapters' | 'wiring' | 'binaries' | 'web';
const RANK: Record<Exclude<Layer, 'web'>, number> = { wire: 0, services: 1, adapters: 2, wiring: 3, binaries: 4 };

/** The layer of a file, by its path relative to the repository. */
export function layerOf(file: string): Layer | null {
  if (file.startsWith('web/src/')) return 'web';
  if (!file.startsWith('src/')) return null;
  const inSrc = file.slice('src/'.length);
  const top = inSrc.split('/')[0]!;
  if (top === 'protocol' || top === 'contract') return 'wire';
  if (top === 'api' || top === 'metrics') return 'adapters';
  if (top === 'cli') return 'binaries';
  if (inSrc === 'gateway.ts' || inSrc === 'index.ts') return 'wiring';
  return 'services';
}

/** Web files may reach into src/ for these only. */
const WEB_MAY_IMPORT = [/^src\/contract\//, /^src\/protocol\//, /^src\/mqtt\/topic-filter\.ts$/];

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...filesUnder(path));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every `import … from '…'` and `export … from '…'` specifier, and dynamic `import('…')`. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gms)) out.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** The repository path an import points at (.js → .ts as TypeScript resolves it), or the package name. */
function target(from: string, spec: string): { file: string } | { pkg: string } {
  if (!spec.startsWith('.')) return { pkg: spec };
  const abs = resolve(ROOT, dirname(from), spec);
  let file = relative(ROOT, abs).replace(/\\/g, '/');
  if (file.endsWith('.js')) file = file.slice(0, -3) + '.ts';
  else if (!/\.tsx?$/.test(file)) file += file.startsWith('web/') && !/\.(css|json)$/.test(file) ? '.ts' : '';
  return { file };
}

/** Why `from` may not import `spec`, or null when it may. */
export function violation(from: string, spec: string): string | null {
  const layer = layerOf(from);
  if (!layer) return null;
  const t = target(from, spec);
  if (layer === 'web') {
    if ('pkg' in t) return null;
    if (t.file.startsWith('web/')) return null;
    const file = t.file.replace(/\.tsx?$/, '.ts');
    return WEB_MAY_IMPORT.some((re) => re.test(file)) ? null : `the web UI may import from src/ only the contract, the protocol and src/mqtt/topic-filter.ts`;
  }
  if (layer === 'wire') {
    if ('pkg' in t) return t.pkg === 'zod' ? null : `the wire layer is pure: no "${t.pkg}" (only zod)`;
    return layerOf(t.file) === 'wire' ? null : `the wire layer imports nothing above it`;
  }
  if ('pkg' in t) return null;
  const to = layerOf(t.file);
  // The demo binary runs emulated nodes next to the gateway.
  if (layer === 'binaries' && t.file.startsWith('emulator/')) return null;
  if (!to || to === 'web') return `src/ never imports ${t.file}`;
  return RANK[to] > RANK[layer] ? `a ${layer} file imports the ${to} layer (${t.file}): an import goes down, never up` : null;
}

describe('import layers (docs/architecture.md, issue 11 §9)', () => {
  const files = [...filesUnder('src'), ...filesUnder('web/src')];

  it('no file imports across the layers the page forbids', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
        const why = violation(file, spec);
        if (why) problems.push(`${file}: import '${spec}' — ${why}`);
      }
    }
    assert.deepEqual(problems, [], `imports across layers:\n${problems.join('\n')}`);
  });

  it('catches a back-up import: a service reaching up into an adapter, the wire layer into a service', () => {
    assert.match(violation('src/cluster/cluster-manager.ts', '../api/ws-hub.js') ?? '', /services file imports the adapters layer/);
    assert.match(violation('src/pipeline/pipeline-service.ts', '../gateway.js') ?? '', /imports the wiring layer/);
    assert.match(violation('src/api/http-server.ts', '../cli/parse-flags.js') ?? '', /imports the binaries layer/);
    assert.match(violation('src/contract/nodes.ts', '../cluster/node-registry.js') ?? '', /wire layer imports nothing above it/);
    assert.match(violation('src/protocol/datagram.ts', 'node:dgram') ?? '', /wire layer is pure/);
    assert.match(violation('web/src/lib/cluster.ts', '../../../src/cluster/nodes-view.js') ?? '', /web UI may import/);
    assert.equal(violation('src/api/routes/node-routes.ts', '../../cluster/node-access.js'), null);
    assert.equal(violation('web/src/lib/live.ts', '../../../src/contract/firmware'), null);
  });

  it('reads the whole tree (the walk found the layers)', () => {
    const layers = new Set(files.map(layerOf));
    for (const l of ['wire', 'services', 'adapters', 'wiring', 'binaries', 'web'] as const) assert.ok(layers.has(l), `found ${l} files`);
  });
});
