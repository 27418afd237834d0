import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { FirmwareSigning } from './firmware-signing.js';
import type { StoredFirmware } from './firmware-store.js';
import { nextRunAt } from './maintenance-window.js';
import { batchesOf, newNodeRecord, parseRolloutRequest, planRollout, planSkipReason, type Plan, type RolloutDefaults, type RolloutRequest, type UnsavedImage } from './rollout-planner.js';
import { type RolloutNodeRecord, type RolloutRecord, RolloutRepository } from './rollout-repository.js';
import { overallProgress, RolloutRun, type RunContext } from './rollout-runner.js';
import {
  ACTIVE_ROLLOUT_STATUSES,
  DEFAULT_ROLLOUT_OPTIONS,
  IN_FLIGHT_STATES,
  ROLLOUT_STATUSES,
  type RolloutOptions,
  type RolloutPlanView,
  type RolloutStatus,
  type RolloutView,
} from './rollout-types.js';

/** What a rollout run needs, less what the service provides itself (repository, ownership, rollback), plus the defaults and the signing policy. */
export interface RolloutServiceDeps extends Omit<RunContext, 'repo' | 'ownedElsewhere' | 'rollBack' | 'clock' | 'scheduleCheckMs'> {
  defaults: RolloutDefaults;
  signing: FirmwareSigning;
  /** Now, ms since the epoch (default Date.now; tests inject one). */
  clock?: () => number;
  /** How often scheduled and dynamic rollouts look again, ms (default 500). */
  scheduleCheckMs?: number;
}

const HOUR = 3_600_000; // ms

/**
 * Fleet rollouts (issue 4 §3): plans them, stores them in SQLite, runs each
 * with a RolloutRun, and answers pause / resume / cancel. At start it picks up
 * every rollout a crash or restart interrupted.
 */
export class RolloutService {
  private repo: RolloutRepository | undefined;
  private readonly runs = new Map<string, RolloutRun>();
  private stopped = false;
  /** Between start() and stop(): the repository may be created (a deferred firmware database: at first use). */
  private started = false;

  constructor(private readonly deps: RolloutServiceDeps) {}

  /** Call after the firmware store started (it owns the database). */
  start(): void {
    this.stopped = false;
    this.started = true;
    // A firmware database not created yet holds no rollout: the repository waits for the first request.
    this.repo = this.deps.store.opened ? new RolloutRepository(this.deps.store.database) : undefined;
    this.deps.ota.setBusyCheck((hostname) => this.updatingRollout(hostname));
    // Active rollouts continue; finished ones with a node still unsettled are closed properly.
    for (const rec of this.repo?.list() ?? []) {
      if (ACTIVE_ROLLOUT_STATUSES.includes(rec.status) || rec.finishedAt === null) {
        this.deps.logger.info({ rolloutId: rec.id, status: rec.status }, 'picking up an interrupted rollout');
        this.launch(rec.id, true);
      }
    }
  }

