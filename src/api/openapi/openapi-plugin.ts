import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import { z } from 'zod';
import { requirementFor } from '../../auth/access-policy.js';
import { WS_TOPICS } from '../../contract/ws-topics.js';
import { InnerApp, sendAnswer } from '../inner-app.js';
import { OpenApiDocument } from './response-schemas.js';
import { API_TAGS, ERROR_BODY, documented, requestJsonSchema, type JsonSchema, type RouteDocument } from './route-doc.js';

/** Where the document and its docs page are served (both open: auth/access-policy.ts OPEN_PATHS). */
export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PATH = '/api/docs';

/** The security schemes an API key can come with (docs/security.md); `token` is for browsers. */
const SECURITY_SCHEMES = {
  BearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from the `auth.apiKeys` configuration: `Authorization: Bearer <key>`.' },
  ApiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same API key in the `X-API-Key` header.' },
  TokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The same API key as `?token=<key>`, for browsers (the WebSocket, links).' },
} as const;

type SecurityRequirement = Record<string, string[]>;

/**
 * An operation's security, from the access policy itself (auth/access-policy.ts):
 * admin calls need an `admin` key; reads need any key only when
 * `auth.protectReads` is set (`{}` = no key is also accepted); open paths none.
 * Without any API key configured, every call is open.
 */
export function securityFor(method: string, path: string): SecurityRequirement[] {
  const withReadsProtected = requirementFor(method, path, true);
  if (withReadsProtected === 'none') return [];
  const scope = withReadsProtected === 'admin' && requirementFor(method, path, false) === 'admin' ? 'admin' : 'read';
  const keyed = Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [scope] }));
  return scope === 'admin' ? keyed : [{}, ...keyed];
}

const ACCESS_NOTE = {
  admin: 'Needs an API key with scope `admin` when API keys are configured.',
  read: 'Needs an API key (scope `read` or `admin`) when API keys are configured with `auth.protectReads`; open otherwise.',
  none: 'Open: needs no API key.',
};

function errorAnswer(description: string): JsonSchema {
  return { description, content: { 'application/json': { schema: ERROR_BODY } } };
}

/**
 * What any operation can answer, even one that takes no input: request headers over
 * Node's limit (16 KiB) are refused by the HTTP server before routing (Fastify's client
 * error handler writes the JSON, `error` being the status text).
 */
const headersTooLarge = () => errorAnswer('Request Header Fields Too Large: the request headers exceed 16 KiB (Node\'s limit); refused before any route runs.');

/** The operation for a documented route, in the shape @fastify/swagger turns into OpenAPI. */
function operationSchema(doc: RouteDocument, method: string, routeUrl: string): FastifySchema {
  const security = securityFor(method, routeUrl);
  const access = security.length === 0 ? 'none' : security[0]?.BearerAuth?.[0] === 'admin' ? 'admin' : 'read';
  const responses: Record<string, JsonSchema> = doc.responses();
  if (doc.validated) responses['400'] ??= errorAnswer('The request does not match the documented schema: `bad_request`, the message names the field.');
  if (access !== 'none') responses['401'] ??= errorAnswer('A missing or unknown API key (`unauthorized`).');
  if (access === 'admin') responses['403'] ??= errorAnswer('A valid API key whose scope is too small (`forbidden`).');
  const bodyAcceptsNull = Array.isArray(doc.body?.anyOf) && doc.body.anyOf.some((s) => (s as JsonSchema).type === 'null');
  return {
    summary: doc.summary,
    description: [doc.description, ACCESS_NOTE[access]].filter(Boolean).join('\n\n'),
    tags: doc.tags,
    operationId: operationId(method, routeUrl),
    security,
    ...(doc.params ? { params: doc.params } : {}),
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.body ? { body: doc.body } : {}),
    ...(doc.bodyContentType ? { consumes: [doc.bodyContentType] } : {}),
    ...(bodyAcceptsNull ? { 'x-body-optional': true } : {}),
    response: responses,
  } as FastifySchema;
}

/** `POST /api/discovery/primary/:ip` → `postApiDiscoveryPrimaryByIp`. */
export function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => (segment.startsWith(':') ? ['by', segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/)))
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** The docs page itself is one of swagger-ui's routes (hidden there); the document lists it. */
function docsPageSchema(): FastifySchema {
  return {
    summary: 'The API documentation page',
    description: `Swagger UI over ${OPENAPI_PATH}, with its assets served by the gateway itself (no internet needed).\n\n${ACCESS_NOTE.none}`,
    tags: ['management'],
    operationId: 'getApiDocs',
    security: [],
    response: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
  } as FastifySchema;
}

