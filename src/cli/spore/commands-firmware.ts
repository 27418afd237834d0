import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, extname } from 'node:path';
import type { FirmwareCheck, FirmwareRecord } from '../../firmware/firmware-store.js';
import { inspectImageFile } from '../../firmware/firmware-image.js';
import { UsageError } from './cli-options.js';
import { type Command, type CommandContext, notInDirectMode, requireFile } from './command-context.js';
import { readSignatureFile } from './commands-keys.js';
import { bytes, table } from './output.js';

/** `spore firmware upload <file> [-name] [-version] [-labels] [-force]`. */
export const firmwareUpload: Command = async (ctx) => {
  notInDirectMode(ctx, 'firmware upload');
  const file = ctx.args[0]!;
  await requireFile(file);
  const record = await uploadToStore(ctx, file);
  if (ctx.out.mode === 'json') ctx.out.json(record);
  else {
    const extra = [record.compressed ? `gzip, ${bytes(record.imageBytes)} inflated` : null, record.signature === 'verified' ? `signed by ${record.signedBy}` : 'unsigned'].filter(Boolean).join(', ');
    ctx.out.line(`Stored ${record.name} ${record.version} (${bytes(record.size)}, sha256 ${record.sha256.slice(0, 12)}…; ${extra}) as ${record.id}`);
  }
  return 0;
};

/** `spore firmware list`. */
export const firmwareList: Command = async (ctx) => {
  notInDirectMode(ctx, 'firmware list');
  const list = await ctx.api.listFirmware();
  if (ctx.out.mode === 'json') {
    ctx.out.json(list);
    return 0;
  }
  if (list.length === 0) {
    ctx.out.line('No firmware stored yet: spore firmware upload <file>');
    return 0;
  }
  const rows = list.map((f) => [
    f.id,
    f.name,
    f.version,
    `${bytes(f.size)}${f.compressed ? ' (gz)' : ''}`,
    f.sha256.slice(0, 12),
    f.signature === 'verified' ? `signed:${f.signedBy}` : 'unsigned',
    Object.entries(f.labels).map(([k, v]) => `${k}=${v}`).join(','),
    f.createdAt,
  ]);
  ctx.out.line(table(['ID', 'NAME', 'VERSION', 'SIZE', 'SHA256', 'SIGNATURE', 'LABELS', 'CREATED'], rows));
  return 0;
};

/** `spore firmware rm <id|name@version>`. */
export const firmwareRemove: Command = async (ctx) => {
  notInDirectMode(ctx, 'firmware rm');
  const record = await findStored(ctx, ctx.args[0]!);
  if (!record) throw new UsageError(`<id|name@version> ${JSON.stringify(ctx.args[0])}: no stored firmware has that id or name@version (see spore firmware list)`);
  await ctx.api.delete(`/api/firmware/${encodeURIComponent(record.id)}`);
  if (ctx.out.mode === 'json') ctx.out.json({ success: true, deleted: record });
  else ctx.out.line(`Deleted ${record.name} ${record.version} (${record.id})`);
  return 0;
};

/** A stored firmware by id or `name@version`. */
export async function findStored(ctx: CommandContext, ref: string): Promise<FirmwareRecord | undefined> {
  const list = await ctx.api.listFirmware();
  return list.find((f) => f.id === ref || `${f.name}@${f.version}` === ref);
}

/**
 * Stores a file, naming it from -name (else the file name) and -version (else
 * the image's SPORE-VERSION marker); with dryRun only has the gateway check it.
 */
export async function uploadToStore(ctx: CommandContext, file: string): Promise<FirmwareRecord>;
export async function uploadToStore(ctx: CommandContext, file: string, options: { dryRun: true }): Promise<FirmwareCheck>;
export async function uploadToStore(ctx: CommandContext, file: string, options?: { dryRun: true }): Promise<FirmwareRecord | FirmwareCheck> {
  const name = (ctx.flags.get('name') as string | undefined) ?? nameFromFile(file);
  let version = ctx.flags.get('version') as string | undefined;
  if (!version) {
    version = (await inspectImageFile(file)).markerVersion ?? undefined;
    if (!version) throw new UsageError(`<file> ${JSON.stringify(file)} carries no SPORE-VERSION marker: give its version with -version (e.g. -version 1.2.0)`);
  }
  const fields: Record<string, string> = { name, version };
  const labels = ctx.flags.get('labels') as Record<string, string> | undefined;
  if (labels) fields.labels = JSON.stringify(labels);
  if (ctx.flags.get('force') === true) fields.force = 'true';
  // Issue 17 §1: a detached signature next to the image goes along.
  const signature = await readSignatureFile(file);
  if (signature) fields.signature = signature;
  // dryRun: the gateway makes every check and stores nothing (issue 12 §17).
  if (options?.dryRun) fields.dryRun = 'true';
  return ctx.api.uploadFile<FirmwareRecord | FirmwareCheck>('/api/firmware', file, fields);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function nameFromFile(file: string): string {
  const stem = basename(file, extname(file))
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/\.\.+/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return stem || 'firmware';
}
