import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteDeps } from '../route-deps.js';
import { EDITABLE_SECTIONS } from '../../config/config-editor.js';
import { configSchema } from '../../config/schema.js';
import { configRouteDocs } from '../openapi/operations-route-docs.js';


/** JSON Schema of each editable section, from the one start-up schema (built once: it does not change). */
let sectionSchemas: Record<string, unknown> | undefined;
export function editableSectionSchemas(): Record<string, unknown> {
  sectionSchemas ??= Object.fromEntries(
    EDITABLE_SECTIONS.map((name) => [name, z.toJSONSchema(configSchema.shape[name], { target: 'draft-07', io: 'input', unrepresentable: 'any' })]),
  );
  return sectionSchemas;
}

/** Issue 15 §1: configuration from the UI and the API (admin scope: auth/access-policy.ts). */
export function registerConfigRoutes(app: FastifyInstance, { configEditor: editor, testConnector, scanBus }: Pick<RouteDeps, 'configEditor' | 'testConnector' | 'scanBus'>): void {
  const docs = configRouteDocs();
  app.get('/api/config', docs.info, async () => editor.info());
  app.get('/api/config/schema', docs.schema, async () => editableSectionSchemas());
  app.get('/api/config/raw', docs.raw, async () => editor.getRaw());
  app.put<{ Body: { text?: unknown } }>('/api/config/raw', docs.putRaw, async (req) => editor.putRaw(typeof req.body?.text === 'string' ? req.body.text : (undefined as never)));
  app.post<{ Body: { section?: string; value?: unknown; text?: string } }>('/api/config/validate', docs.validate, async (req) => editor.validate(req.body ?? {}));
  app.post<{ Body: unknown }>('/api/config/auth/keys', docs.createKey, async (req, reply) => reply.status(201).send(await editor.createApiKey(req.body)));
  app.delete<{ Params: { name: string } }>('/api/config/auth/keys/:name', docs.revokeKey, async (req) => editor.revokeApiKey(req.params.name));
  app.post<{ Body: unknown }>('/api/config/test-connector', docs.testConnector, async (req) => testConnector(req.body));
  app.post<{ Body: unknown }>('/api/config/scan-connector', docs.scanConnector, async (req) => scanBus(req.body));
  app.get<{ Params: { section: string } }>('/api/config/:section', docs.get, async (req) => editor.getSection(req.params.section));
  app.put<{ Params: { section: string }; Body: unknown }>('/api/config/:section', docs.put, async (req) => editor.putSection(req.params.section, req.body));
}
