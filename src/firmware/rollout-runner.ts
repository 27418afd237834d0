import type { ClusterManager } from '../cluster/cluster-manager.js';
import type { NodeRegistry } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import type { NodeClient } from '../node-client/node-client.js';
import { sleepUnlessAborted } from '../util/concurrency.js';
import type { FirmwareStore } from './firmware-store.js';
import type { OtaService } from './ota-service.js';
import type { NodePatch, RolloutNodeRecord, RolloutRecord, RolloutRepository } from './rollout-repository.js';
import { doesNotFit } from './flash-fit.js';
import { nextRunAt } from './maintenance-window.js';
import { newNodeRecord, planSkipReason } from './rollout-planner.js';
import { ACTIVE_ROLLOUT_STATUSES, IN_FLIGHT_STATES, SETTLED_STATES, type RolloutWaiting } from './rollout-types.js';

export interface RunContext {
  repo: RolloutRepository;
  store: FirmwareStore;
  registry: NodeRegistry;
  cluster: Pick<ClusterManager, 'primaryNode'>;
  ota: OtaService;
  client: NodeClient;
  bus: GatewayEventBus;
  logger: Logger;
  /** Now, ms since the epoch: schedules, windows and late-joiner deadlines read it (tests inject one). */
  clock: () => number;
  /** How often a scheduled or dynamic rollout looks at the clock and the registry again, ms. */
  scheduleCheckMs: number;
  /** The other active rollout that has this node still to do, if any (late joiners are never taken from another rollout). */
  ownedElsewhere: (hostname: string, rolloutId: string) => string | null;
  /** autoRollback: starts the rollback of a rollout that failed its threshold. */
  rollBack: (rolloutId: string) => void;
}

/** Upload progress is written and announced at most this often per node. */
const PROGRESS_EVERY_MS = 250; // ms
/** While waiting for nodes to be heard after a restart, the registry is checked this often. */
const RECOVERY_CHECK_MS = 200; // ms

/**
 * Drives one rollout: batch after batch (the primary last), each node through
 * uploading → rebooting → verifying → succeeded | failed, every transition
 * written to SQLite first and then announced (`rollout/progress`). The
 * database is the source of truth: pause, resume and cancel change the stored
 * status and wake the loop, which re-reads it between batches.
 *
 * `recover` (after a gateway restart): first wait, up to the boot timeout, for
 * the rollout's nodes to be heard again; then re-check each node that was
 * caught mid-update — already on the new version → succeeded, otherwise
 * retried once (a second interruption fails it). Nothing is left stuck.
 */
export class RolloutRun {
  /** Aborts uploads: cancel and shutdown. */
  private readonly uploads = new AbortController();
  /** Aborts everything without recording anything (shutdown: the next start recovers). */
  private readonly shutdown = new AbortController();
  private wakeUp: (() => void) | undefined;
  private done: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  /** Resolves on cancel: the loop stops waiting for its batch (issue 17 §4: cancel ends the rollout at once). */
  private cancelled = false;
  private onCancel: (() => void) | undefined;
  private readonly cancelSignal = new Promise<void>((resolve) => {
    this.onCancel = resolve;
  });
  /** Node updates still running after the loop stopped waiting for them (cancel). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    readonly id: string,
    private readonly ctx: RunContext,
    private readonly recover: boolean,
  ) {
    this.log = ctx.logger.child({ rolloutId: id });
  }

  start(): Promise<void> {
    this.done = this.loop()
      .catch((err: unknown) => {
      if (this.shutdown.signal.aborted) return;
      // A bug must not leave the rollout silently stuck: record it.
      this.log.error({ err }, 'rollout runner failed');
      const rec = this.ctx.repo.get(this.id);
      if (rec && rec.finishedAt === null) {
        this.setRollout({ status: 'failed', error: `internal error: ${(err as Error).message}`, finishedAt: now() });
      }
    })
      // Nodes the cancel cut off are still watched until they return (bounded by the boot timeout).
      .then(() => Promise.allSettled([...this.background]))
      .then(() => undefined);
    return this.done;
  }

  /** Re-read the stored status now (after pause/resume/cancel). */
  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  /** Cancel: uploads in progress stop at once; nodes already rebooting are still watched to record the truth. */
  abortUploads(): void {
    this.cancelled = true;
    this.uploads.abort(new GatewayError('conflict', 'the rollout was cancelled'));
    this.onCancel?.();
    this.wake();
  }