/**
 * The web UI (api/web-ui.ts) answers every non-API path (`GET /*`: its files, and its
 * index.html for client-side routes); OpenAPI has no catch-all path, so it is listed as `/`.
 */
export const WEB_UI_ROUTE = '/*';

function webUiSchema(): FastifySchema {
  return {
    summary: 'The web UI',
    description: `The gateway's own web UI (docs/web-ui.md). Any path outside \`/api\`, \`/ws\`, \`/rpc\` and \`/metrics\` answers a file of the UI, or its page for client-side routes such as \`/nodes/{ip}\`.\n\n${ACCESS_NOTE.none}`,
    tags: ['management'],
    operationId: 'getWebUi',
    security: [],
    response: {
      200: { description: 'A page or a file of the UI.', content: { 'text/html': { schema: { type: 'string' } } } },
      404: { description: 'A hashed asset of the UI that this build does not have (an old page asking for a file a new build replaced).' },
      503: { description: 'The UI has not been built: a page saying how to build it.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  } as FastifySchema;
}

/** `/ws` is not a Fastify route (the HTTP server's `upgrade` event); CONTRACT §5. */
const WsQuery = z.object({
  replay: z.string().optional().describe('Replay the retained MQTT messages matching this topic filter on connect, then one `mqtt/replay` message {filter, count} (docs/websocket.md).'),
  replayLimit: z.int().min(1).optional().describe('At most this many replayed messages (default mqtt.retention.defaultLimit).'),
});

function webSocketPath(): JsonSchema {
  const query = requestJsonSchema(WsQuery);
  const properties = query.properties as Record<string, JsonSchema>;
  const security = securityFor('GET', '/ws');
  return {
    get: {
      tags: ['cluster'],
      summary: 'Live events (WebSocket)',
      operationId: 'getWs',
      description: [
        'Upgrade to a WebSocket (RFC 6455). The gateway sends JSON text frames, each with a string `topic` and an RFC 3339 `timestamp` (CONTRACT §5, docs/websocket.md):',
        `${WS_TOPICS.filter((t) => t.topic !== 'rpc/response').map((t) => `\`${t.topic}\``).join(', ')}, and every bridged MQTT message \`{topic, data, timestamp, source: "mqtt"}\`.`,
        'A client may send JSON-RPC 2.0 requests as text frames (see `POST /rpc`); each answer comes back as a frame with topic `rpc/response`.',
        'A client that falls behind past a bounded backlog is closed with code 1013.',
        ACCESS_NOTE.read,
      ].join('\n\n'),
      parameters: Object.entries(properties).map(([name, schema]) => {
        const { description, ...rest } = schema;
        return { in: 'query', name, required: false, description, schema: rest };
      }),
      security,
      responses: {
        101: { description: 'Switching Protocols: the WebSocket is open.' },
        400: errorAnswer('Not a WebSocket upgrade request.'),
        401: errorAnswer('A missing or unknown API key when reads are protected (`unauthorized`).'),
      },
    },
  };
}

/** The package's version, from the nearest package.json above this file (source and dist alike). */
function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'spore-gateway' && pkg.version) return pkg.version;
    } catch {
      // not here; look one level up
    }
  }
  return '0.0.0';
}

/**
 * Adds the OpenAPI document (`GET /api/openapi.json`) and its docs page
 * (`GET /api/docs`). Call before any route is registered: the document is
 * built from the routes registered after it, each described by `documented()`.
 *
 * Nothing of it is loaded at start-up (issue 16 §3): the routes' options are only noted here.
 * The first request for the document or the page imports @fastify/swagger and
 * @fastify/swagger-ui (with yaml, json-schema-resolver, @fastify/static) into a separate,
 * never-listening Fastify instance, registers the noted routes there (handlers that never run,
 * no validators), and builds the document once. The docs page and its assets are answered by
 * that instance through `inject()`, so the gateway's own hooks (access, CORS, headers) still apply.
 */
export async function installOpenApi(app: FastifyInstance): Promise<void> {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || route.config?.docsProxy) return; // HEADs: added again by the docs app
    routes.push(route);
  });
  const docs = new InnerApp(() => buildDocsApp(routes));
  let document: unknown;

  const proxy = async (req: FastifyRequest, reply: FastifyReply) => sendAnswer(reply, await docs.ask(req));
  // The page and its assets; listed in the document by swagger-ui's own routes (docs app).
  app.get(DOCS_PATH, { config: { docsProxy: true }, schema: { hide: true } }, proxy);
  app.get(`${DOCS_PATH}/*`, { config: { docsProxy: true }, schema: { hide: true } }, proxy);
  app.get(
    OPENAPI_PATH,
    documented({
      summary: 'This API as an OpenAPI 3.1 document',
      description: `Also shown as a page at ${DOCS_PATH}.`,
      tags: ['management'],
      responses: { 200: { description: 'The OpenAPI document.', schema: OpenApiDocument } },
    }),
    async (_req, reply) => reply.type('application/json; charset=utf-8').send((document ??= (await docs.instance()).swagger())),
  );
}

