import type { FastifyInstance } from 'fastify';
import { rpcRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** JSON-RPC 2.0 at `POST /rpc` (issue 7). The body is parsed by the RPC layer so bad JSON is a -32700, not a 400. */
export function registerRpcRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'rpc' | 'auth'>): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post('/rpc', rpcRouteDocs(deps.rpc).rpc, async (req, reply) => {
      const answer = await deps.rpc.handleText(typeof req.body === 'string' ? req.body : '', {
        identity: req.identity,
        authEnabled: deps.auth.enabled,
      });
      // Notifications only: nothing to answer (JSON-RPC 2.0 §6).
      if (answer === null) return reply.status(204).send();
      return reply.type('application/json').send(JSON.stringify(answer));
    });
  });
}
