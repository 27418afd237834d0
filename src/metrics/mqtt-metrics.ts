import type { MqttService } from '../mqtt/mqtt-service.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/** MQTT bridge metrics: messages and bytes both ways, drops, reconnects, connection state. */
export function registerMqttMetrics(metrics: GatewayMetrics, mqtt: MqttService): void {
  const stats = () => mqtt.connection?.stats();
  metrics.gauge('spore_mqtt_connected', '1 while the MQTT bridge is connected', () => (stats()?.state === 'connected' ? 1 : 0));
  metrics.counter(
    'spore_mqtt_messages_total',
    'MQTT messages received (in) and published (out) by the bridge',
    () => [
      { labels: { direction: 'in' }, value: stats()?.messagesIn ?? 0 },
      { labels: { direction: 'out' }, value: stats()?.messagesOut ?? 0 },
    ],
    ['direction'],
  );
  metrics.counter(
    'spore_mqtt_bytes_total',
    'MQTT payload bytes received (in) and published (out)',
    () => [
      { labels: { direction: 'in' }, value: stats()?.bytesIn ?? 0 },
      { labels: { direction: 'out' }, value: stats()?.bytesOut ?? 0 },
    ],
    ['direction'],
  );
  metrics.counter(
    'spore_mqtt_dropped_total',
    'MQTT messages not forwarded: duplicates and rate-limited',
    () => [
      { labels: { reason: 'duplicate' }, value: stats()?.drops.duplicate ?? 0 },
      { labels: { reason: 'rate_limited' }, value: stats()?.drops.rateLimited ?? 0 },
    ],
    ['reason'],
  );
  metrics.counter('spore_mqtt_reconnects_total', 'MQTT reconnection attempts', () => stats()?.reconnects ?? 0);
}
