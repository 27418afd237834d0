import type { FastifySchema } from 'fastify';
import { z } from 'zod';

/**
 * One description per route, written once with zod: the request parts become
 * the route's Fastify `schema` (Ajv validates requests with it) and, with the
 * answers, the route's operation in the OpenAPI document (openapi-plugin.ts).
 */

/** The OpenAPI tags, one per domain of the API. */
export const API_TAGS = {
  discovery: 'UDP discovery of SPORE nodes and the choice of the primary node (CONTRACT §4).',
  cluster: 'The cluster as a whole: members, tasks, events and the live WebSocket (CONTRACT §4, §5).',
  nodes: 'Calls to one node: status, capabilities, proxied calls and firmware pushes (CONTRACT §4).',
  firmware: 'The firmware store and OTA pushes (docs/firmware.md).',
  rollouts: 'Fleet rollouts of a stored firmware (docs/firmware.md).',
  mqtt: 'The MQTT bridge: retained messages and statistics (docs/mqtt.md).',
  pipeline: 'The data pipeline: devices, writes and statistics (docs/pipeline.md).',
  management: 'Health, metrics, JSON-RPC and this API description.',
} as const;
export type ApiTag = keyof typeof API_TAGS;

export type JsonSchema = { [keyword: string]: unknown };

/** Marks a request field whose type and format the route's service checks itself (see checkedByService). */
const CHECKED_BY_SERVICE = 'x-checked-by-service';

/**
 * Marks a request part that the service behind the route validates itself,
 * with error codes of its own (CONTRACT §4: a malformed IP is `invalid_ip`, a
 * bad uri `invalid_uri`…). Ajv accepts any value there, so those codes and
 * messages still come from the service; the OpenAPI document shows the
 * schema and names the codes. `errors` lists them for the document.
 */
export function checkedByService<T extends z.ZodType>(schema: T, errors: string): T {
  return schema.meta({ [CHECKED_BY_SERVICE]: errors }) as T;
}

function isCheckedByService(schema: z.ZodType): boolean {
  return CHECKED_BY_SERVICE in (z.globalRegistry.get(schema) ?? {});
}

/** An answer: its description, and its body when it has one (JSON unless `contentType` says otherwise). */
export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: ApiTag[];
  params?: z.ZodObject;
  querystring?: z.ZodObject;
  body?: z.ZodType;
  /** When the body is not JSON (multipart uploads). */
  bodyContentType?: string;
  /** Status → answer; a string is an error answer with the `{error, message}` body. */
  responses: Record<number, ResponseDoc | string>;
}

/** What the OpenAPI transform reads from a route's `config.openapi`: the route's parts as JSON Schema. */
export interface RouteDocument {
  summary: string;
  description?: string;
  tags: ApiTag[];
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  bodyContentType?: string;
  /** Whether Ajv validates some part of the request (a refusal is a 400 `bad_request`). */
  validated: boolean;
  /**
   * The answers as JSON Schema, built only when the OpenAPI document is first asked for: no
   * route needs them to serve, and building them all at start-up costs memory (issue 16 §3).
   */
  responses: () => Record<string, JsonSchema>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's OpenAPI description (set by `documented()`). */
    openapi?: RouteDocument;
    /** The docs page's own routes in the gateway (openapi-plugin.ts): answered by the docs app, not copied into it. */
    docsProxy?: boolean;
  }
}

/** The one JSON error shape (CONTRACT §4). */
export const ERROR_BODY: JsonSchema = {
  type: 'object',
  description: 'The one error shape of the gateway (CONTRACT §4).',
  properties: {
    error: { type: 'string', description: 'A short code, e.g. invalid_ip, node_not_found, bad_request.' },
    message: { type: 'string', description: 'What went wrong and what to do.' },
  },
  required: ['error', 'message'],
};

/**
 * Route options for `app.get(url, documented({...}), handler)`: the Fastify
 * `schema` that validates the request, and the OpenAPI description in
 * `config.openapi`. Answers are documented only: Fastify is given no response
 * schema, so it never filters or re-serialises what a handler sends.
 */
