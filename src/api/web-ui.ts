import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { InnerApp, sendAnswer } from './inner-app.js';

/** Vite puts content-hashed files here; they never change, so browsers keep them for a year. */
const HASHED_PREFIX = '/assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and un-hashed files: always revalidate, so a new build shows at once. */
const REVALIDATE = 'no-cache';

/**
 * Where the built UI lives: `dist/web` at the package root, whether the
 * gateway runs from `dist/src/api/` (built) or `src/api/` (tsx).
 */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
    dir = dirname(dir);
  }
  return resolve('dist', 'web');
}

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SPORE Gateway</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>SPORE Gateway</h1><p>The gateway is running, but its web UI has not been built.</p>
<p>Run <code>npm run build</code> (or <code>npm ci</code>) in the package, then reload this page.
The REST API is available at <a href="/api/discovery/nodes">/api/discovery/nodes</a>.</p></body></html>`;

/** Machine endpoints: never answered with the UI's HTML, so their clients get the API's JSON 404. */
const API_PREFIXES = ['/api', '/ws', '/rpc', '/metrics'];

/** Case-insensitive: `/API/firmware` is an API path dressed up, not a page of the UI. */
function isApiPath(path: string): boolean {
  const lower = path.toLowerCase();
  return API_PREFIXES.some((p) => lower === p || lower.startsWith(`${p}/`) || lower.startsWith(`${p};`));
}

/**
 * Serves the web UI (issue 5) at `/`: files of the Vite build, precompressed
 * `.gz` twins when the browser accepts gzip, hashed assets cached for a year,
 * and `index.html` for any other non-API path so client-side routes
 * (`/nodes/10.0.0.5`, `/events`) survive a reload (SPA fallback). `/api/*`,
 * `/ws`, `/rpc` and `/metrics` keep the API's JSON 404.
 *
 * The files are served by @fastify/static (with @fastify/send and mime) in a separate Fastify
 * instance that is never listened on, built at the first request for the UI (issue 16 §3: not
 * loaded at start-up) and asked through `inject()`, so the gateway's own hooks still apply.
 */
export async function registerWebUi(app: FastifyInstance, root: string = defaultWebRoot()): Promise<void> {
  const webRoot = resolve(root);
  const files = new InnerApp(() => fileServer(webRoot));
  app.route({
    method: 'GET', // HEAD too (Fastify exposes HEAD for every GET route)
    url: '/*',
    handler: async (req, reply) => {
      const path = (req.url.split('?')[0] ?? '/').replace(/\/{2,}/g, '/');
      if (isApiPath(path)) return reply.callNotFound();
      // The path with `//` collapsed, as the file server reads it (a leading `//` is no host there).
      const query = req.url.slice((req.url.split('?')[0] ?? '').length);
      const res = await files.ask(req, path + query);
      // Its 404s (a missing hashed asset) get the API's own 404 answer.
      if (res.statusCode === 404) return reply.callNotFound();
      return sendAnswer(reply, res);
    },
  });
}

/** The Fastify instance that answers the UI's files (`registerWebUi`). */
async function fileServer(webRoot: string): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: fastifyStatic }] = await Promise.all([import('fastify'), import('@fastify/static')]);
  const app = Fastify({ logger: false });
  await app.register(fastifyStatic, {
    root: webRoot,
    serve: false,
    preCompressed: true,
    cacheControl: false,
    etag: true,
    lastModified: true,
    dotfiles: 'deny',
    // The root may not exist (UI not built): the plugin only warns, and the handler answers a hint page.
  });

  const sendIndex = async (reply: FastifyReply) => {
    if (!(await isFile(join(webRoot, 'index.html')))) {
      return reply.status(503).header('cache-control', REVALIDATE).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    return reply.header('cache-control', REVALIDATE).header('vary', 'accept-encoding').sendFile('index.html');
  };

  app.route({
    method: 'GET', // HEAD too (Fastify exposes HEAD for every GET route)
    url: '/*',
    handler: async (req, reply) => {
      const path = (req.url.split('?')[0] ?? '/').replace(/\/{2,}/g, '/');
      let rel: string;
      try {
        rel = decodeURIComponent(path).replace(/^\/+/, '');
      } catch {
        return sendIndex(reply);
      }
      if (rel === '' || rel === 'index.html') return sendIndex(reply);
      const full = resolve(webRoot, rel);
      if (!rel.includes('\0') && full.startsWith(webRoot + sep) && (await isFile(full))) {
        return reply
          .header('cache-control', path.startsWith(HASHED_PREFIX) ? IMMUTABLE : REVALIDATE)
          .header('vary', 'accept-encoding')
          .sendFile(rel);
      }
      // A missing hashed asset is a real 404 (an old page asking for a file a new build replaced).
      if (path.startsWith(HASHED_PREFIX)) return reply.callNotFound();
      return sendIndex(reply);
    },
  });
  await app.ready();
  return app;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
