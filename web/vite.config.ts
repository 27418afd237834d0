/**
 * Vite configuration of the web UI (issue 5). `npm run build:web` writes the
 * app into dist/web, which the gateway serves at `/`; `npm run dev:web` runs
 * it with hot reload, proxying /api and /ws to a running gateway (env GATEWAY,
 * default http://localhost:3001).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/web', import.meta.url));
const gateway = process.env.GATEWAY ?? 'http://localhost:3001';

/** Files smaller than this are not worth a .gz twin, bytes. */
const GZIP_MIN_BYTES = 1024;

/**
 * Writes a `.gz` twin of every text asset after the build, so the gateway
 * (@fastify/static `preCompressed`) serves compressed files without
 * compressing on every request.
 */
function precompress(): Plugin {
  return {
    name: 'spore-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          return statSync(path).isDirectory() ? walk(path) : [path];
        });
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(file)) continue;
        const raw = readFileSync(file);
        if (raw.length < GZIP_MIN_BYTES) continue;
        writeFileSync(`${file}.gz`, gzipSync(raw, { level: zlib.Z_BEST_COMPRESSION }));
      }
    },
  };
}

export default defineConfig({
  root: webDir,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [precompress()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    // Hashed file names under assets/ are cached forever by the gateway.
    assetsDir: 'assets',
  },
  server: {
    port: Number(process.env.WEB_PORT ?? 5173),
    proxy: {
      '/api': { target: gateway, changeOrigin: true },
      '/ws': { target: gateway.replace(/^http/, 'ws'), ws: true, changeOrigin: true },
    },
  },
});
