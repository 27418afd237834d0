import { createWriteStream, openAsBlob } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliFailure } from './cli-options.js';
import { type Command, notInDirectMode, requireFile } from './command-context.js';
import { bytes } from './output.js';

/** `spore backup <file>`: the gateway's `GET /api/backup`, streamed to a file (issue 15 §5). */
export const backupCommand: Command = async (ctx) => {
  notInDirectMode(ctx, 'backup');
  const file = ctx.args[0]!;
  const partial = `${file}.partial`;
  const res = await ctx.api.raw('GET', '/api/backup');
  try {
    await pipeline(Readable.fromWeb(res.body! as never), createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw new CliFailure(`could not write the backup to ${file}: ${(err as Error).message}`);
  }
  const size = Number(res.headers.get('content-length') ?? 0);
  if (ctx.out.mode === 'json') ctx.out.json({ success: true, file });
  else ctx.out.line(`Backup written to ${file}${size ? ` (${bytes(size)})` : ''}`);
  return 0;
};

/** `spore restore <file>`: sends a backup to `POST /api/restore` and says what it restored. */
export const restoreCommand: Command = async (ctx) => {
  notInDirectMode(ctx, 'restore');
  const file = ctx.args[0]!;
  await requireFile(file);
  const res = await ctx.api.raw('POST', '/api/restore', await openAsBlob(file), 'application/gzip');
  const result = (await res.json()) as { restored: string[]; firmware: number; rollouts: number; nodes: number; applied: string[]; needRestart: string[]; skipped: Array<{ part: string; reason: string }> };
  if (ctx.out.mode === 'json') {
    ctx.out.json(result);
    return 0;
  }
  ctx.out.line(`Restored ${result.restored.join(', ')}: ${result.firmware} firmware image(s), ${result.rollouts} rollout(s), ${result.nodes} node(s) added`);
  for (const s of result.skipped) ctx.out.line(`Skipped ${s.part}: ${s.reason}`);
  if (result.needRestart.length) ctx.out.line(`Restart the gateway to apply: ${result.needRestart.join(', ')}`);
  return 0;
};