  /** Shutdown: stop without recording anything; the next start resumes from the database. */
  async stop(): Promise<void> {
    this.shutdown.abort(new Error('gateway stopping'));
    this.uploads.abort(new Error('gateway stopping'));
    this.wake();
    await this.done;
  }

  private get stopping(): boolean {
    return this.shutdown.signal.aborted;
  }

  private async loop(): Promise<void> {
    const first = this.rollout();
    if (first.status === 'pending') this.setRollout({ status: 'running', startedAt: first.startedAt ?? now() });
    if (this.recover) await this.recoverNodes();
    for (;;) {
      if (this.stopping) return;
      const rec = this.rollout();
      if (rec.status === 'paused') {
        await this.sleep();
        continue;
      }
      if (!ACTIVE_ROLLOUT_STATUSES.includes(rec.status)) {
        // failed or cancelled (pending nodes already skipped), or succeeded: close the record.
        const nodes = this.ctx.repo.nodes(this.id);
        if (nodes.some((n) => n.state === 'pending')) this.skipPending(`not updated: the rollout ${rec.status}`);
        if (rec.status === 'cancelled') this.markInFlightCancelled(nodes);
        if (rec.finishedAt === null) this.setRollout({ finishedAt: now(), options: { waitingFor: null, nextRunAt: null } });
        this.log.info({ status: rec.status }, 'rollout finished');
        if (rec.status === 'failed' && rec.options.autoRollback && rec.options.rollbackId === null) this.ctx.rollBack(this.id);
        return;
      }
      let nodes = this.ctx.repo.nodes(this.id);
      if (this.checkThreshold(rec, nodes)) continue;
      if (rec.options.dynamic) nodes = this.takeJoiners(rec, nodes);
      const batch = this.nextBatch(nodes, rec.batchSize);
      if (batch.length === 0) {
        const until = rec.options.dynamicUntil ? Date.parse(rec.options.dynamicUntil) : 0;
        if (rec.options.dynamic && this.ctx.clock() < until) {
          // Open for late joiners (issue 17 §6) until dynamicUntil.
          this.setWaiting(rec, 'joiners', null);
          await this.sleepFor(this.ctx.scheduleCheckMs);
          continue;
        }
        this.setRollout({ status: 'succeeded', finishedAt: now(), options: { waitingFor: null, nextRunAt: null } });
        continue;
      }
      if (!(await this.gate(rec))) continue;
      this.log.info({ batch: batch.map((n) => n.ip) }, 'rollout batch starting');
      const work = Promise.all(batch.map((node) => this.updateNode(rec, node)));
      this.background.add(work);
      void work.finally(() => this.background.delete(work));
      await Promise.race([work, this.cancelSignal]);
    }
  }

  /**
   * Start time and maintenance window (issue 17 §5): true when a batch may
   * start now; otherwise the rollout is `scheduled` (with when it runs next)
   * and this waits a little before the loop looks again. A window closing
   * while a batch runs lets that batch finish; the next one waits.
   */
  private async gate(rec: RolloutRecord): Promise<boolean> {
    const { startAt, window } = rec.options;
    if (!startAt && !window) return true;
    const t = this.ctx.clock();
    const next = nextRunAt(startAt, window, t);
    if (next !== null && next <= t) {
      if (rec.status !== 'running' || rec.options.waitingFor !== null) {
        this.log.info({ window }, 'rollout may run: its start time passed and its window is open');
        this.setRollout({ status: 'running', startedAt: rec.startedAt ?? now(), options: { waitingFor: null, nextRunAt: null } });
      }
      return true;
    }
    const waitingFor: RolloutWaiting = startAt && Date.parse(startAt) > t ? 'start' : 'window';
    const nextIso = next === null ? null : new Date(next).toISOString();
    if (rec.status !== 'scheduled' || rec.options.waitingFor !== waitingFor || rec.options.nextRunAt !== nextIso) {
      this.log.info({ waitingFor, nextRunAt: nextIso }, 'rollout scheduled: waiting for its start time or its window');
      this.setRollout({ status: 'scheduled', options: { waitingFor, nextRunAt: nextIso } });
    }
    await this.sleepFor(this.ctx.scheduleCheckMs);
    return false;
  }

