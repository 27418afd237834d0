import { isGatewayError, toErrorBody, GatewayError } from '../errors.js';
import type { MqttService } from '../mqtt/mqtt-service.js';
import { serialise, type WsHub } from './ws-hub.js';

/**
 * Feeds MQTT messages to every WebSocket client (CONTRACT §5: the JSON is
 * built once by the bridge and written as is), greets each new client with the
 * current `mqtt/status`, and replays retained messages to a client that asks
 * on connect: `/ws?replay=<filter>[&replayLimit=<n>]` (docs/websocket.md).
 * The replay ends with one `mqtt/replay` message `{filter, count}` (or
 * `{filter, error, message}` when refused). Returns a function that unsubscribes.
 */
export function bridgeMqttToWebSocket(mqtt: MqttService, hub: WsHub): () => void {
  const off = mqtt.onForward((json) => {
    if (hub.clientCount > 0) hub.broadcastRaw(json);
  });
  hub.onConnect((client) => {
    const status = mqtt.status();
    if (status) client.send(serialise('mqtt/status', { ...status }));
    const filter = client.url.searchParams.get('replay');
    if (filter === null) return;
    try {
      const { json, filter: used } = mqtt.replay(filter, client.url.searchParams.get('replayLimit') ?? undefined);
      for (const message of json) client.send(message);
      client.send(serialise('mqtt/replay', { filter: used, count: json.length }));
    } catch (err) {
      const e = isGatewayError(err) ? err : new GatewayError('internal');
      client.send(serialise('mqtt/replay', { filter, ...toErrorBody(e) }));
    }
  });
  return off;
}
