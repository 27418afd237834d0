import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import type { AlertChannel, AlertCondition, AlertRule } from './config-schema.js';

/** What the rules look at, read at every evaluation. */
export interface AlertSources {
  nodes(): Array<{ hostname: string; ip: string; status: 'ACTIVE' | 'INACTIVE' | 'DEAD' }>;
  sinks(): Array<{ id: string; up: boolean; oldestQueuedAgeMs: number; lastError: string | null }>;
  connectors(): Array<{ id: string; state: string; lastError: string | null }>;
  /** `lastValueAt`: ms since the epoch of the device's last record, null before the first. */
  devices(): Array<{ id: string; connector: string; lastValueAt: number | null }>;
}

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One alert: a rule's condition on one subject (a node, a sink, a connector, a device, a rollout). */
export interface Alert {
  /** `<rule name>:<subject>`. */
  id: string;
  rule: string;
  when: AlertCondition;
  /** e.g. `node:node-3`, `sink:cloud`. */
  subject: string;
  state: AlertState;
  message: string;
  /** When the condition began, RFC3339. */
  since: string;
  firedAt: string | null;
  resolvedAt: string | null;
}

/** What every channel gets: the alert and whether it fired or resolved. */
export interface AlertEvent {
  event: 'raised' | 'resolved';
  gateway: string;
  alert: Alert;
}

export type AlertNotify = (channel: AlertChannel, event: AlertEvent) => void;

export interface AlertEngineDeps {
  rules: AlertRule[];
  gatewayId: string;
  sources: AlertSources;
  bus: GatewayEventBus;
  notify: AlertNotify;
  logger: Logger;
  evaluateIntervalMs: number;
  historySize: number;
  clock?: () => number;
}

interface Tracked {
  alert: Alert;
  rule: AlertRule;
  sinceMs: number;
}

/** The default thresholdMs of `device.failing`, ms. */
const DEVICE_SILENCE_MS = 60_000;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Alert rules (issue 15 §2): every `evaluateIntervalMs` each rule's condition
 * is checked per subject; one that holds for the rule's `for` fires (an
 * `raised` event to the rule's channels), and resolves (a `resolved` event)
 * when it no longer holds. `rollout.failed` fires when a rollout fails and
 * resolves when a later rollout succeeds.
 */
export class AlertEngine {
  private readonly tracked = new Map<string, Tracked>();
  private readonly resolved: Alert[] = [];
  private readonly failedRollouts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private off: (() => void) | undefined;
  private readonly clock: () => number;

