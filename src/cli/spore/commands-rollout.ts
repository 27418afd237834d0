import type { RolloutView } from '../../firmware/rollout-types.js';
import { type Command, type CommandContext, notInDirectMode, sleep } from './command-context.js';
import { ProgressView, table } from './output.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** `spore rollout list [-status s]`. */
export const rolloutList: Command = async (ctx) => {
  notInDirectMode(ctx, 'rollout list');
  const status = ctx.flags.get('status') as string | undefined;
  const list = await ctx.api.get<RolloutView[]>(`/api/rollouts${status ? `?status=${encodeURIComponent(status)}` : ''}`);
  if (ctx.out.mode === 'json') {
    ctx.out.json(list);
    return 0;
  }
  if (list.length === 0) {
    ctx.out.line('No rollouts.');
    return 0;
  }
  const rows = list.map((r) => [r.id, r.status, `${r.firmware.name} ${r.firmware.version}`, counts(r), r.startedAt ?? '-', r.finishedAt ?? '-']);
  ctx.out.line(table(['ID', 'STATUS', 'FIRMWARE', 'NODES', 'STARTED', 'FINISHED'], rows));
  return 0;
};

/** `spore rollout status <id> [-follow]`. */
export const rolloutStatus: Command = async (ctx) => {
  notInDirectMode(ctx, 'rollout status');
  const id = ctx.args[0]!;
  if (ctx.flags.get('follow') === true) return followRollout(ctx, id);
  const rollout = await ctx.api.getRollout(id);
  if (ctx.out.mode === 'json') ctx.out.json(rollout);
  else printRollout(ctx, rollout);
  return 0;
};

/** `spore rollout pause|resume|cancel <id>`. */
export function rolloutControl(action: 'pause' | 'resume' | 'cancel'): Command {
  return async (ctx) => {
    notInDirectMode(ctx, `rollout ${action}`);
    const rollout = await ctx.api.post<RolloutView>(`/api/rollouts/${encodeURIComponent(ctx.args[0]!)}/${action}`);
    if (ctx.out.mode === 'json') ctx.out.json(rollout);
    else ctx.out.line(`Rollout ${rollout.id} is ${rollout.status}${action === 'pause' ? ' (nodes already updating finish; no new node starts)' : ''}`);
    return 0;
  };
}

/** `spore rollout retry|rollback <id>`: a new rollout for the failed nodes, or back to the previous images (issue 17 §4, §7). */
export function rolloutFollowUp(action: 'retry' | 'rollback'): Command {
  return async (ctx) => {
    notInDirectMode(ctx, `rollout ${action}`);
    const rollout = await ctx.api.post<RolloutView & { batches: string[][] }>(`/api/rollouts/${encodeURIComponent(ctx.args[0]!)}/${action}`);
    if (ctx.out.mode === 'json') ctx.out.json(rollout);
    else {
      const count = rollout.nodes.filter((n) => n.state !== 'skipped').length;
      ctx.out.line(`Rollout ${rollout.id} (${action} of ${ctx.args[0]}) started: ${count} node(s) in ${rollout.batches.length} batch(es) — spore rollout status ${rollout.id} -follow`);
      for (const n of rollout.nodes.filter((x) => x.state === 'skipped')) ctx.out.line(`  skipped ${n.ip} ${n.hostname}: ${n.error}`);
    }
    return 0;
  };
}

/**
 * Follows a rollout until it ends: live bars on a terminal, one line per
 * change when piped, the final state with --json. Exit 0 only if it succeeded.
 * Ctrl-C stops following; the rollout goes on in the gateway.
 */