  private setWaiting(rec: RolloutRecord, waitingFor: RolloutWaiting, nextRunAtIso: string | null): void {
    if (rec.options.waitingFor === waitingFor && rec.options.nextRunAt === nextRunAtIso) return;
    this.setRollout({ options: { waitingFor, nextRunAt: nextRunAtIso } });
  }

  /**
   * Late joiners (issue 17 §6): ACTIVE nodes with the target's labels, not on
   * the image's version and not in this rollout yet (or skipped because they
   * were offline when it was planned), become pending for the next batch.
   */
  private takeJoiners(rec: RolloutRecord, nodes: RolloutNodeRecord[]): RolloutNodeRecord[] {
    if (!rec.options.dynamicUntil || this.ctx.clock() >= Date.parse(rec.options.dynamicUntil)) return nodes;
    const labels = rec.target.labels ?? {};
    let imageBytes: number | null = null;
    try {
      imageBytes = this.ctx.store.get(rec.firmwareId).imageBytes;
    } catch {
      return nodes; // the image is gone: the next batch fails on it anyway
    }
    const byHost = new Map(nodes.map((n) => [n.hostname, n]));
    const added: RolloutNodeRecord[] = [];
    let position = nodes.reduce((max, n) => Math.max(max, n.position), -1) + 1;
    for (const live of this.ctx.registry.list()) {
      if (live.status !== 'ACTIVE' || !Object.entries(labels).every(([k, v]) => live.labels[k] === v)) continue;
      if (rec.expectedVersion !== null && live.version === rec.expectedVersion) continue;
      const known = byHost.get(live.hostname);
      if (known && !(known.state === 'skipped' && known.attempts === 0 && /^the node was (INACTIVE|DEAD)/.test(known.error ?? ''))) continue;
      if (this.ctx.ownedElsewhere(live.hostname, this.id)) continue;
      const why = planSkipReason(live, rec.expectedVersion, imageBytes);
      if (known) {
        this.log.info({ hostname: live.hostname, nodeIp: live.ip }, 'a node offline at planning is back: joins the rollout');
        this.setNode(known, { state: 'pending', ip: live.ip, error: null, previousVersion: live.version });
        continue;
      }
      const record = newNodeRecord(live, position++, why);
      added.push(record);
      this.log.info({ hostname: live.hostname, nodeIp: live.ip, skipped: why }, 'a late joiner enters the dynamic rollout');
    }
    if (added.length === 0) return byHost.size === nodes.length ? this.ctx.repo.nodes(this.id) : nodes;
    this.ctx.repo.addNodes(this.id, added);
    for (const n of added) this.announceNode(n);
    return this.ctx.repo.nodes(this.id);
  }

  /** Cancel: nodes caught mid-update are recorded cancelled now; their watch records what they run when they return. */
  markInFlightCancelled(nodes: RolloutNodeRecord[] = this.ctx.repo.nodes(this.id)): void {
    for (const n of nodes.filter((x) => IN_FLIGHT_STATES.includes(x.state))) {
      const what = n.state === 'uploading' ? 'its upload was cut off' : `it was ${n.state}`;
      this.setNode(n, { state: 'cancelled', error: `cancelled while ${what}; what it runs is checked when it returns` });
    }
  }

  /** The next pending nodes in plan order; the node that is primary right now goes last and alone. */
  private nextBatch(nodes: RolloutNodeRecord[], batchSize: number): RolloutNodeRecord[] {
    const pending = nodes.filter((n) => n.state === 'pending');
    const primaryIp = this.ctx.cluster.primaryNode;
    const primaryHost = primaryIp ? this.ctx.registry.getByIp(primaryIp)?.hostname : undefined;
    const others = pending.filter((n) => n.hostname !== primaryHost);
    return others.length > 0 ? others.slice(0, batchSize) : pending.slice(0, 1);
  }

  /** Failures beyond maxFailures: the rollout fails and no further node is touched. Returns true when it did. */
  private checkThreshold(rec: RolloutRecord, nodes = this.ctx.repo.nodes(this.id)): boolean {
    if (!ACTIVE_ROLLOUT_STATUSES.includes(rec.status)) return false;
    const failures = nodes.filter((n) => n.state === 'failed').length;
    if (failures <= rec.maxFailures) return false;
    const error = `${failures} node${failures === 1 ? '' : 's'} failed, more than maxFailures (${rec.maxFailures})`;
    this.log.warn({ failures, maxFailures: rec.maxFailures }, 'rollout failed: too many failures');
    this.skipPending('not updated: the rollout failed');
    this.setRollout({ status: 'failed', error });
    return true;
  }

