import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FirmwareCheck, FirmwareRecord } from '../../firmware/firmware-store.js';
import type { NodeUpdateResult } from '../../firmware/ota-service.js';
import type { NodeClient } from '../../node-client/node-client.js';
import { isValidIpv4 } from '../../protocol/ip.js';
import { CliFailure, UsageError } from './cli-options.js';
import { type Command, type CommandContext, requireFile, requireIp } from './command-context.js';
import { findStored, sha256File, uploadToStore } from './commands-firmware.js';
import { followRollout } from './commands-rollout.js';
import { directClient, resolveApiNode } from './direct-node.js';
import { bytes, ProgressView, table } from './output.js';

/** `spore ota update <ip> <file>`: one node; waits for the gateway's verdict on its return. */
export const otaUpdate: Command = async (ctx) => {
  const ip = requireIp(ctx.args[0]!);
  const file = ctx.args[1]!;
  await requireFile(file);
  return ctx.direct ? directUpdate(ctx, ip, file) : gatewayUpdate(ctx, ip, file);
};

/** `spore ota all <file|id|name@version>`: a rollout over the fleet (or, with --direct, node after node like ctl.sh). */
export const otaAll: Command = async (ctx) => (ctx.direct ? directAll(ctx) : gatewayAll(ctx));

async function gatewayUpdate(ctx: CommandContext, ip: string, file: string): Promise<number> {
  const view = new ProgressView(ctx.out);
  const label = `${ip} ${basename(file)}`;
  let verdict: Record<string, any> | undefined;
  let wake: (() => void) | undefined;
  // Listen first: the upload's progress and the later verification only go out on the WebSocket.
  const events = await ctx.api.openEvents((m) => {
    if (m.topic !== 'firmware/upload' || m.nodeIp !== ip) return;
    if (m.status === 'progress' || m.status === 'started') {
      view.render(`Updating ${ip}`, [{ key: ip, label, state: 'uploading', progress: m.total ? (m.sent * 100) / m.total : 0 }]);
    }
    if (m.status === 'verified' || m.status === 'unverified') {
      verdict = m;
      wake?.();
    }
  });
  try {
    const bootTimeout = ctx.flags.get('boot-timeout') as number | undefined;
    view.render(`Updating ${ip}`, [{ key: ip, label, state: 'uploading', progress: 0 }]);
    const result = await ctx.api.uploadFile<NodeUpdateResult>(`/api/node/update?ip=${ip}${bootTimeout ? `&bootTimeoutSec=${bootTimeout}` : ''}`, file);
    if (!result.success) {
      view.render(`Updating ${ip}`, [{ key: ip, label, state: 'failed', progress: 100, error: 'the node refused the image' }]);
      throw new CliFailure(`node ${ip} refused the image: ${JSON.stringify(result.nodeResponse)}`, result);
    }
    view.render(`Updating ${ip}`, [{ key: ip, label, state: 'rebooting', progress: 100 }]);
    if (ctx.flags.get('no-wait') === true) {
      if (ctx.out.mode === 'json') ctx.out.json(result);
      else ctx.out.line(`Node ${ip} accepted ${bytes(result.size)} (sha256 ${result.sha256.slice(0, 12)}…); not waiting for its return`);
      return 0;
    }
    // The gateway always reports a verdict by its boot timeout; Ctrl-C stops waiting.
    while (!verdict && !ctx.signal.aborted) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        const timer = setTimeout(resolve, 500);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
    if (!verdict) {
      ctx.out.error(`stopped waiting; node ${ip} accepted the image and the gateway keeps checking its return`);
      return 130;
    }
    const ok = verdict.status === 'verified';
    view.render(`Updating ${ip}`, [{ key: ip, label, state: ok ? 'verified' : 'unverified', progress: 100, error: ok ? null : verdict.error }]);
    const summary = { ...result, verification: { status: verdict.status, version: verdict.version ?? null, error: verdict.error ?? null } };
    if (!ok) throw new CliFailure(`node ${ip} could not be verified: ${verdict.error ?? 'no return seen'}`, summary);
    if (ctx.out.mode === 'json') ctx.out.json(summary);
    else ctx.out.line(`Node ${ip} is back${verdict.version ? ` on version ${verdict.version}` : ''}: verified`);
    return 0;
  } finally {
    events.close();
  }
}

