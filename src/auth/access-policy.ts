import type { Requirement } from './api-keys.js';

/** Paths anyone may read even with keys configured: liveness probes, the API description, the UI itself. */
const OPEN_PATHS = ['/api/health', '/api/openapi.json', '/api/docs'];

/**
 * Calls that can change a node or the fleet whatever their HTTP method (issue 7: proxy, firmware,
 * rollouts), and those that read secrets or the whole state (issue 15: configuration, logs, backups).
 */
const ADMIN_PREFIXES = ['/api/proxy-call', '/api/firmware', '/api/rollouts', '/api/node/update', '/rpc', '/api/config', '/api/logs', '/api/backup', '/api/restore'];

const READ_METHODS = new Set(['GET', 'HEAD']);

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * What a request needs when API keys are configured (docs/security.md):
 * mutating calls, JSON-RPC, proxy, firmware and rollout calls an admin key;
 * other reads of the API, `/ws` and `/metrics` any key when `protectReads`;
 * CORS preflights, health, the API description and the UI nothing.
 */
export function requirementFor(method: string, path: string, protectReads: boolean): Requirement {
  if (method === 'OPTIONS') return 'none';
  if (OPEN_PATHS.some((p) => under(path, p))) return 'none';
  if (ADMIN_PREFIXES.some((p) => under(path, p))) return 'admin';
  if (!READ_METHODS.has(method)) return 'admin';
  const isApi = under(path, '/api') || under(path, '/ws') || under(path, '/metrics');
  return isApi && protectReads ? 'read' : 'none';
}