  /** Marks every pending node skipped (the rollout failed or was cancelled). */
  skipPending(why: string): void {
    const pending = this.ctx.repo.nodes(this.id).filter((n) => n.state === 'pending');
    this.ctx.repo.transaction(() => {
      for (const n of pending) this.ctx.repo.updateNode(this.id, n.hostname, { state: 'skipped', error: why });
    });
    for (const n of pending) this.announceNode({ ...n, state: 'skipped', error: why });
  }

  private async updateNode(rec: RolloutRecord, node: RolloutNodeRecord): Promise<void> {
    const { registry, ota, store } = this.ctx;
    const live = registry.getByHostname(node.hostname);
    if (!live || live.status !== 'ACTIVE') {
      this.nodeFailed(node, `the node was ${live ? live.status : 'not heard by the gateway'} when its turn came`);
      return;
    }
    const previousVersion = live.version;
    const previousUptime = live.uptime;
    const expectedVersion = node.firmwareId ? node.expectedVersion : rec.expectedVersion;
    let image;
    try {
      image = store.getStored(node.firmwareId ?? rec.firmwareId);
    } catch (err) {
      this.nodeFailed(node, (err as Error).message);
      return;
    }
    // Issue 17 §2: checked again with what the node reports now, before a byte is sent.
    const noRoom = doesNotFit(image.imageBytes, live.resources);
    if (noRoom) {
      this.log.warn({ nodeIp: live.ip, hostname: node.hostname, reason: noRoom }, 'rollout node skipped: the image does not fit');
      this.setNode(node, { state: 'skipped', ip: live.ip, error: noRoom });
      return;
    }
    // What it ran before, from the rollouts' own records, else the store (issue 17 §7: rollbacks).
    const previousFirmwareId =
      previousVersion === null ? null : (this.ctx.repo.firmwareThatInstalled(node.hostname, previousVersion) ?? store.findByNodeVersion(previousVersion, image.name)?.id ?? null);
    this.setNode(node, { state: 'uploading', progress: 0, error: null, ip: live.ip, attempts: node.attempts + 1, previousVersion, previousFirmwareId });
    let lastWrite = 0;
    let lastPercent = 0;
    /** Bytes of the image handed to the connection so far. */
    let handedOver = 0;
    let result;
    try {
      result = await ota.upload(
        live,
        { path: image.path, size: image.size, sha256: image.sha256, filename: `${image.name}-${image.version}.${image.compressed ? 'bin.gz' : 'bin'}`, version: expectedVersion },
        {
          signal: this.uploads.signal,
          onProgress: (sent, total) => {
            handedOver = sent;
            // 100 % means "the node accepted it"; bytes sent stop at 99.
            const percent = Math.min(99, Math.floor((sent * 100) / Math.max(total, 1)));
            const t = Date.now();
            if (percent === lastPercent || t - lastWrite < PROGRESS_EVERY_MS) return;
            lastWrite = t;
            lastPercent = percent;
            this.setNode(node, { progress: percent });
          },
        },
      );
    } catch (err) {
      if (this.stopping) return; // recorded as uploading: the next start re-checks it
      if (this.uploads.signal.aborted) {
        if (handedOver < image.size) {
          // Part of the image never left the gateway: the node cannot have a complete image.
          this.setNode(node, { state: 'cancelled', error: `upload cancelled: the node kept its previous firmware${previousVersion ? ` (${previousVersion})` : ''}` });
        } else {
          this.setNode(node, { state: 'cancelled', error: 'upload cut off by the cancel after the last byte left; what the node runs is checked when it returns' });
          await this.settleCutUpload(rec, node, live.ip, expectedVersion, previousVersion, previousUptime);
        }
        return;
      }
      this.nodeFailed(node, `upload failed: ${(err as Error).message}`);
      return;
    }
    if (!result.success) {
      this.nodeFailed(node, `the node refused the image: ${summarise(result.nodeResponse)}`);
      return;
    }
    this.setNode(node, { state: 'rebooting', progress: 100 });
    let outcome;
    try {
      outcome = await ota.verify({
        node: { ip: live.ip, hostname: node.hostname },
        expectedVersion,
        previousVersion,
        previousUptime,
        timeoutMs: rec.bootTimeoutSec * 1000,
        total: image.size,
        signal: this.shutdown.signal,
        onReturned: (ip) => {
          if (!this.cancelled) this.setNode(node, { state: 'verifying', ip });
        },
      });
    } catch (err) {
      if (this.stopping) return;
      throw err;
    }
    const late = this.cancelled ? ' (after the rollout was cancelled)' : '';
    if (outcome.verified) this.setNode(node, { state: 'succeeded', ip: outcome.ip, error: this.cancelled ? `updated before the cancel: the node ${outcome.reason}` : null });
    else this.nodeFailed(node, `the node ${outcome.reason}${late}`, outcome.ip);
  }

