import { z } from 'zod';

/**
 * Pieces of the wire contract shared by its modules. The contract (src/contract/) is pure:
 * zod schemas and the types inferred from them, no `node:` imports, no I/O. The services
 * build these shapes, the OpenAPI document describes them (api/openapi/response-schemas.ts)
 * and the web UI reads them (`import type`).
 */

export const timestamp = (what: string) => z.string().meta({ format: 'date-time' }).describe(`${what} (RFC 3339).`);
export const ipv4 = (what: string) => z.string().describe(what);
export const labels = z.record(z.string(), z.string()).describe('Labels, string → string.');
export const nodeHealth = z.enum(['ACTIVE', 'INACTIVE', 'DEAD']);
