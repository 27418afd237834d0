import { z } from 'zod';
import { CONNECTOR_SCHEMAS, CONNECTOR_TYPES } from './connectors/index.js';
import { ALWAYS } from './schema-util.js';
import { SINK_SCHEMAS, SINK_TYPES } from './sinks/index.js';

/**
 * The `pipeline` section of the gateway configuration (docs/pipeline.md). Each connector and
 * sink is one member of a union on `type`, with its own strict schema in its plugin file.
 */


export const connectorSchema = z.discriminatedUnion('type', CONNECTOR_SCHEMAS, {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown connector type ${JSON.stringify((issue.input as { type?: unknown } | undefined)?.type)}`
      : undefined,
});

const sinkSchema = z.discriminatedUnion('type', SINK_SCHEMAS, {
  error: (issue) =>
    issue.code === 'invalid_union' ? `unknown sink type ${JSON.stringify((issue.input as { type?: unknown } | undefined)?.type)}` : undefined,
});

export const pipelineSectionSchema = z
  .object({
    connectors: z.array(connectorSchema, { error: 'connectors must be a list' }).default([]),
    sinks: z.array(sinkSchema, { error: 'sinks must be a list' }).default([]),
    store: z
      .object({
        path: z.string().min(1).default('pipeline/pipeline.db').describe('SQLite file holding seqs and the durable buffers; relative paths are under the data directory.'),
        synchronous: z.enum(['FULL', 'NORMAL']).default('FULL').describe('FULL (default): every commit fsynced, survives power loss. NORMAL: survives a crash of the gateway only, faster.'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({})
  .superRefine((p, ctx) => {
    // Runs on possibly invalid input (ALWAYS): look before touching anything.
    const list = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
    const firstAt = new Map<string, number>();
    list(p.connectors).forEach((c, i) => {
      if (typeof c.id !== 'string') return;
      if (firstAt.has(c.id)) ctx.addIssue({ code: 'custom', path: ['connectors', i, 'id'], message: `duplicate connector id "${c.id}" (also connectors[${firstAt.get(c.id)}])` });
      else firstAt.set(c.id, i);
    });
    const sinkAt = new Map<string, number>();
    list(p.sinks).forEach((s, i) => {
      if (typeof s.id !== 'string') return;
      if (sinkAt.has(s.id)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'id'], message: `duplicate sink id "${s.id}" (also sinks[${sinkAt.get(s.id)}])` });
      else sinkAt.set(s.id, i);
    });
    // Device ids name devices in the API and in topics: one device, one connector
    // (several subscriptions of one mqtt connector may feed the same device).
    const deviceOwner = new Map<string, { connector: number; where: string }>();
    const claim = (id: unknown, connector: number, path: Array<string | number>, shareWithinConnector: boolean) => {
      if (typeof id !== 'string' || /\{\d+\}/.test(id)) return;
      const owner = deviceOwner.get(id);
      if (!owner) {
        deviceOwner.set(id, { connector, where: 'pipeline' + path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('') });
      } else if (!(shareWithinConnector && owner.connector === connector)) {
        ctx.addIssue({ code: 'custom', path, message: `device id "${id}" is already used by ${owner.where}` });
      }
    };
    list(p.connectors).forEach((c, i) => {
      if (Array.isArray(c.devices)) list(c.devices).forEach((d, j) => claim(d.id, i, ['connectors', i, 'devices', j, 'id'], false));
      if (c.type === 'http') claim(c.device, i, ['connectors', i, 'device'], false);
      if (c.type === 'mqtt') list(c.subscribe).forEach((s, j) => claim(s.device, i, ['connectors', i, 'subscribe', j, 'device'], true));
    });
  }, ALWAYS);

export type PipelineConfig = z.infer<typeof pipelineSectionSchema>;
export type ConnectorConfig = PipelineConfig['connectors'][number];
export type SinkConfig = PipelineConfig['sinks'][number];

export const CONNECTOR_TYPE_NAMES = [...CONNECTOR_TYPES.keys()];
export const SINK_TYPE_NAMES = [...SINK_TYPES.keys()];
