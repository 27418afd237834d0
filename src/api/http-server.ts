import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { authorizeUpgrade, installAccessControl } from './access-control.js';
import { installErrorHandling } from './error-handler.js';
import { lazySchemaController } from './lazy-schema-compilers.js';
import { installOpenApi } from './openapi/openapi-plugin.js';
import type { RouteDeps } from './route-deps.js';
import { registerClusterRoutes } from './routes/cluster-routes.js';
import { registerDiscoveryRoutes } from './routes/discovery-routes.js';
import { registerFirmwareRoutes } from './routes/firmware-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerMetricsRoutes } from './routes/metrics-routes.js';
import { registerMqttRoutes } from './routes/mqtt-routes.js';
import { registerNodeRoutes } from './routes/node-routes.js';
import { registerPipelineRoutes } from './routes/pipeline-routes.js';
import { registerConnectorRoutes } from './routes/connector-routes.js';
import { registerRolloutRoutes } from './routes/rollout-routes.js';
import { registerRpcRoutes } from './routes/rpc-routes.js';
import { registerWebSocketRoutes } from './routes/websocket-routes.js';
import { registerWebUi } from './web-ui.js';
import { registerAlertRoutes } from './routes/alert-routes.js';
import { registerBackupRoutes } from './routes/backup-routes.js';
import { registerConfigRoutes } from './routes/config-routes.js';
import { registerHistoryRoutes } from './routes/history-routes.js';
import { registerLogRoutes } from './routes/log-routes.js';

/**
 * Builds the HTTP server: Fastify with the one error shape, CORS, multipart
 * uploads, every REST route of CONTRACT §4 and the `/ws` upgrade. Routes are
 * thin adapters over services.
 */
export async function buildHttpServer(deps: RouteDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const schemas = lazySchemaController();
  const app = Fastify({
    bodyLimit: config.http.bodyLimitBytes,
    // Node calls already time out (nodes.requestTimeoutMs); these bound idle or slow clients.
    connectionTimeout: 0,
    requestTimeout: 120_000, // ms — a 16 MiB upload over a slow link still fits
    keepAliveTimeout: 5_000, // ms
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
    // Route schemas type query and path values as strings (services parse them) and bodies
    // exactly: no coercion, so `{"channel": 7}` is refused, not turned into "7" (api/openapi/route-doc.ts).
    ajv: { customOptions: { coerceTypes: false } },
    // Each route's validator is compiled at its first request, not all at start-up (issue 16 §3).
    schemaController: schemas.option,
    // The router's own refusals (a malformed percent-encoding such as GET /%E0%A4%A) get the
    // gateway's {error, message} shape like every other 4xx (issue 12 §13). The URL is not
    // echoed: it may carry a ?token=.
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as { status(n: number): { type(t: string): { send(b: unknown): unknown } } };
      const badUrl = (err as { code?: string }).code === 'FST_ERR_BAD_URL';
      void reply
        .status(400)
        .type('application/json')
        .send({ error: 'bad_request', message: badUrl ? 'The URL is malformed: a percent-encoding does not decode (write % as %25).' : 'The request is malformed.' });
    },
  });
  // Tests compile every route's request schema at once (test/api/openapi): what start-up used to do.
  app.decorate('compileRouteSchemas', () => schemas.compileAll());
  installErrorHandling(app, logger);
  acceptEmptyJsonBodies(app);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') deps.routeTable?.push({ method, url: route.url });
  });
  await installAccessControl(app, deps.auth, () => deps.currentConfig().http.corsOrigins);
  await app.register(multipart, { limits: { fileSize: config.http.uploadLimitBytes, files: 1, parts: 20 } });
  app.addHook('onResponse', async (req, reply) => {
    logger.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'http request');
  });

  // Before any route: the OpenAPI document is built from the routes registered after it.
  await installOpenApi(app);
  registerHealthRoutes(app, deps);
  registerDiscoveryRoutes(app, deps);
  registerClusterRoutes(app, deps);
  registerWebSocketRoutes(app, deps);
  registerNodeRoutes(app, deps);
  registerRpcRoutes(app, deps);
  registerMetricsRoutes(app, deps);
  registerPipelineRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  registerMqttRoutes(app, deps);
  registerFirmwareRoutes(app, deps);
  registerRolloutRoutes(app, deps);
  registerConfigRoutes(app, deps);
  registerAlertRoutes(app, deps);
  registerHistoryRoutes(app, deps);
  registerBackupRoutes(app, deps);
  registerLogRoutes(app, deps);
  if (config.web.enabled) await registerWebUi(app, config.web.root);

  app.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws' && path !== '/ws/') return socket.destroy();
    const access = authorizeUpgrade(deps.auth, req, socket);
    if (access) deps.wsHub.handleUpgrade(req, socket, head, access.identity, access.secret);
  });
  return app;
}

/**
 * `POST /api/discovery/refresh` and the other calls that take no input must not
 * fail because a client (curl -H, a UI's fetch wrapper) labels an empty body as
 * JSON: an empty or blank body is no body. Anything else is parsed by Fastify's
 * own safe parser, so bad JSON is still a 400 `invalid_json`.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    parseJson(req, text, done);
  });
}