  constructor(private deps: AlertEngineDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  start(): void {
    this.off = this.deps.bus.on('rollout/progress', (p) => {
      if (p.nodeIp !== null) return;
      if (p.status === 'failed') this.failedRollouts.set(p.rolloutId, this.clock());
      if (p.status === 'succeeded') this.failedRollouts.clear();
      this.evaluate();
    });
    this.timer = setInterval(() => this.evaluate(), this.deps.evaluateIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.off?.();
  }

  /** New rules apply at the next evaluation; alerts of rules that are gone resolve. */
  setRules(rules: AlertRule[]): void {
    this.deps = { ...this.deps, rules };
    this.evaluate();
  }

  /** Firing alerts, and the most recently resolved ones (newest first). */
  list(): { active: Alert[]; recent: Alert[]; rules: number } {
    return {
      active: [...this.tracked.values()].filter((t) => t.alert.state === 'firing').map((t) => ({ ...t.alert })),
      recent: [...this.resolved].reverse(),
      rules: this.deps.rules.length,
    };
  }

  /** Checks every rule now. */
  evaluate(): void {
    const now = this.clock();
    const holding = new Map<string, { rule: AlertRule; subject: string; message: string; sinceMs?: number }>();
    for (const [index, rule] of this.deps.rules.entries()) {
      let found: Array<{ subject: string; message: string; sinceMs?: number }>;
      try {
        found = this.conditions(rule, now);
      } catch (err) {
        this.deps.logger.warn({ err, rule: rule.name ?? rule.when }, 'alerts: could not evaluate a rule');
        continue;
      }
      const name = ruleName(rule, index);
      for (const f of found) holding.set(`${name}:${f.subject}`, { rule, ...f });
    }
    for (const [id, h] of holding) {
      let t = this.tracked.get(id);
      if (!t) {
        const sinceMs = h.sinceMs ?? now;
        t = {
          rule: h.rule,
          sinceMs,
          alert: { id, rule: id.slice(0, id.length - h.subject.length - 1), when: h.rule.when, subject: h.subject, state: 'pending', message: h.message, since: iso(sinceMs), firedAt: null, resolvedAt: null },
        };
        this.tracked.set(id, t);
      }
      t.alert.message = h.message;
      if (t.alert.state === 'pending' && now - t.sinceMs >= h.rule.for) {
        t.alert.state = 'firing';
        t.alert.firedAt = iso(now);
        this.deps.logger.warn({ alert: id, message: h.message }, 'alert raised');
        this.send(t.rule, 'raised', t.alert);
      }
    }
    for (const [id, t] of [...this.tracked]) {
      if (holding.has(id)) continue;
      this.tracked.delete(id);
      // A condition that cleared before its `for` never fired: nothing to resolve.
      if (t.alert.state !== 'firing') continue;
      t.alert.state = 'resolved';
      t.alert.resolvedAt = iso(now);
      this.deps.logger.info({ alert: id }, 'alert resolved');
      this.resolved.push({ ...t.alert });
      if (this.resolved.length > this.deps.historySize) this.resolved.shift();
      this.send(t.rule, 'resolved', t.alert);
    }
  }

  private send(rule: AlertRule, event: 'raised' | 'resolved', alert: Alert): void {
    for (const channel of rule.notify) {
      try {
        this.deps.notify(channel, { event, gateway: this.deps.gatewayId, alert: { ...alert } });
      } catch (err) {
        this.deps.logger.error({ err, channel }, 'alerts: notification failed');
      }
    }
  }

  private conditions(rule: AlertRule, now: number): Array<{ subject: string; message: string; sinceMs?: number }> {
    const { sources } = this.deps;
    const wanted = (id: string): boolean => !rule.only || rule.only.includes(id);
    switch (rule.when) {
      case 'node.dead':
        return sources.nodes().filter((n) => n.status === 'DEAD' && wanted(n.hostname)).map((n) => ({ subject: `node:${n.hostname}`, message: `node ${n.hostname} (${n.ip}) is DEAD` }));
      case 'node.inactive':
        return sources.nodes().filter((n) => n.status !== 'ACTIVE' && wanted(n.hostname)).map((n) => ({ subject: `node:${n.hostname}`, message: `node ${n.hostname} (${n.ip}) is ${n.status}` }));
      case 'sink.down':
        return sources.sinks().filter((s) => !s.up && wanted(s.id)).map((s) => ({ subject: `sink:${s.id}`, message: `sink ${s.id} is down${s.lastError ? `: ${s.lastError}` : ''}` }));
      case 'sink.backlogAboveMs':
        return sources
          .sinks()
          .filter((s) => s.oldestQueuedAgeMs > rule.thresholdMs! && wanted(s.id))
          .map((s) => ({ subject: `sink:${s.id}`, message: `sink ${s.id}: the oldest queued record is ${Math.round(s.oldestQueuedAgeMs / 1000)} s old (limit ${Math.round(rule.thresholdMs! / 1000)} s)` }));
      case 'connector.down':
        return sources
          .connectors()
          .filter((c) => c.state !== 'connected' && c.state !== 'stopped' && wanted(c.id))
          .map((c) => ({ subject: `connector:${c.id}`, message: `connector ${c.id} is ${c.state}${c.lastError ? `: ${c.lastError}` : ''}` }));
      case 'device.failing': {
        const limit = rule.thresholdMs ?? DEVICE_SILENCE_MS;
        return sources
          .devices()
          .filter((d) => wanted(d.id) && (d.lastValueAt === null || now - d.lastValueAt > limit))
          .map((d) => ({ subject: `device:${d.id}`, message: d.lastValueAt === null ? `device ${d.id} has sent no value yet` : `device ${d.id}: no value for ${Math.round((now - d.lastValueAt) / 1000)} s` }));
      }
      case 'rollout.failed':
        // An event, not a state: it holds from the failure until a later rollout succeeds.
        return [...this.failedRollouts]
          .filter(([id]) => wanted(id))
          .map(([id, at]) => ({ subject: `rollout:${id}`, message: `rollout ${id} failed`, sinceMs: at - rule.for }));
    }
  }
}

/** A rule's name: its own, or its condition (with its index when several rules share one). */
export function ruleName(rule: AlertRule, index: number): string {
  return rule.name ?? `${rule.when}#${index + 1}`;
}