  /** Stops every runner without recording anything: the next start resumes them. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.runs.values()].map((run) => run.stop()));
    this.runs.clear();
    this.repo = undefined;
    this.started = false;
  }

  create(body: unknown): RolloutPlanView {
    const request = parseRolloutRequest(body, this.deps.defaults);
    const firmware = request.image ? unsavedFirmware(request.image) : this.deps.store.getStored(request.firmwareId);
    this.deps.signing.assertMayRoll(firmware);
    const expectedVersion = firmware.imageVersion ?? firmware.version;
    const plan = planRollout(
      request.target,
      this.deps.registry.list(),
      this.deps.cluster.primaryNode,
      expectedVersion,
      request.batchSize,
      firmware.imageBytes,
      request.dynamic,
    );
    return this.begin(request, firmware, expectedVersion, plan, { kind: 'rollout', parentId: null });
  }

  /**
   * `POST /api/rollouts/{id}/retry` (issue 17 §4): a new rollout of the same
   * image, batching and thresholds for the nodes of a finished rollout that failed.
   */
  retry(id: unknown): RolloutPlanView {
    const rec = this.record(id);
    if (ACTIVE_ROLLOUT_STATUSES.includes(rec.status)) throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; retry it once it has ended (or cancel it)`);
    const failed = this.repository.nodes(rec.id).filter((n) => n.state === 'failed');
    if (failed.length === 0) throw new GatewayError('conflict', `rollout ${rec.id} has no failed node to retry`);
    const ips = failed.map((n) => this.deps.registry.getByHostname(n.hostname)?.ip).filter((ip): ip is string => ip !== undefined);
    if (ips.length === 0) throw new GatewayError('conflict', `none of the failed nodes of rollout ${rec.id} (${failed.map((n) => n.hostname).join(', ')}) is known to the gateway now`);
    const firmware = this.deps.store.getStored(rec.firmwareId);
    this.deps.signing.assertMayRoll(firmware);
    const request = this.requestLike(rec, firmware.id, { ips });
    const plan = planRollout(request.target, this.deps.registry.list(), this.deps.cluster.primaryNode, rec.expectedVersion, rec.batchSize, firmware.imageBytes);
    return this.begin(request, firmware, rec.expectedVersion, plan, { kind: 'retry', parentId: rec.id });
  }

  /**
   * `POST /api/rollouts/{id}/rollback` (issue 17 §7): every node the rollout
   * updated goes back to the image it ran before (from the rollouts' own
   * records, else the stored image of its previous version), one rollout with
   * the same batching and thresholds; nodes whose previous image is not
   * stored are listed as skipped with the reason.
   */
  rollback(id: unknown): RolloutPlanView {
    const rec = this.record(id);
    if (ACTIVE_ROLLOUT_STATUSES.includes(rec.status)) throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; cancel it (or wait until it ends) before rolling it back`);
    if (rec.options.rollbackId) throw new GatewayError('conflict', `rollout ${rec.id} was already rolled back by rollout ${rec.options.rollbackId}`);
    const updated = this.repository.nodes(rec.id).filter((n) => n.state === 'succeeded');
    if (updated.length === 0) throw new GatewayError('conflict', `rollout ${rec.id} updated no node: nothing to roll back`);
    const images = new Map<string, StoredFirmware>();
    const toUpdate: RolloutNodeRecord[] = [];
    const skipped: RolloutNodeRecord[] = [];
    for (const n of updated) {
      const live = this.deps.registry.getByHostname(n.hostname);
      const fwId =
        n.previousFirmwareId ??
        (n.previousVersion ? (this.repository.firmwareThatInstalled(n.hostname, n.previousVersion) ?? this.deps.store.findByNodeVersion(n.previousVersion, rec.firmware.name)?.id ?? null) : null);
      let image: StoredFirmware | undefined;
      if (fwId) {
        try {
          image = images.get(fwId) ?? this.deps.store.getStored(fwId);
          images.set(fwId, image);
        } catch {
          image = undefined;
        }
      }
      const base = live ?? { hostname: n.hostname, ip: n.ip, version: null, status: 'DEAD', resources: null };
      const record = newNodeRecord(base as Parameters<typeof newNodeRecord>[0], 0, null);
      if (!image) {
        record.state = 'skipped';
        record.error = `no stored image of its previous version ${n.previousVersion ?? '(unknown)'}: upload it to roll this node back`;
        skipped.push(record);
        continue;
      }
      this.deps.signing.assertMayRoll(image);
      const expected = image.imageVersion ?? image.version;
      record.firmwareId = image.id;
      record.expectedVersion = expected;
      const why = live ? planSkipReason(live, expected, image.imageBytes) : 'the node is not known to the gateway now';
      if (why) {
        record.state = 'skipped';
        record.error = why;
        skipped.push(record);
      } else toUpdate.push(record);
    }
    if (toUpdate.length === 0) {
      throw new GatewayError('conflict', `no node of rollout ${rec.id} can be rolled back: ${skipped.map((n) => `${n.hostname}: ${n.error}`).join('; ')}`);
    }
    // The rollout's own image is the one most nodes go back to; each node carries its own anyway.
    const counts = new Map<string, number>();
    for (const n of toUpdate) counts.set(n.firmwareId!, (counts.get(n.firmwareId!) ?? 0) + 1);
    const main = images.get([...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0])!;
    const primaryIp = this.deps.cluster.primaryNode;
    const ordered = [...toUpdate.filter((n) => n.ip !== primaryIp), ...toUpdate.filter((n) => n.ip === primaryIp)];
    const nodes = [...ordered, ...skipped].map((n, position) => ({ ...n, position }));
    const plan: Plan = { nodes, batches: batchesOf(ordered.map((n) => n.ip), primaryIp, rec.batchSize) };
    const request = this.requestLike(rec, main.id, { ips: ordered.map((n) => n.ip) });
    const view = this.begin(request, main, main.imageVersion ?? main.version, plan, { kind: 'rollback', parentId: rec.id });
    this.repository.updateRollout(rec.id, { options: { rollbackId: view.id } });
    this.deps.logger.info({ rolloutId: rec.id, rollbackId: view.id, nodes: ordered.length }, 'rollback started');
    return view;
  }

  /** A request with a finished rollout's settings (retry, rollback). */
  private requestLike(rec: RolloutRecord, firmwareId: string, target: RolloutRequest['target']): RolloutRequest {
    return {
      firmwareId,
      image: null,
      target,
      batchSize: rec.batchSize,
      maxFailures: rec.maxFailures,
      bootTimeoutSec: rec.bootTimeoutSec,
      dryRun: false,
      startAt: null,
      window: null,
      dynamic: false,
      dynamicForHours: 0,
      autoRollback: false,
    };
  }

  /** Records a planned rollout and starts its runner (or, with dryRun, only shows the plan). */
  private begin(
    request: RolloutRequest,
    firmware: StoredFirmware,
    expectedVersion: string | null,
    plan: Plan,
    lineage: Pick<RolloutOptions, 'kind' | 'parentId'>,
  ): RolloutPlanView {
    const t = this.clock();
    const options: RolloutOptions = {
      ...DEFAULT_ROLLOUT_OPTIONS,
      ...lineage,
      startAt: request.startAt,
      window: request.window,
      dynamic: request.dynamic,
      dynamicUntil: request.dynamic ? new Date(t + request.dynamicForHours * HOUR).toISOString() : null,
      autoRollback: request.autoRollback,
    };
    let status: RolloutStatus = 'pending';
    if (request.startAt || request.window) {
      const next = nextRunAt(request.startAt, request.window, t);
      if (next === null || next > t) {
        status = 'scheduled';
        options.waitingFor = request.startAt && Date.parse(request.startAt) > t ? 'start' : 'window';
        options.nextRunAt = next === null ? null : new Date(next).toISOString();
      }
    }
    const record: RolloutRecord = {
      id: randomUUID(),
      firmwareId: firmware.id,
      firmware: { id: firmware.id, name: firmware.name, version: firmware.version, size: firmware.size, sha256: firmware.sha256 },
      expectedVersion,
      status,
      target: request.target,
      batchSize: request.batchSize,
      maxFailures: request.maxFailures,
      bootTimeoutSec: request.bootTimeoutSec,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      options,
    };
    const warnings = rolloutWarnings(firmware, plan);
    if (request.dryRun) {
      return { ...this.repository.view(record, plan.nodes), dryRun: true, batches: plan.batches, warnings };
    }
    const busy = plan.nodes
      .filter((n) => n.state === 'pending')
      .map((n) => ({ n, owner: this.owningRollout(n.hostname) }))
      .filter((x) => x.owner !== null);
    if (busy.length > 0) {
      throw new GatewayError(
        'conflict',
        `node ${busy.map((x) => `${x.n.ip} (${x.n.hostname})`).join(', ')} already belong${busy.length === 1 ? 's' : ''} to rollout ${[...new Set(busy.map((x) => x.owner))].join(', ')}; wait for it, or cancel it`,
      );
    }
    this.repository.insert(record, plan.nodes);
    this.deps.bus.emit('rollout/progress', { rolloutId: record.id, status, nodeIp: null, state: null, progress: overallProgress(plan.nodes), error: null });
    this.deps.logger.info(
      { rolloutId: record.id, kind: options.kind, firmware: `${firmware.name} ${firmware.version}`, nodes: plan.nodes.length, batches: plan.batches, status },
      'rollout created',
    );
    if (warnings.length > 0) this.deps.logger.warn({ rolloutId: record.id, warnings }, 'rollout started despite warnings');
    this.launch(record.id, false);
    return { ...this.get(record.id), dryRun: false, batches: plan.batches, warnings };
  }

  private clock(): number {
    return (this.deps.clock ?? Date.now)();
  }

  list(status?: unknown): RolloutView[] {
    let statuses: readonly RolloutStatus[] | undefined;
    if (status !== undefined) {
      const wanted = String(status).split(',');
      const bad = wanted.filter((s) => !(ROLLOUT_STATUSES as readonly string[]).includes(s));
      if (bad.length > 0) throw new GatewayError('bad_request', `status ${JSON.stringify(bad[0])} is unknown; accepted: ${ROLLOUT_STATUSES.join(', ')}`);
      statuses = wanted as RolloutStatus[];
    }
    // The firmware database is not created yet (deferred): it holds no rollout.
    if (!this.repo && this.started && !this.deps.store.opened) return [];
    return this.repository.list(statuses).map((rec) => this.repository.view(rec));
  }

  get(id: unknown): RolloutView {
    return this.repository.view(this.record(id));
  }

  pause(id: unknown): RolloutView {
    const rec = this.record(id);
    if (rec.status !== 'running' && rec.status !== 'pending' && rec.status !== 'scheduled') {
      throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; only a running or scheduled rollout can be paused`);
    }
    this.setStatus(rec, { status: 'paused' });
    this.deps.logger.info({ rolloutId: rec.id }, 'rollout paused (nodes in progress finish; no new node starts)');
    return this.get(rec.id);
  }

  resume(id: unknown): RolloutView {
    const rec = this.record(id);
    if (rec.status !== 'paused') throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; only a paused rollout can be resumed`);
    this.setStatus(rec, { status: 'running' });
    this.deps.logger.info({ rolloutId: rec.id }, 'rollout resumed');
    this.runs.get(rec.id)?.wake();
    return this.get(rec.id);
  }

  cancel(id: unknown): RolloutView {
    const rec = this.record(id);
    if (!ACTIVE_ROLLOUT_STATUSES.includes(rec.status)) {
      throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; only a pending, scheduled, running or paused rollout can be cancelled`);
    }
    const run = this.runs.get(rec.id);
    this.setStatus(rec, { status: 'cancelled', error: 'cancelled by request' });
    if (run) {
      // Issue 17 §4: the rollout ends now, whatever its nodes are doing; uploads are cut off and
      // nodes caught mid-update are recorded cancelled, then as they really are once they return.
      run.skipPending('not updated: the rollout was cancelled');
      run.abortUploads();
      run.markInFlightCancelled();
      this.repository.updateRollout(rec.id, { finishedAt: new Date().toISOString(), options: { waitingFor: null, nextRunAt: null } });
    } else {
      // No runner (it already ended): close the record here.
      const why = 'not updated: the rollout was cancelled';
      for (const n of this.repository.nodes(rec.id).filter((x) => x.state === 'pending')) this.repository.updateNode(rec.id, n.hostname, { state: 'skipped', error: why });
      this.repository.updateRollout(rec.id, { finishedAt: new Date().toISOString() });
    }
    this.deps.logger.info({ rolloutId: rec.id }, 'rollout cancelled');
    return this.get(rec.id);
  }

  /** The active rollout whose node (hostname) is uploading, rebooting or verifying now, if any. */
  updatingRollout(hostname: string): string | null {
    if (!this.repo) return null;
    for (const rec of this.repo.list(ACTIVE_ROLLOUT_STATUSES)) {
      if (this.repo.nodes(rec.id).some((n) => n.hostname === hostname && IN_FLIGHT_STATES.includes(n.state))) return rec.id;
    }
    return null;
  }

  /** The active rollout that has this node still to do (pending or in flight), if any. */
  private owningRollout(hostname: string, except?: string): string | null {
    for (const rec of this.repository.list(ACTIVE_ROLLOUT_STATUSES)) {
      if (rec.id === except) continue;
      if (this.repository.nodes(rec.id).some((n) => n.hostname === hostname && (n.state === 'pending' || IN_FLIGHT_STATES.includes(n.state)))) return rec.id;
    }
    return null;
  }

  private launch(id: string, recover: boolean): void {
    if (this.stopped) return;
    const ctx: RunContext = {
      ...this.deps,
      repo: this.repository,
      clock: () => this.clock(),
      scheduleCheckMs: this.deps.scheduleCheckMs ?? 500,
      ownedElsewhere: (hostname, rolloutId) => this.owningRollout(hostname, rolloutId),
      rollBack: (rolloutId) => this.autoRollback(rolloutId),
    };
    const run = new RolloutRun(id, ctx, recover);
    this.runs.set(id, run);
    void run.start().finally(() => {
      if (this.runs.get(id) === run) this.runs.delete(id);
    });
  }

  /** autoRollback: the rollout failed its threshold; roll back what it updated (a failure to do so is recorded on it). */
  private autoRollback(id: string): void {
    if (this.stopped) return;
    try {
      this.rollback(id);
    } catch (err) {
      const rec = this.repository.get(id);
      const why = `autoRollback did not start: ${(err as Error).message}`;
      this.deps.logger.warn({ rolloutId: id, err: (err as Error).message }, 'autoRollback did not start');
      this.repository.updateRollout(id, { error: rec?.error ? `${rec.error}; ${why}` : why });
    }
  }

  private setStatus(rec: RolloutRecord, patch: { status: RolloutStatus; error?: string }): void {
    this.repository.updateRollout(rec.id, patch);
    const nodes = this.repository.nodes(rec.id);
    this.deps.bus.emit('rollout/progress', {
      rolloutId: rec.id,
      status: patch.status,
      nodeIp: null,
      state: null,
      progress: overallProgress(nodes),
      error: patch.error ?? rec.error,
    });
  }

  private record(id: unknown): RolloutRecord {
    const rec = typeof id === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(id) ? this.repository.get(id) : undefined;
    if (!rec) throw new GatewayError('rollout_not_found', `no rollout has id "${String(id).slice(0, 64)}"; see GET /api/rollouts`);
    return rec;
  }

  private get repository(): RolloutRepository {
    if (!this.repo && this.started) this.repo = new RolloutRepository(this.deps.store.database);
    if (!this.repo) throw new GatewayError('internal', 'the rollout service is not started');
    return this.repo;
  }
}

/**
 * What will probably go wrong with a plan (issue 12 §18): shown by the dry run, the wizard and
 * the CLI before anything is sent, and kept in the answer of a started rollout.
 */
/** A dry run's unsaved image as the planner sees a stored one (id '': not stored; it has no path). */
function unsavedFirmware(image: UnsavedImage): StoredFirmware {
  return {
    id: '',
    name: image.name,
    version: image.version,
    size: image.size,
    sha256: image.sha256,
    labels: {},
    createdAt: '',
    signature: image.signedBy ? 'verified' : 'unsigned',
    signedBy: image.signedBy ?? null,
    compressed: image.imageBytes !== image.size,
    imageBytes: image.imageBytes,
    espImage: image.espImage,
    imageVersion: image.imageVersion ?? null,
    path: '',
  };
}

export function rolloutWarnings(firmware: Pick<StoredFirmware, 'name' | 'version' | 'espImage'>, plan: Plan): string[] {
  const warnings: string[] = [];
  const toUpdate = plan.nodes.filter((n) => n.state !== 'skipped').length;
  if (!firmware.espImage && toUpdate > 0) {
    warnings.push(
      `${firmware.name} ${firmware.version} is not an ESP8266 application image (first byte is not 0xE9; it was stored with force): the ${toUpdate} node(s) will most likely reject it`,
    );
  }
  return warnings;
}