async function gatewayAll(ctx: CommandContext): Promise<number> {
  const dryRun = ctx.flags.get('dry-run') === true;
  const firmware = await resolveFirmware(ctx, ctx.args[0]!, dryRun);
  const target: Record<string, unknown> = {};
  if (ctx.flags.has('labels')) target.labels = ctx.flags.get('labels');
  if (ctx.flags.has('ips')) target.ips = ctx.flags.get('ips');
  // A dry run of a file the store does not have plans against the checked, unsaved image.
  const body: Record<string, unknown> = 'id' in firmware ? { firmwareId: firmware.id, target } : { image: unsavedImage(firmware), target };
  if (ctx.flags.has('batch')) body.batchSize = ctx.flags.get('batch');
  if (ctx.flags.has('max-failures')) body.maxFailures = ctx.flags.get('max-failures');
  if (ctx.flags.has('boot-timeout')) body.bootTimeoutSec = ctx.flags.get('boot-timeout');
  if (dryRun) body.dryRun = true;
  if (ctx.flags.has('at')) body.startAt = ctx.flags.get('at');
  if (ctx.flags.has('window')) body.window = ctx.flags.get('window');
  if (ctx.flags.get('dynamic') === true) body.dynamic = true;
  if (ctx.flags.has('dynamic-hours')) body.dynamicForHours = ctx.flags.get('dynamic-hours');
  if (ctx.flags.get('auto-rollback') === true) body.autoRollback = true;
  const plan = await ctx.api.createRollout(body);
  // Issue 12 §18: an image the nodes will reject is said before anything is sent (on stderr: scripts see it too).
  for (const w of plan.warnings ?? []) ctx.out.error(`warning: ${w}`);
  if (plan.dryRun) {
    if (ctx.out.mode === 'json') ctx.out.json(plan);
    else {
      ctx.out.line(`Plan for ${firmware.name} ${firmware.version}${'id' in firmware ? '' : ' (not stored)'} (nothing changed):`);
      plan.batches.forEach((b, i) => ctx.out.line(`  batch ${i + 1}: ${b.join(', ')}`));
      for (const n of plan.nodes.filter((x) => x.state === 'skipped')) ctx.out.line(`  skipped ${n.ip} ${n.hostname}: ${n.error}`);
    }
    return 0;
  }
  const count = plan.nodes.filter((n) => n.state !== 'skipped').length;
  if (plan.status === 'scheduled') ctx.out.line(`Rollout ${plan.id} scheduled: ${firmware.name} ${firmware.version} to ${count} node(s); it runs from ${plan.nextRunAt ?? 'its window'}`);
  else ctx.out.line(`Rollout ${plan.id} started: ${firmware.name} ${firmware.version} to ${count} node(s) in ${plan.batches.length} batch(es)`);
  for (const n of plan.nodes.filter((x) => x.state === 'skipped')) ctx.out.line(`  skipped ${n.ip} ${n.hostname}: ${n.error}`);
  if (ctx.flags.get('no-wait') === true) {
    if (ctx.out.mode === 'json') ctx.out.json(plan);
    return 0;
  }
  return followRollout(ctx, plan.id);
}

/**
 * A file (reused when the store already has the same bytes), or a stored id / name@version.
 * In a dry run a new file is only checked by the gateway (every check of an upload), not stored.
 */
async function resolveFirmware(ctx: CommandContext, ref: string, dryRun: boolean): Promise<FirmwareRecord | FirmwareCheck> {
  const info = await stat(ref).catch(() => null);
  if (info?.isFile()) {
    const sha = await sha256File(ref);
    const name = ctx.flags.get('name') as string | undefined;
    const version = ctx.flags.get('version') as string | undefined;
    const stored = (await ctx.api.listFirmware()).find((f) => f.sha256 === sha && (!name || f.name === name) && (!version || f.version === version));
    if (stored) {
      ctx.out.line(`Using stored firmware ${stored.name} ${stored.version} (${stored.id}): same bytes`);
      return stored;
    }
    if (dryRun) {
      const checked = await uploadToStore(ctx, ref, { dryRun: true });
      ctx.out.line(`Checked ${checked.name} ${checked.version} (${bytes(checked.size)}): it would be stored; the dry run stores nothing`);
      return checked;
    }
    const record = await uploadToStore(ctx, ref);
    ctx.out.line(`Stored ${record.name} ${record.version} as ${record.id}`);
    return record;
  }
  const stored = await findStored(ctx, ref);
  if (!stored) throw new UsageError(`<file> ${JSON.stringify(ref)}: no such file, and no stored firmware has that id or name@version`);
  return stored;
}

/** The fields of a check a rollout dry run plans with (`image` of POST /api/rollouts). */
function unsavedImage(c: FirmwareCheck): Record<string, unknown> {
  return { name: c.name, version: c.version, imageVersion: c.imageVersion, size: c.size, sha256: c.sha256, imageBytes: c.imageBytes, espImage: c.espImage, signedBy: c.signedBy };
}

