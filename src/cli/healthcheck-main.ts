#!/usr/bin/env node
/**
 * `HEALTHCHECK` of the container image (Dockerfile, docs/deploy.md): asks the gateway on this
 * host for `GET /api/health` and exits 0 when it answers 200 (healthy or degraded, CONTRACT §4),
 * 1 otherwise (unhealthy 503, no answer, refused). The port is the gateway's own setting,
 * `SPORE_HTTP_PORT` (default 3001), so one variable moves both.
 */
import { runMain } from './run-main.js';

const TIMEOUT_MS = 4000; // ms: under the image's HEALTHCHECK --timeout=5s

async function main(): Promise<number> {
  const raw = process.env.SPORE_HTTP_PORT ?? '3001';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`spore-healthcheck: SPORE_HTTP_PORT must be an integer 1-65535, got ${JSON.stringify(raw)}\n`);
    return 2;
  }
  const url = `http://127.0.0.1:${port}/api/health`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await res.json().catch(() => ({}))) as { status?: string };
    process.stdout.write(`${url}: ${res.status} ${body.status ?? ''}\n`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    process.stdout.write(`${url}: no answer (${(err as Error).message})\n`);
    return 1;
  }
}

runMain('spore-healthcheck', main);
