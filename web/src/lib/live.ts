/** Small live stores fed by the WebSocket: OTA uploads, rollouts, MQTT state, telemetry. */
import { api } from './api';
import { socket } from './app-state';
import type { RolloutPlanView, RolloutView } from '../../../src/contract/firmware';
import { DEFAULT_ROLLOUT_OPTIONS } from '../../../src/contract/rollout-defaults';
import type { WsPayloads } from '../../../src/contract/ws-messages';
import { Store } from './store';

/** A rollout as GET /api/rollouts/{id} or POST /api/rollouts (a plan) answers. */
export type Rollout = RolloutView & Partial<Pick<RolloutPlanView, 'dryRun' | 'batches' | 'warnings'>>;

export type UploadStatus = WsPayloads['firmware/upload']['status'];

export interface UploadState {
  status: UploadStatus;
  sent: number;
  total: number;
  at: number;
  error?: string;
  version?: string;
}

/** The last `firmware/upload` state of every node (CONTRACT §5). */
export const uploads = new Store<Map<string, UploadState>>(new Map());

/** Rollouts by id, as GET /api/rollouts/{id} shows them, kept current by `rollout/progress`. */
export const rollouts = new Store<Map<string, Rollout>>(new Map());

export interface MqttState {
  state: WsPayloads['mqtt/status']['state'] | 'unknown';
  broker: string | null;
  error: string | null;
  at: number | null;
}

export const mqttState = new Store<MqttState>({ state: 'unknown', broker: null, error: null, at: null });

/** Last values per device from `telemetry/<device>` records (issue 6). */
export interface TelemetryValue {
  values: Record<string, unknown>;
  ts: string;
  seq: number;
  at: number;
}
export const telemetry = new Store<Map<string, TelemetryValue>>(new Map());

let started = false;
export function startLive(): void {
  if (started) return;
  started = true;

  socket.on('firmware/upload', (msgs) => {
    const map = uploads.get();
    for (const m of msgs) {
      if (typeof m.nodeIp !== 'string') continue;
      map.set(m.nodeIp, {
        status: m.status,
        sent: Number(m.sent) || 0,
        total: Number(m.total) || 0,
        at: Date.now(),
        ...(m.error ? { error: m.error } : {}),
        ...(m.version ? { version: m.version } : {}),
      });
    }
    uploads.changed();
  });

  socket.on('rollout/progress', (msgs) => {
    const map = rollouts.get();
    for (const m of msgs) {
      let r = map.get(m.rolloutId);
      if (!r) {
        // A placeholder until GET /api/rollouts/{id} answers.
        r = {
          id: m.rolloutId,
          status: m.status,
          firmware: { id: '', name: '…', version: '', size: 0, sha256: '' },
          nodes: [],
          startedAt: null,
          finishedAt: null,
          createdAt: m.timestamp,
          target: {},
          batchSize: 0,
          maxFailures: 0,
          bootTimeoutSec: 0,
          error: null,
          ...DEFAULT_ROLLOUT_OPTIONS,
        };
        map.set(m.rolloutId, r);
        void refreshRollout(m.rolloutId);
      }
      r.status = m.status;
      if (m.nodeIp && m.state) {
        let n = r.nodes.find((x) => x.ip === m.nodeIp);
        if (!n) r.nodes.push((n = { ip: m.nodeIp, hostname: m.hostname ?? m.nodeIp, state: m.state, progress: 0, error: null }));
        n.state = m.state;
        if (typeof m.progress === 'number') n.progress = m.progress;
        if (m.error !== undefined) n.error = m.error;
      }
      if (!m.nodeIp && ['succeeded', 'failed', 'cancelled'].includes(m.status) && !r.finishedAt) void refreshRollout(m.rolloutId);
    }
    rollouts.changed();
  });

  socket.on('mqtt/status', (msgs) => {
    const m = msgs[msgs.length - 1]!;
    mqttState.set({
      state: m.state ?? 'unknown',
      broker: typeof m.broker === 'string' ? m.broker : null,
      error: typeof m.error === 'string' ? m.error : null,
      at: Date.parse(m.timestamp) || Date.now(),
    });
  });

  socket.onTelemetry((msgs) => {
    const map = telemetry.get();
    for (const m of msgs) {
      const device = typeof m.device === 'string' ? m.device : m.topic.slice('telemetry/'.length);
      const values = m.values && typeof m.values === 'object' ? m.values : {};
      const prev = map.get(device);
      map.set(device, { values: { ...(prev?.values ?? {}), ...values }, ts: String(m.ts ?? m.timestamp), seq: Number(m.seq ?? 0), at: Date.now() });
    }
    telemetry.changed();
  });
}


export async function refreshRollout(id: string): Promise<Rollout | undefined> {
  try {
    const r = await api<Rollout>(`/api/rollouts/${encodeURIComponent(id)}`);
    rollouts.get().set(id, r);
    rollouts.changed();
    return r;
  } catch {
    return undefined;
  }
}
