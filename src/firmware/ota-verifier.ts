import type { NodeRegistry } from '../cluster/node-registry.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { NodeClient } from '../node-client/node-client.js';

export interface ReturnWatch {
  /** The node's identity; its address may change across the reboot (CONTRACT §2). */
  hostname: string;
  /** Its address when the upload was answered. */
  ip: string;
  /** The version the node must report after booting the new image, when known. */
  expectedVersion: string | null;
  /** What the node reported before the update (registry), when known. */
  previousVersion: string | null;
  /** Its uptime before the update (any unit: only compared with itself), when known. */
  previousUptime: number | null;
  /** The boot timeout, ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** First sign the node is back (for the rollout's rebooting → verifying transition). */
  onReturned?: (ip: string) => void;
}

export interface ReturnOutcome {
  verified: boolean;
  /**
   * `verified`; `wrong-version` (rebooted, reports another version); `no-reboot`
   * (answered throughout, no sign of a reboot); `not-back` (went silent and did not return).
   */
  kind: 'verified' | 'wrong-version' | 'no-reboot' | 'not-back';
  /** Where the node is now. */
  ip: string;
  /** The version it reported after the update, if it reported one. */
  version: string | null;
  /** Why, in one sentence (shown as the error of an unverified node). */
  reason: string;
}

export interface OtaVerifierOptions {
  /** The node's /api/node/status is read this often while waiting, ms. */
  pollIntervalMs: number;
  /** Deadline of one status read, ms (a rebooting node does not answer). */
  statusTimeoutMs: number;
}

/**
 * Watches a node come back after an OTA upload (issue 4 §2). Evidence that it
 * rebooted: a fresh NODE_UPDATE, heartbeats resuming after a silence
 * (`node/resumed`), its HTTP API failing and answering again, or its uptime
 * dropping. Then, when the node reports a version (NODE_UPDATE or
 * /api/node/status), it must be the new one. A node that reports the expected
 * new version has rebooted by definition. Nothing is decided on a guess: with
 * no evidence by the boot timeout the outcome is `unverified`.
 */
export class OtaVerifier {
  constructor(
    private readonly registry: NodeRegistry,
    private readonly client: NodeClient,
    private readonly bus: GatewayEventBus,
    private readonly options: OtaVerifierOptions,
  ) {}