/** The Fastify instance that holds @fastify/swagger, Swagger UI and a copy of every route's options. */
async function buildDocsApp(routes: readonly RouteOptions[]): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: swagger }, { default: swaggerUi }] = await Promise.all([import('fastify'), import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  // The gateway's router options (api/http-server.ts): swagger-ui's page is `/api/docs`, as there.
  const docsApp = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } });
  // Its routes are never called: no validators or serializers are compiled for them.
  docsApp.setValidatorCompiler(() => () => true);
  docsApp.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await docsApp.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'SPORE Gateway API',
        version: packageVersion(),
        description: [
          'The REST API of SPORE Gateway, the edge gateway for SPORE ESP8266 clusters. Generated from the same schemas that validate requests.',
          'Every error answer is `{"error": "<code>", "message": "<what to do>"}`: 4xx for the caller\'s mistake, 502/503/504 for a node or dependency that fails (CONTRACT §4).',
          'Cross-origin calls: `OPTIONS` on any path answers the CORS preflight (allow-list `http.corsOrigins`).',
          'API keys (`auth.apiKeys`) are sent as `Authorization: Bearer <key>`, `X-API-Key: <key>` or `?token=<key>`. Without any key configured every call is open; with keys, mutating calls, JSON-RPC, proxy, firmware and rollout calls need an `admin` key, and reads need a key only with `auth.protectReads` (docs/security.md).',
        ].join('\n\n'),
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: Object.entries(API_TAGS).map(([name, description]) => ({ name, description })),
      // Relative: the document describes the gateway that serves it, wherever it is reached
      // (Redocly's no-empty-servers, issue 19).
      servers: [{ url: '/', description: 'This gateway (the host and port this document was fetched from).' }],
      components: { securitySchemes: SECURITY_SCHEMES as never },
    },
    transform: ({ schema, url, route }) => {
      const method = [(route as RouteOptions).method].flat()[0] ?? 'GET';
      const doc = (route as RouteOptions).config?.openapi;
      if (doc) return { schema: operationSchema(doc, method, route.url), url };
      if (url === DOCS_PATH) return { schema: docsPageSchema(), url };
      if (route.url === WEB_UI_ROUTE) return { schema: webUiSchema(), url: '/' };
      return { schema, url };
    },
    transformObject: (documentObject) => {
      const document = (documentObject as { openapiObject: JsonSchema }).openapiObject;
      const paths = document.paths as Record<string, Record<string, JsonSchema>>;
      paths['/ws'] = webSocketPath() as Record<string, JsonSchema>;
      const errorShape = JSON.stringify(ERROR_BODY);
      for (const operations of Object.values(paths)) {
        for (const operation of Object.values(operations)) {
          // JSON bodies that may be left out (`null` in the schema) are optional.
          if (operation['x-body-optional'] && operation.requestBody) (operation.requestBody as JsonSchema).required = false;
          delete operation['x-body-optional'];
          // Every operation can be refused before it reaches a route (issue 19: a 4xx on every operation).
          const responses = (operation.responses ??= {}) as Record<string, JsonSchema>;
          if (!Object.keys(responses).some((code) => code.startsWith('4'))) responses['431'] = headersTooLarge();
          // The error shape once, in components, rather than in every answer.
          for (const response of Object.values((operation.responses ?? {}) as Record<string, JsonSchema>)) {
            const media = (response.content as Record<string, JsonSchema> | undefined)?.['application/json'];
            if (media && JSON.stringify(media.schema) === errorShape) media.schema = { $ref: '#/components/schemas/Error' };
          }
        }
      }
      const components = (document.components ??= {}) as JsonSchema;
      components.schemas = { ...(components.schemas as JsonSchema | undefined), Error: ERROR_BODY };
      return document;
    },
  });
  await docsApp.register(swaggerUi, { routePrefix: DOCS_PATH, uiConfig: { deepLinking: true, tryItOutEnabled: false } });
  for (const route of routes) {
    docsApp.route({ method: route.method, url: route.url, schema: route.schema, config: route.config, handler: async () => null });
  }
  await docsApp.ready();
  return docsApp;
}