export async function followRollout(ctx: CommandContext, id: string): Promise<number> {
  const view = new ProgressView(ctx.out);
  let rollout: RolloutView;
  for (;;) {
    rollout = await ctx.api.getRollout(id);
    view.render(header(rollout, ctx.out.mode === 'tty'), rollout.nodes.map((n) => ({ key: n.hostname, label: `${n.ip.padEnd(15)} ${n.hostname}`, state: n.state, progress: n.progress, error: n.error })));
    if (TERMINAL.includes(rollout.status) && rollout.finishedAt !== null) break;
    if (ctx.signal.aborted) {
      ctx.out.error(`stopped following; rollout ${id} goes on in the gateway (spore rollout status ${id} -follow, spore rollout cancel ${id})`);
      return 130;
    }
    await sleep(ctx.out.mode === 'tty' ? 250 : 500, ctx.signal);
  }
  if (ctx.out.mode === 'json') ctx.out.json(rollout);
  else ctx.out.line(`Rollout ${rollout.status}: ${counts(rollout)}${rollout.error ? ` — ${rollout.error}` : ''}`);
  if (rollout.status !== 'succeeded') {
    ctx.out.error(`rollout ${id} ${rollout.status}${rollout.error ? `: ${rollout.error}` : ''}`);
    return 1;
  }
  const failed = rollout.nodes.filter((n) => n.state === 'failed');
  if (failed.length > 0) {
    // Within maxFailures the rollout succeeds, but a script should still notice.
    ctx.out.error(`rollout ${id} succeeded with ${failed.length} failed node(s) within maxFailures: ${failed.map((n) => n.ip).join(', ')}`);
    return 1;
  }
  return 0;
}

function printRollout(ctx: CommandContext, r: RolloutView): void {
  ctx.out.line(header(r));
  ctx.out.line(`  target ${JSON.stringify(r.target)}  batch ${r.batchSize}  maxFailures ${r.maxFailures}  bootTimeout ${r.bootTimeoutSec} s`);
  ctx.out.line(`  started ${r.startedAt ?? '-'}  finished ${r.finishedAt ?? '-'}${r.error ? `  error: ${r.error}` : ''}`);
  const extras = [
    r.kind !== 'rollout' ? `${r.kind} of ${r.parentId}` : null,
    r.startAt ? `startAt ${r.startAt}` : null,
    r.window ? `window ${r.window.days.join(',')} ${r.window.from}-${r.window.to} ${r.window.timezone}` : null,
    r.dynamic ? `dynamic until ${r.dynamicUntil}` : null,
    r.autoRollback ? 'autoRollback' : null,
    r.rollbackId ? `rolled back by ${r.rollbackId}` : null,
    r.waitingFor ? `waiting for ${r.waitingFor === 'joiners' ? 'late joiners' : `its ${r.waitingFor}`}${r.nextRunAt ? ` (${r.nextRunAt})` : ''}` : null,
  ].filter(Boolean);
  if (extras.length > 0) ctx.out.line(`  ${extras.join('  ')}`);
  ctx.out.line(table(['IP', 'HOSTNAME', 'STATE', 'PROGRESS', 'ERROR'], r.nodes.map((n) => [n.ip, n.hostname, n.state, `${n.progress}%`, n.error ?? ''])));
}

/** On a terminal the id is shortened to keep the live block within the width. */
function header(r: RolloutView, short = false): string {
  return `Rollout ${short ? `${r.id.slice(0, 8)}…` : r.id}  ${r.firmware.name} ${r.firmware.version}  ${r.status}  (${counts(r)})`;
}

/**
 * "2/3 updated, 1 failed, 1 skipped": the denominator is the nodes the rollout updates — the
 * same N as "started … to N node(s)"; skipped nodes are counted apart (issue 12 §17).
 */
export function counts(r: Pick<RolloutView, 'nodes'>): string {
  const by = (s: string) => r.nodes.filter((n) => n.state === s).length;
  const done = by('succeeded');
  const parts = [`${done}/${r.nodes.length - by('skipped')} updated`];
  if (by('failed')) parts.push(`${by('failed')} failed`);
  if (by('skipped')) parts.push(`${by('skipped')} skipped`);
  return parts.join(', ');
}
