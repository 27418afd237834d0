import type { FastifyInstance } from 'fastify';
import { mqttRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/**
 * Issue 3: `GET /api/mqtt/messages?topic=<filter>&limit=<n>` (the retention
 * buffer, oldest first, each message exactly as the WebSocket carried it) and
 * `GET /api/mqtt/stats`. 503 `mqtt_disabled` when the bridge is off.
 */
export function registerMqttRoutes(app: FastifyInstance, { mqtt }: Pick<RouteDeps, 'mqtt'>): void {
  const docs = mqttRouteDocs();
  app.get<{ Querystring: { topic?: string; limit?: string } }>('/api/mqtt/messages', docs.messages, async (req, reply) => {
    const { json, filter, limit } = mqtt.messages(req.query.topic, req.query.limit);
    // The messages are already serialised; join them rather than parse and re-serialise.
    const body = `{"topic":${JSON.stringify(filter)},"limit":${limit},"count":${json.length},"messages":[${json.join(',')}]}`;
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.get('/api/mqtt/stats', docs.stats, async () => mqtt.stats());
}
