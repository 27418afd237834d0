import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { parseRolloutRequest, planRollout, type RolloutDefaults } from './rollout-planner.js';
import { type RolloutRecord, RolloutRepository } from './rollout-repository.js';
import { overallProgress, RolloutRun, type RunContext } from './rollout-runner.js';
import {
  ACTIVE_ROLLOUT_STATUSES,
  IN_FLIGHT_STATES,
  ROLLOUT_STATUSES,
  type RolloutPlanView,
  type RolloutStatus,
  type RolloutView,
} from './rollout-types.js';

/** What a rollout run needs, less the repository the service opens itself, plus the defaults. */
export interface RolloutServiceDeps extends Omit<RunContext, 'repo'> {
  defaults: RolloutDefaults;
}

/**
 * Fleet rollouts (issue 4 §3): plans them, stores them in SQLite, runs each
 * with a RolloutRun, and answers pause / resume / cancel. At start it picks up
 * every rollout a crash or restart interrupted.
 */
export class RolloutService {
  private repo: RolloutRepository | undefined;
  private readonly runs = new Map<string, RolloutRun>();
  private stopped = false;

  constructor(private readonly deps: RolloutServiceDeps) {}

  /** Call after the firmware store started (it owns the database). */
  start(): void {
    this.stopped = false;
    this.repo = new RolloutRepository(this.deps.store.database);
    this.deps.ota.setBusyCheck((hostname) => this.updatingRollout(hostname));
    // Active rollouts continue; finished ones with a node still unsettled are closed properly.
    for (const rec of this.repository.list()) {
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
  }

  create(body: unknown): RolloutPlanView {
    const request = parseRolloutRequest(body, this.deps.defaults);
    const firmware = this.deps.store.getStored(request.firmwareId);
    const expectedVersion = firmware.imageVersion ?? firmware.version;
    const plan = planRollout(request.target, this.deps.registry.list(), this.deps.cluster.primaryNode, expectedVersion, request.batchSize);
    const record: RolloutRecord = {
      id: randomUUID(),
      firmwareId: firmware.id,
      firmware: { id: firmware.id, name: firmware.name, version: firmware.version, size: firmware.size, sha256: firmware.sha256 },
      expectedVersion,
      status: 'pending',
      target: request.target,
      batchSize: request.batchSize,
      maxFailures: request.maxFailures,
      bootTimeoutSec: request.bootTimeoutSec,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    if (request.dryRun) {
      return { ...this.repository.view(record, plan.nodes), dryRun: true, batches: plan.batches };
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
    this.deps.bus.emit('rollout/progress', { rolloutId: record.id, status: 'pending', nodeIp: null, state: null, progress: overallProgress(plan.nodes), error: null });
    this.deps.logger.info({ rolloutId: record.id, firmware: `${firmware.name} ${firmware.version}`, nodes: plan.nodes.length, batches: plan.batches }, 'rollout created');
    this.launch(record.id, false);
    return { ...this.get(record.id), dryRun: false, batches: plan.batches };
  }

  list(status?: unknown): RolloutView[] {
    let statuses: readonly RolloutStatus[] | undefined;
    if (status !== undefined) {
      const wanted = String(status).split(',');
      const bad = wanted.filter((s) => !(ROLLOUT_STATUSES as readonly string[]).includes(s));
      if (bad.length > 0) throw new GatewayError('bad_request', `status ${JSON.stringify(bad[0])} is unknown; accepted: ${ROLLOUT_STATUSES.join(', ')}`);
      statuses = wanted as RolloutStatus[];
    }
    return this.repository.list(statuses).map((rec) => this.repository.view(rec));
  }

  get(id: unknown): RolloutView {
    return this.repository.view(this.record(id));
  }

  pause(id: unknown): RolloutView {
    const rec = this.record(id);
    if (rec.status !== 'running' && rec.status !== 'pending') {
      throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; only a running rollout can be paused`);
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
      throw new GatewayError('conflict', `rollout ${rec.id} is ${rec.status}; only a pending, running or paused rollout can be cancelled`);
    }
    const run = this.runs.get(rec.id);
    this.setStatus(rec, { status: 'cancelled', error: 'cancelled by request' });
    if (run) {
      run.skipPending('not updated: the rollout was cancelled');
      run.abortUploads();
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
  private owningRollout(hostname: string): string | null {
    for (const rec of this.repository.list(ACTIVE_ROLLOUT_STATUSES)) {
      if (this.repository.nodes(rec.id).some((n) => n.hostname === hostname && (n.state === 'pending' || IN_FLIGHT_STATES.includes(n.state)))) return rec.id;
    }
    return null;
  }

  private launch(id: string, recover: boolean): void {
    if (this.stopped) return;
    const ctx: RunContext = { ...this.deps, repo: this.repository };
    const run = new RolloutRun(id, ctx, recover);
    this.runs.set(id, run);
    void run.start().finally(() => {
      if (this.runs.get(id) === run) this.runs.delete(id);
    });
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
    if (!this.repo) throw new GatewayError('internal', 'the rollout service is not started');
    return this.repo;
  }
}