  /**
   * A cancel cut this node's upload after every byte had left the gateway. The
   * kernel may hold the whole image, in which case the node still receives it,
   * flashes and reboots: watch it (up to the boot timeout) before recording
   * what it runs.
   */
  private async settleCutUpload(
    rec: RolloutRecord,
    node: RolloutNodeRecord,
    ip: string,
    expectedVersion: string | null,
    previousVersion: string | null,
    previousUptime: number | null,
  ): Promise<void> {
    let outcome;
    try {
      outcome = await this.ctx.ota.verify({
        node: { ip, hostname: node.hostname },
        expectedVersion,
        previousVersion,
        previousUptime,
        timeoutMs: rec.bootTimeoutSec * 1000,
        total: rec.firmware.size,
        signal: this.shutdown.signal,
        announce: false,
      });
    } catch (err) {
      if (this.stopping) return;
      throw err;
    }
    if (outcome.verified) {
      this.setNode(node, { state: 'succeeded', progress: 100, ip: outcome.ip, error: 'the node had received the whole image before the cancel and runs it' });
    } else if (outcome.kind === 'not-back') {
      this.setNode(node, { state: 'failed', ip: outcome.ip, error: `upload cancelled; the node ${outcome.reason}` });
    } else {
      const runs = outcome.version ?? previousVersion;
      this.setNode(node, { state: 'cancelled', ip: outcome.ip, error: `upload cancelled: the node kept its previous firmware${runs ? ` (${runs})` : ''}` });
    }
  }

  private nodeFailed(node: RolloutNodeRecord, error: string, ip?: string): void {
    this.log.warn({ nodeIp: ip ?? node.ip, hostname: node.hostname, error }, 'rollout node failed');
    this.setNode(node, { state: 'failed', error, ...(ip ? { ip } : {}) });
    this.checkThreshold(this.rollout());
  }

  /** After a restart: wait for the nodes, then settle every node caught mid-update. */
  private async recoverNodes(): Promise<void> {
    const rec = this.rollout();
    const nodes = this.ctx.repo.nodes(this.id);
    const inFlight = nodes.filter((n) => IN_FLIGHT_STATES.includes(n.state));
    const awaited = nodes.filter((n) => !SETTLED_STATES.includes(n.state));
    if (awaited.length === 0) return;
    this.log.info({ inFlight: inFlight.map((n) => n.hostname), waitingFor: awaited.length }, 'resuming rollout after a restart');
    const deadline = Date.now() + rec.bootTimeoutSec * 1000;
    while (!this.stopping && Date.now() < deadline) {
      if (awaited.every((n) => this.ctx.registry.getByHostname(n.hostname)?.status === 'ACTIVE')) break;
      await sleepUnlessAborted(RECOVERY_CHECK_MS, this.shutdown.signal);
    }
    if (this.stopping) return;
    const active = ACTIVE_ROLLOUT_STATUSES.includes(rec.status);
    await Promise.all(inFlight.map((n) => this.recheck(rec, n, active)));
  }