  watch(w: ReturnWatch): Promise<ReturnOutcome> {
    return new Promise<ReturnOutcome>((resolve, reject) => {
      const started = Date.now();
      let ip = w.ip;
      let rebooted = false;
      let returned = false;
      let sawDown = false;
      /** Heard from (datagram or status answer) after a failed status read. */
      let answeredSinceDown = false;
      let lastDownAt = 0;
      let lastVersion: string | null = null;
      let settled = false;
      let polling = false;
      let pollTimer: NodeJS.Timeout | undefined;
      const offs: Array<() => void> = [];

      const finish = (outcome: Omit<ReturnOutcome, 'ip'> | Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(pollTimer);
        clearTimeout(deadline);
        for (const off of offs) off();
        w.signal?.removeEventListener('abort', onAbort);
        if (outcome instanceof Error) reject(outcome);
        else resolve({ ...outcome, ip });
      };
      const markReturned = (): void => {
        if (returned) return;
        returned = true;
        try {
          w.onReturned?.(ip);
        } catch {
          // A progress callback must not break the verification.
        }
      };
      /** Decides when the evidence allows it; otherwise keeps waiting. */
      const evaluate = (version: string | null | undefined, versionless: boolean): void => {
        if (settled) return;
        if (version) lastVersion = version;
        const expected = w.expectedVersion;
        if (version && expected !== null && version === expected && (expected !== w.previousVersion || rebooted)) {
          markReturned();
          return finish({ verified: true, kind: 'verified', version, reason: `came back on version ${version}` });
        }
        if (!rebooted) return;
        markReturned();
        if (version) {
          if (expected === null) return finish({ verified: true, kind: 'verified', version, reason: `came back on version ${version}` });
          return finish({ verified: false, kind: 'wrong-version', version, reason: `came back on version ${version}, expected ${expected}` });
        }
        if (versionless) return finish({ verified: true, kind: 'verified', version: null, reason: 'came back (it does not report a version)' });
        // Back, but its version is not known yet: read it now.
        schedulePoll(0);
      };

      const poll = async (): Promise<void> => {
        if (settled || polling) return;
        polling = true;
        try {
          const current = this.registry.getByHostname(w.hostname);
          if (current) ip = current.ip;
          const status = await this.readStatus(ip);
          if (settled) return;
          if (status === null) {
            sawDown = true;
            answeredSinceDown = false;
            lastDownAt = Date.now();
            return;
          }
          answeredSinceDown = true;
          const uptime = typeof status.uptime === 'number' ? status.uptime : null;
          // Uptime, when both readings exist, is the better witness: a node that missed one
          // status read because it was busy has not necessarily rebooted.
          if (uptime !== null && w.previousUptime !== null) rebooted ||= uptime < w.previousUptime;
          else if (sawDown) rebooted = true;
          const version = typeof status.version === 'string' && status.version.length > 0 ? status.version : null;
          evaluate(version, version === null);
        } finally {
          polling = false;
          if (!settled) schedulePoll(this.options.pollIntervalMs);
        }
      };
      const schedulePoll = (delayMs: number): void => {
        if (settled) return;
        clearTimeout(pollTimer);
        pollTimer = setTimeout(() => void poll(), delayMs);
      };

      offs.push(
        this.bus.on('node/update', (e) => {
          if (e.hostname !== w.hostname) return;
          ip = e.nodeIp;
          answeredSinceDown = true;
          const uptime = typeof e.info.uptime === 'number' ? e.info.uptime : null;
          const version = typeof e.info.version === 'string' && e.info.version.length > 0 ? e.info.version : null;
          const dropped = uptime !== null && w.previousUptime !== null && uptime < w.previousUptime;
          // A fresh NODE_UPDATE announces a boot (issue 4 §2) — unless it still names the old
          // version with no other sign of a reboot: then the node may simply not have rebooted yet.
          const unchanged = w.expectedVersion === null ? version === w.previousVersion : version !== w.expectedVersion;
          const oldVersionOnly = version !== null && unchanged && !dropped && !sawDown;
          if (dropped || !oldVersionOnly) rebooted = true;
          evaluate(version, false);
        }),
        this.bus.on('node/resumed', (e) => {
          if (e.hostname !== w.hostname) return;
          ip = e.nodeIp;
          answeredSinceDown = true;
          rebooted = true;
          evaluate(null, false);
        }),
      );

      const timeoutS = Math.round(w.timeoutMs / 100) / 10;
      const deadline = setTimeout(() => {
        const elapsed = Math.round((Date.now() - started) / 100) / 10;
        // Heartbeats count too: a node whose HTTP API is merely slow has not gone anywhere.
        const heardSinceDown = answeredSinceDown || (this.registry.getByHostname(w.hostname)?.lastSeen ?? 0) > lastDownAt;
        if (sawDown && !heardSinceDown) {
          finish({ verified: false, kind: 'not-back', version: lastVersion, reason: `did not come back within the boot timeout (${timeoutS} s)` });
        } else if (lastVersion !== null && lastVersion !== w.expectedVersion) {
          finish({ verified: false, kind: rebooted ? 'wrong-version' : 'no-reboot', version: lastVersion, reason: `still reports version ${lastVersion} after ${elapsed} s (expected ${w.expectedVersion ?? 'a reboot'})` });
        } else {
          finish({ verified: false, kind: 'no-reboot', version: lastVersion, reason: `showed no sign of a reboot within the boot timeout (${timeoutS} s)` });
        }
      }, w.timeoutMs);
      const onAbort = (): void => finish(w.signal?.reason instanceof Error ? w.signal.reason : new Error('verification aborted'));
      if (w.signal?.aborted) return onAbort();
      w.signal?.addEventListener('abort', onAbort, { once: true });
      schedulePoll(Math.min(this.options.pollIntervalMs, 250));
    });
  }

  /** The node's /api/node/status, or null when it does not answer (rebooting). */
  private async readStatus(ip: string): Promise<Record<string, unknown> | null> {
    try {
      const res = await this.client.request(ip, 'GET', '/api/node/status', { idleTimeoutMs: this.options.statusTimeoutMs });
      if (res.status < 200 || res.status >= 300) return null;
      const body: unknown = JSON.parse(res.body.toString('utf8'));
      return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
}