export function documented(doc: RouteDoc): { schema: FastifySchema; config: { openapi: RouteDocument } } {
  const parts = {
    params: doc.params && requestJsonSchema(doc.params),
    querystring: doc.querystring && requestJsonSchema(doc.querystring),
    // A body the service checks as a whole is only documented: nothing unrepresentable can loosen a validation.
    body: doc.body && requestJsonSchema(doc.body, isCheckedByService(doc.body) ? 'any' : 'throw'),
  };
  const schema: FastifySchema = { summary: doc.summary, tags: doc.tags, ...(doc.description ? { description: doc.description } : {}) };
  let validated = false;
  for (const part of ['params', 'querystring', 'body'] as const) {
    const validation = parts[part] && forValidation(parts[part]);
    if (validation) {
      schema[part] = validation;
      validated = true;
    }
  }
  const responses = (): Record<string, JsonSchema> => Object.fromEntries(Object.entries(doc.responses).map(([status, answer]) => [status, responseJsonSchema(answer)]));
  return {
    schema,
    config: {
      openapi: {
        summary: doc.summary,
        ...(doc.description ? { description: doc.description } : {}),
        tags: doc.tags,
        ...(parts.params ? { params: forDocument(parts.params) } : {}),
        ...(parts.querystring ? { querystring: forDocument(parts.querystring) } : {}),
        ...(parts.body ? { body: forDocument(parts.body) } : {}),
        ...(doc.bodyContentType ? { bodyContentType: doc.bodyContentType } : {}),
        validated,
        responses,
      },
    },
  };
}

/**
 * zod → JSON Schema draft-07, the dialect of Fastify's Ajv (and valid JSON
 * Schema for an OpenAPI 3.1 document). The input side of the schema: what a
 * client sends. Unrepresentable types throw here, at start-up, rather than
 * silently validating nothing.
 */
export function requestJsonSchema(schema: z.ZodType, unrepresentable: 'throw' | 'any' = 'throw'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-07', io: 'input', unrepresentable }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** zod → JSON Schema for documentation only (answers): what the gateway sends. */
export function answerJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-07', io: 'output', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return forDocument(json);
}

function responseJsonSchema(answer: ResponseDoc | string): JsonSchema {
  if (typeof answer === 'string') return { description: answer, content: { 'application/json': { schema: ERROR_BODY } } };
  if (!answer.schema) return { description: answer.description, type: 'null' };
  return { description: answer.description, content: { [answer.contentType ?? 'application/json']: { schema: answerJsonSchema(answer.schema) } } };
}

/** Keywords whose values are schemas, and those whose values are maps of schemas (JSON Schema draft-07 and 2020-12). */
const SCHEMA_KEYWORDS = ['additionalProperties', 'items', 'additionalItems', 'contains', 'propertyNames', 'not', 'if', 'then', 'else'];
const SCHEMA_LIST_KEYWORDS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'definitions', '$defs'];

/** Applies `visit` to every subschema, innermost first, with the node as written; returns the rebuilt schema. */
function mapSchema(schema: JsonSchema, visit: (node: JsonSchema, original: JsonSchema) => JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  const rebuild = (s: unknown): unknown => (isSchema(s) ? mapSchema(s, visit) : s);
  for (const key of [...SCHEMA_KEYWORDS, ...SCHEMA_LIST_KEYWORDS]) {
    const sub = out[key];
    if (Array.isArray(sub)) out[key] = sub.map(rebuild);
    else if (isSchema(sub)) out[key] = rebuild(sub);
  }
  for (const key of SCHEMA_MAP_KEYWORDS) {
    const map = out[key];
    if (isSchema(map)) out[key] = Object.fromEntries(Object.entries(map).map(([name, s]) => [name, rebuild(s)]));
  }
  return visit(out, schema);
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isChecked = (s: unknown): boolean => isSchema(s) && CHECKED_BY_SERVICE in s;

/**
 * The schema Ajv runs: parts the service checks accept anything (and are not
 * required, so a missing value also reaches the service), and `type` lists
 * become `anyOf` (Ajv's strict mode refuses union types). Null when nothing
 * is left to check.
 */
export function forValidation(schema: JsonSchema): JsonSchema | null {
  if (isChecked(schema)) return null;
  return mapSchema(schema, (node, original) => {
    if (isChecked(original)) return {};
    if (Array.isArray(node.required) && isSchema(original.properties)) {
      const props = original.properties;
      const required = node.required.filter((name) => !isChecked(props[name as string]));
      if (required.length) node.required = required;
      else delete node.required;
    }
    if (Array.isArray(node.type)) {
      const { type, ...rest } = node;
      return { ...rest, anyOf: (type as string[]).map((t) => ({ type: t })) };
    }
    return node;
  });
}

/** The schema the document shows: the marker becomes a sentence naming the service's error codes. */
export function forDocument(schema: JsonSchema): JsonSchema {
  return mapSchema(schema, (node) => {
    if (!(CHECKED_BY_SERVICE in node)) return node;
    const { [CHECKED_BY_SERVICE]: errors, ...rest } = node;
    const note = `Checked by the gateway itself: ${String(errors)}.`;
    const described = rest.description ? String(rest.description).trim() : '';
    return { ...rest, description: described ? `${described}${/[.!?]$/.test(described) ? '' : '.'} ${note}` : note };
  });
}