  /**
   * A node the crash caught mid-update may still be receiving the image the
   * kernel had buffered, flashing it or rebooting — so it is watched (up to
   * the boot timeout), not judged from one reading: back on the new version →
   * succeeded; rebooted into another version, or no sign of a reboot (the
   * upload was cut off) → retried once; silent and never back → failed.
   */
  private async recheck(rec: RolloutRecord, node: RolloutNodeRecord, mayRetry: boolean): Promise<void> {
    const live = this.ctx.registry.getByHostname(node.hostname);
    if (!live) {
      this.nodeFailed(node, `the node was not heard within the boot timeout (${rec.bootTimeoutSec} s) after the gateway restarted`);
      return;
    }
    let uptime: number | null = live.uptime;
    try {
      const { status } = await this.ctx.client.getStatus(live.ip);
      if (typeof status.uptime === 'number') uptime = status.uptime;
    } catch {
      // Rebooting right now: the watch below sees it come back.
    }
    if (this.stopping) return;
    this.log.info({ hostname: node.hostname, was: node.state }, 're-checking a node caught mid-update');
    let outcome;
    try {
      outcome = await this.ctx.ota.verify({
        node: { ip: live.ip, hostname: node.hostname },
        expectedVersion: node.firmwareId ? node.expectedVersion : rec.expectedVersion,
        previousVersion: node.previousVersion,
        previousUptime: uptime,
        timeoutMs: rec.bootTimeoutSec * 1000,
        total: rec.firmware.size,
        signal: this.shutdown.signal,
        onReturned: (ip) => {
          if (node.state !== 'uploading') this.setNode(node, { state: 'verifying', ip });
        },
      });
    } catch (err) {
      if (this.stopping) return;
      throw err;
    }
    if (outcome.verified) {
      this.setNode(node, { state: 'succeeded', progress: 100, ip: outcome.ip, error: null });
      return;
    }
    if (outcome.kind === 'not-back') {
      this.nodeFailed(node, `the node ${outcome.reason} after the gateway restarted`, outcome.ip);
      return;
    }
    if (!mayRetry || node.attempts >= 2) {
      const why = mayRetry ? 'its update was interrupted twice by a gateway restart' : 'its update was interrupted by a gateway restart';
      this.nodeFailed(node, `${why}; the node ${outcome.reason}`, outcome.ip);
      return;
    }
    if (!ACTIVE_ROLLOUT_STATUSES.includes(this.rollout().status)) {
      // Cancelled or failed while the node was being watched: no retry, and no node left pending.
      this.setNode(node, { state: 'skipped', ip: outcome.ip, error: `not retried: the rollout is ${this.rollout().status}; the node ${outcome.reason}` });
      return;
    }
    this.log.info({ hostname: node.hostname, was: node.state, reason: outcome.reason }, 'retrying a node caught mid-update');
    this.setNode(node, { state: 'pending', progress: 0, ip: outcome.ip, error: `retrying: the gateway restarted while the node was ${node.state}; it ${outcome.reason}` });
  }

  private rollout(): RolloutRecord {
    const rec = this.ctx.repo.get(this.id);
    if (!rec) throw new Error(`rollout ${this.id} vanished from the database`);
    return rec;
  }

  private setRollout(patch: Parameters<RolloutRepository['updateRollout']>[1]): void {
    this.ctx.repo.updateRollout(this.id, patch);
    const rec = this.rollout();
    const nodes = this.ctx.repo.nodes(this.id);
    this.ctx.bus.emit('rollout/progress', {
      rolloutId: this.id,
      status: rec.status,
      nodeIp: null,
      state: null,
      progress: overallProgress(nodes),
      error: rec.error,
    });
  }

  /** Writes a node's change, then announces it. */
  private setNode(node: RolloutNodeRecord, patch: NodePatch): void {
    this.ctx.repo.updateNode(this.id, node.hostname, patch);
    Object.assign(node, patch);
    this.announceNode(node);
  }

  private announceNode(node: RolloutNodeRecord): void {
    this.ctx.bus.emit('rollout/progress', {
      rolloutId: this.id,
      status: this.rollout().status,
      nodeIp: node.ip,
      state: node.state,
      progress: node.progress,
      hostname: node.hostname,
      error: node.error,
    });
  }

  private sleep(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }

  /** Sleeps `ms`, or less when woken (pause/resume/cancel/stop). */
  private sleepFor(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/** Percent of targeted nodes settled (succeeded, failed, skipped). */
export function overallProgress(nodes: readonly RolloutNodeRecord[]): number {
  if (nodes.length === 0) return 100;
  return Math.floor((nodes.filter((n) => SETTLED_STATES.includes(n.state)).length * 100) / nodes.length);
}

function summarise(response: unknown): string {
  const text = typeof response === 'string' ? response : JSON.stringify(response);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || '(empty answer)';
}

function now(): string {
  return new Date().toISOString();
}

