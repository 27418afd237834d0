import { isUtf8 } from 'node:buffer';

/**
 * The WebSocket format of an MQTT message (CONTRACT §5):
 * `{"topic","data","timestamp","source":"mqtt"}`, plus `"encoding":"base64"`
 * when the payload is not valid UTF-8, plus (MQTT 5) `contentType` and
 * `userProperties`. Built by string concatenation: a message is serialised
 * once, then the same string goes to every client, the retention buffer and
 * the replay.
 */
export interface Mqtt5Extras {
  contentType?: string;
  userProperties?: Record<string, string | string[]>;
}

export function formatMqttMessage(topic: string, payload: Buffer, timestamp: string, extras?: Mqtt5Extras): string {
  let out: string;
  if (isUtf8(payload)) {
    out = `{"topic":${JSON.stringify(topic)},"data":${JSON.stringify(payload.toString('utf8'))},"timestamp":"${timestamp}","source":"mqtt"`;
  } else {
    out = `{"topic":${JSON.stringify(topic)},"data":"${payload.toString('base64')}","timestamp":"${timestamp}","source":"mqtt","encoding":"base64"`;
  }
  if (extras) {
    if (extras.contentType !== undefined) out += `,"contentType":${JSON.stringify(extras.contentType)}`;
    if (extras.userProperties !== undefined) out += `,"userProperties":${JSON.stringify(extras.userProperties)}`;
  }
  return out + '}';
}

/** A stored message marked as replayed (`"replay":true` as its last field). */
export function markReplayed(json: string): string {
  return json.slice(0, -1) + ',"replay":true}';
}

/**
 * RFC3339 timestamps with milliseconds; recomputed only when the clock moves
 * (at 50,000 messages/s most messages share a millisecond).
 */
export class TimestampCache {
  private lastMs = -1;
  private lastText = '';

  now(ms: number = Date.now()): string {
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastText = new Date(ms).toISOString();
    }
    return this.lastText;
  }
}