/** --direct: POST the image to the node itself, as ctl.sh did. */
async function directUpdate(ctx: CommandContext, ip: string, file: string): Promise<number> {
  const client = directClient(ctx.nodePort ?? 80);
  try {
    const result = await uploadDirect(ctx, client, ip, file, new ProgressView(ctx.out));
    if (!result.accepted) throw new CliFailure(`node ${ip} refused the image: ${result.nodeResponse}`, result);
    if (ctx.out.mode === 'json') ctx.out.json(result);
    else ctx.out.line(`Node ${ip} accepted the image and reboots`);
    return 0;
  } finally {
    client.close();
  }
}

/** --direct `ota all`: every member API_NODE knows, one after the other, API_NODE itself last. */
async function directAll(ctx: CommandContext): Promise<number> {
  const file = ctx.args[0]!;
  await requireFile(file);
  for (const flag of ['batch', 'boot-timeout', 'name', 'version', 'dry-run', 'no-wait', 'at', 'window', 'dynamic', 'dynamic-hours', 'auto-rollback']) {
    if (ctx.flags.has(flag)) throw new UsageError(`option -${flag} needs the gateway; with -direct "spore ota all" accepts -labels, -ips, -max-failures`);
  }
  const apiNode = await resolveApiNode(ctx.env, ctx.cwd);
  const client = directClient(apiNode.port ?? ctx.nodePort ?? 80);
  try {
    const { members } = await client.getMembers(apiNode.host);
    const labels = (ctx.flags.get('labels') as Record<string, string> | undefined) ?? {};
    const ips = ctx.flags.get('ips') as string[] | undefined;
    const targets = members
      .filter((m) => isValidIpv4(m.ip) && (!ips || ips.includes(m.ip)) && Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
      .sort((a, b) => Number(a.ip === apiNode.host) - Number(b.ip === apiNode.host));
    if (targets.length === 0) throw new CliFailure('no cluster member matches; see spore cluster members -direct');
    const maxFailures = (ctx.flags.get('max-failures') as number | undefined) ?? 0;
    const view = new ProgressView(ctx.out);
    const results: Array<{ ip: string; hostname: string; accepted: boolean; error?: string }> = [];
    for (const m of targets) {
      if (results.filter((r) => !r.accepted).length > maxFailures) {
        results.push({ ip: m.ip, hostname: m.hostname, accepted: false, error: 'skipped: too many failures' });
        continue;
      }
      try {
        const r = await uploadDirect(ctx, client, m.ip, file, view);
        results.push({ ip: m.ip, hostname: m.hostname, accepted: r.accepted, ...(r.accepted ? {} : { error: r.nodeResponse }) });
      } catch (err) {
        results.push({ ip: m.ip, hostname: m.hostname, accepted: false, error: (err as Error).message });
      }
    }
    const failed = results.filter((r) => !r.accepted).length;
    if (ctx.out.mode !== 'json') ctx.out.line(table(['IP', 'HOSTNAME', 'RESULT'], results.map((r) => [r.ip, r.hostname, r.accepted ? 'accepted' : `failed: ${r.error}`])));
    if (failed > 0) throw new CliFailure(`${failed} of ${results.length} node(s) not updated`, results);
    if (ctx.out.mode === 'json') ctx.out.json(results);
    return 0;
  } finally {
    client.close();
  }
}

async function uploadDirect(
  ctx: CommandContext,
  client: NodeClient,
  ip: string,
  file: string,
  view: ProgressView,
): Promise<{ ip: string; accepted: boolean; status: number; nodeResponse: string }> {
  const { size } = await stat(file);
  const label = `${ip} ${basename(file)}`;
  view.render(`Updating ${ip} directly`, [{ key: ip, label, state: 'uploading', progress: 0 }]);
  const res = await client.uploadFirmware(ip, file, {
    size,
    filename: basename(file),
    idleTimeoutMs: 30_000,
    onProgress: (sent) => view.render(`Updating ${ip} directly`, [{ key: ip, label, state: 'uploading', progress: Math.min(99, (sent * 100) / Math.max(size, 1)) }]),
  });
  const text = res.body.toString('utf8');
  let accepted = res.status >= 200 && res.status < 300;
  try {
    const body = JSON.parse(text) as { status?: unknown };
    if (typeof body.status === 'string' && /^(fail|error)/i.test(body.status)) accepted = false;
  } catch {
    // not JSON: the HTTP status decides
  }
  view.render(`Updating ${ip} directly`, [{ key: ip, label, state: accepted ? 'accepted' : 'failed', progress: 100, error: accepted ? null : text.slice(0, 120) }]);
  return { ip, accepted, status: res.status, nodeResponse: text.slice(0, 500) };
}
