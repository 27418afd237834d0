import { api } from './api';
import { socket } from './app-state';
import { Store } from './store';
import type { AlertWsPayload } from '../../../src/contract/ws-messages';

/** `GET /api/health` (CONTRACT §4): the header pill shows its status, the reasons on click. */
export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  timestamp: string;
  components: Record<string, { status: 'up' | 'down' | 'disabled'; [detail: string]: unknown }>;
}

/** An alert as `GET /api/alerts` lists it and `alert/raised`/`alert/resolved` carry it. */
export type AlertView = AlertWsPayload['alert'];

export const health = new Store<HealthReport | null>(null);
export const alerts = new Store<{ active: AlertView[]; recent: AlertView[]; loaded: boolean }>({ active: [], recent: [], loaded: false });

/** Why the gateway is not healthy: one line per component that is down. */
export function healthReasons(report: HealthReport | null): Array<{ component: string; reason: string }> {
  if (!report) return [];
  return Object.entries(report.components)
    .filter(([, c]) => c.status === 'down')
    .map(([component, c]) => {
      const detail = c.lastError ?? c.error ?? c.state ?? (c.connected === false ? 'not connected' : null);
      return { component, reason: typeof detail === 'string' && detail ? detail : 'down' };
    });
}

async function refreshHealth(): Promise<void> {
  try {
    health.set(await api<HealthReport>('/api/health'));
  } catch (err) {
    // An unhealthy gateway answers 503 with the same report.
    const body = (err as { body?: unknown }).body as HealthReport | undefined;
    if (body && typeof body === 'object' && 'components' in body) health.set(body);
  }
}

async function refreshAlerts(): Promise<void> {
  try {
    const list = await api<{ active: AlertView[]; recent: AlertView[] }>('/api/alerts');
    alerts.set({ active: list.active, recent: list.recent, loaded: true });
  } catch {
    // older gateway or no access: keep what we have
  }
}

/** A browser notification for a raised alert, when the user allowed them. */
function notify(alert: AlertView, event: 'raised' | 'resolved'): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    new Notification(event === 'raised' ? `Alert: ${alert.subject}` : `Resolved: ${alert.subject}`, { body: alert.message, tag: alert.id });
  } catch {
    // some browsers only allow notifications from a service worker
  }
}

let started = false;
/** Polls health every 5 s and follows alerts live (`alert/raised`, `alert/resolved`). */
export function startHealthWatch(): void {
  if (started) return;
  started = true;
  void refreshHealth();
  void refreshAlerts();
  setInterval(() => {
    if (document.visibilityState === 'visible') void refreshHealth();
  }, 5000);
  socket.onOpen(() => void refreshAlerts());
  socket.on('alert/raised', (msgs) => {
    for (const m of msgs) notify(m.alert, 'raised');
    void refreshAlerts();
    void refreshHealth();
  });
  socket.on('alert/resolved', (msgs) => {
    for (const m of msgs) notify(m.alert, 'resolved');
    void refreshAlerts();
    void refreshHealth();
  });
}
