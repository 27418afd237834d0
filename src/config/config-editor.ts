import { randomBytes, createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { Document } from 'yaml';
import { loadYaml, yaml } from './yaml-lib.js';
import type { ConfigInfo as ConfigInfoOf } from '../contract/config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ConfigChange, ConfigManager } from './config-manager.js';
import { ConfigError } from './load-config.js';
import { MASK, maskSecrets } from './mask-secrets.js';
import type { GatewayConfig } from './schema.js';

/** The sections the UI and `PUT /api/config/{section}` may change (issue 15 §1). */
export const EDITABLE_SECTIONS = ['mqtt', 'pipeline', 'auth', 'nodes', 'firmware', 'alerts', 'notify', 'history', 'backup', 'log'] as const;
export type EditableSection = (typeof EDITABLE_SECTIONS)[number];

export interface ConfigProblem {
  /** Dotted path, e.g. `pipeline.connectors[0].host`. */
  path: string;
  message: string;
}

/** `GET /api/config` (the contract's shape, its sections named). */
export type ConfigInfo = ConfigInfoOf<EditableSection>;

export interface SaveResult extends ConfigChange {
  saved: string;
}

export interface ConfigEditorDeps {
  manager: ConfigManager | null;
  /** Sections applied without a restart (the gateway's hot sections). */
  hotSections: readonly string[];
  logger: Logger;
}

/** Problems of a ConfigError as {path, message}: its lines are `<path>: <message>`. */
export function configProblems(err: ConfigError): ConfigProblem[] {
  return err.problems.map((p) => {
    const at = p.indexOf(': ');
    return at > 0 ? { path: p.slice(0, at), message: p.slice(at + 2) } : { path: '(root)', message: p };
  });
}

function invalid(err: ConfigError): GatewayError {
  const problems = configProblems(err);
  return Object.assign(new GatewayError('invalid_config', `invalid configuration: ${err.problems.join('; ')}`), { problems });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A masked value sent back unchanged keeps the secret it stands for (lists matched by `name` or `id`). */
export function restoreMasked(next: unknown, current: unknown): unknown {
  if (next === MASK) return current === undefined ? next : current;
  // A URL whose password was masked (mqtt://user:********@host) and not otherwise changed.
  if (typeof next === 'string' && next.includes(MASK) && typeof current === 'string' && maskSecrets(current) === next) return current;
  if (Array.isArray(next)) {
    const list = Array.isArray(current) ? current : [];
    return next.map((item, i) => {
      const key = isObject(item) ? (item.name ?? item.id) : undefined;
      const match = key !== undefined ? list.find((c) => isObject(c) && (c.name ?? c.id) === key) : list[i];
      return restoreMasked(item, match);
    });
  }
  if (isObject(next)) {
    const cur = isObject(current) ? current : {};
    return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, restoreMasked(v, cur[k])]));
  }
  return next;
}

/**
 * Writes `value` at `path` in a YAML document changing as little as it can:
 * maps are updated key by key and lists of equal length item by item, so the
 * comments and layout of everything not changed stay as the user wrote them.
 */
export function applyToDocument(doc: Document, path: Array<string | number>, value: unknown): void {
  const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (isObject(value) && yaml().isMap(node)) {
    for (const [k, v] of Object.entries(value)) applyToDocument(doc, [...path, k], v);
    for (const item of [...node.items]) {
      const key = yaml().isScalar(item.key) ? item.key.value : item.key;
      if (!Object.prototype.hasOwnProperty.call(value, String(key))) doc.deleteIn([...path, key]);
    }
    return;
  }
  if (Array.isArray(value) && yaml().isSeq(node)) {
    // Items are matched by `name` or `id` (API keys, connectors, sinks), others by position:
    // a kept item keeps its node and comments, wherever it moves.
    const current = node.toJSON() as unknown[];
    const keyOf = (v: unknown): unknown => (isObject(v) ? (v.name ?? v.id) : undefined);
    const used = new Set<number>();
    const plan = value.map((v, i) => {
      const key = keyOf(v);
      const j = key !== undefined ? current.findIndex((c, at) => !used.has(at) && keyOf(c) === key) : i < current.length && keyOf(current[i]) === undefined && !used.has(i) ? i : -1;
      if (j >= 0) used.add(j);
      return j;
    });
    plan.forEach((j, i) => {
      if (j >= 0) applyToDocument(doc, [...path, j], value[i]);
    });
    const old = [...node.items];
    node.items = plan.map((j, i) => (j >= 0 ? old[j] : doc.createNode(value[i]))) as typeof node.items;
    return;
  }
  const current = node === undefined || node === null ? undefined : yaml().isScalar(node) ? node.value : (node as { toJSON(): unknown }).toJSON();
  if (JSON.stringify(current) === JSON.stringify(value)) return;
  if (value === undefined) doc.deleteIn(path);
  else if (path.length === 0) doc.contents = doc.createNode(value) as never;
  else doc.setIn(path, doc.createNode(value));
}

/** Writes a file atomically, keeping the previous version as `<file>.bak`. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await copyFile(path, `${path}.bak`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, 'w', 0o600); // may hold secrets
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/**
 * Configuration editing from the UI, REST and JSON-RPC (issue 15 §1): reads
 * the configuration file as a YAML document, validates changes with the
 * start-up schema (every problem with its path), saves them keeping the
 * file's format and comments, and applies them where the section is hot.
 * A remote configuration is the source of truth: read-only here.
 */
export class ConfigEditor {
  /** One change at a time: two saves never interleave their read-modify-write. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ConfigEditorDeps) {}

  info(): ConfigInfo {
    const { manager } = this.deps;
    const remote = manager?.remoteUrl ?? null;
    const remoteHost = remote ? new URL(remote).host : null;
    const file = manager ? (manager.filePath ?? null) : null;
    return {
      source: manager?.source ?? 'fixed',
      file: manager && !remote ? (file ?? '(data directory)/config.yaml') : file,
      format: file && extname(file).toLowerCase() === '.json' ? 'json' : 'yaml',
      readOnly: !manager || remote !== null,
      readOnlyReason: remote ? `managed remotely by ${remoteHost}` : !manager ? 'this gateway was started with a fixed configuration' : null,
      remoteHost,
      sections: EDITABLE_SECTIONS.map((name) => ({ name, hot: this.deps.hotSections.includes(name) })),
    };
  }

  /** A section: the value in force (with defaults) and what the file says, secrets masked. */
  async getSection(section: string): Promise<{ section: EditableSection; value: unknown; document: unknown; hot: boolean; readOnly: boolean; readOnlyReason: string | null }> {
    const name = this.requireSection(section);
    const info = this.info();
    const doc = await this.readDocument();
    const current = this.deps.manager?.current;
    return {
      section: name,
      value: maskSecrets(current?.[name] ?? null),
      document: maskSecrets(doc.json[name] ?? null),
      hot: this.deps.hotSections.includes(name),
      readOnly: info.readOnly,
      readOnlyReason: info.readOnlyReason,
    };
  }

  /** The whole file as text, secrets masked (the raw editor). */
  async getRaw(): Promise<{ text: string; format: 'yaml' | 'json'; file: string | null }> {
    const doc = await this.readDocument();
    const masked = yaml().parseDocument(doc.text);
    maskDocument(masked);
    return { text: doc.format === 'json' ? JSON.stringify(maskSecrets(doc.json), null, 2) : masked.toString(), format: doc.format, file: this.info().file };
  }

  /** Checks a section value or a whole document without saving. */
  async validate(input: { section?: string; value?: unknown; text?: string }): Promise<{ valid: boolean; problems: ConfigProblem[] }> {
    try {
      await this.candidate(input);
      return { valid: true, problems: [] };
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'invalid_config') return { valid: false, problems: (err as GatewayError & { problems: ConfigProblem[] }).problems };
      throw err;
    }
  }

  /** Replaces one section (`PUT /api/config/{section}`). */
  putSection(section: string, value: unknown): Promise<SaveResult> {
    return this.serialised(() => this.save({ section, value }));
  }

  /** Replaces the whole file with `text` (the raw editor). */
  putRaw(text: string): Promise<SaveResult> {
    return this.serialised(() => this.save({ text }));
  }

  /** A new API key (`POST /api/config/auth/keys`): stored as its SHA-256, the secret answered once. */
  createApiKey(input: unknown): Promise<SaveResult & { name: string; scope: string; key: string }> {
    return this.serialised(async () => {
      const body = isObject(input) ? input : {};
      const name = body.name;
      const scope = body.scope ?? 'read';
      if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new GatewayError('bad_request', 'name: letters, digits, ".", "_" or "-" (1-64 characters)');
      if (scope !== 'read' && scope !== 'admin') throw new GatewayError('bad_request', 'scope: read or admin');
      const doc = await this.readDocument();
      const auth = isObject(doc.json.auth) ? doc.json.auth : {};
      const keys = Array.isArray(auth.apiKeys) ? (auth.apiKeys as Array<Record<string, unknown>>) : [];
      if (keys.some((k) => k.name === name)) throw new GatewayError('conflict', `an API key named "${name}" exists; revoke it first`);
      const key = `spk_${randomBytes(24).toString('base64url')}`;
      const digest = `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
      const result = await this.save({ section: 'auth', value: { ...auth, apiKeys: [...keys, { name, key: digest, scope }] } }, doc);
      this.deps.logger.info({ name, scope }, 'API key created');
      return { ...result, name, scope, key };
    });
  }

  /** Revokes an API key by name (`DELETE /api/config/auth/keys/{name}`). */
  revokeApiKey(name: string): Promise<SaveResult & { revoked: string }> {
    return this.serialised(async () => {
      const doc = await this.readDocument();
      const auth = isObject(doc.json.auth) ? doc.json.auth : {};
      const keys = Array.isArray(auth.apiKeys) ? (auth.apiKeys as Array<Record<string, unknown>>) : [];
      if (!keys.some((k) => k.name === name)) throw new GatewayError('not_found', `no API key named "${name}" in the configuration file`);
      const result = await this.save({ section: 'auth', value: { ...auth, apiKeys: keys.filter((k) => k.name !== name) } }, doc);
      this.deps.logger.info({ name }, 'API key revoked');
      return { ...result, revoked: name };
    });
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private requireWritable(): ConfigManager {
    const info = this.info();
    if (info.readOnly || !this.deps.manager) throw new GatewayError('config_read_only', `the configuration is read-only: ${info.readOnlyReason}`);
    return this.deps.manager;
  }

  private requireSection(section: string | undefined): EditableSection {
    if (!section || !(EDITABLE_SECTIONS as readonly string[]).includes(section)) {
      throw new GatewayError('not_found', `no configuration section "${section}"; editable sections: ${EDITABLE_SECTIONS.join(', ')}`);
    }
    return section as EditableSection;
  }

  /** The document a change would give, as text and as data, validated. */
  private async candidate(input: { section?: string; value?: unknown; text?: string }, read?: LoadedDocument): Promise<{ text: string; json: Record<string, unknown>; config: GatewayConfig }> {
    await loadYaml();
    const manager = this.deps.manager;
    const doc = read ?? (await this.readDocument());
    let text: string;
    let json: Record<string, unknown>;
    if (input.text !== undefined) {
      if (typeof input.text !== 'string') throw new GatewayError('bad_request', 'text: the configuration file as a string');
      const parsed = doc.format === 'json' ? parseJsonDocument(input.text) : parseYamlDocument(input.text);
      json = restoreMasked(parsed.json, doc.json) as Record<string, unknown>;
      if (doc.format === 'json') text = `${JSON.stringify(json, null, 2)}\n`;
      else {
        applyToDocument(parsed.doc!, [], json);
        text = parsed.doc!.toString();
      }
    } else {
      const section = this.requireSection(input.section);
      if (input.value === undefined) throw new GatewayError('bad_request', 'value: the section as a JSON value (an object, or a list for alerts)');
      const value = restoreMasked(input.value, doc.json[section]);
      json = { ...doc.json, [section]: value };
      if (value === null) delete json[section];
      if (doc.format === 'json') text = `${JSON.stringify(json, null, 2)}\n`;
      else {
        const edited = yaml().parseDocument(doc.text);
        applyToDocument(edited, [section], value === null ? undefined : value);
        text = edited.toString();
      }
    }
    if (!manager) throw new GatewayError('config_read_only', 'the configuration is read-only: this gateway was started with a fixed configuration');
    try {
      return { text, json, config: manager.validateDocument(json) };
    } catch (err) {
      if (err instanceof ConfigError) throw invalid(err);
      throw err;
    }
  }

  private async save(input: { section?: string; value?: unknown; text?: string }, read?: LoadedDocument): Promise<SaveResult> {
    const manager = this.requireWritable();
    const { text, json } = await this.candidate(input, read);
    let saved = '';
    let change: ConfigChange;
    try {
      change = await manager.replaceDocument(json, async (file) => {
        saved = file;
        await writeFileAtomic(file, text);
      });
    } catch (err) {
      if (err instanceof ConfigError) throw invalid(err);
      throw err;
    }
    this.deps.logger.info({ file: saved, applied: change.applied, needRestart: change.needRestart }, 'configuration saved');
    return { ...change, saved };
  }

  private async readDocument(): Promise<LoadedDocument> {
    await loadYaml();
    const file = this.deps.manager?.filePath;
    const format = file && extname(file).toLowerCase() === '.json' ? 'json' : 'yaml';
    let text = '';
    if (file) {
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const parsed = format === 'json' ? parseJsonDocument(text || '{}') : parseYamlDocument(text);
    return { text, format, json: parsed.json };
  }
}

interface LoadedDocument {
  text: string;
  format: 'yaml' | 'json';
  json: Record<string, unknown>;
}

function parseYamlDocument(text: string): { doc: Document; json: Record<string, unknown> } {
  const doc = yaml().parseDocument(text);
  if (doc.errors.length) {
    throw Object.assign(new GatewayError('invalid_config', `not valid YAML: ${doc.errors[0]!.message}`), {
      problems: doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0] })),
    });
  }
  const json = doc.toJS() as unknown;
  if (json !== null && json !== undefined && !isObject(json)) {
    throw Object.assign(new GatewayError('invalid_config', 'the top level must be a mapping'), { problems: [{ path: '(root)', message: 'the top level must be a mapping' }] });
  }
  return { doc, json: (json as Record<string, unknown> | null) ?? {} };
}

function parseJsonDocument(text: string): { doc?: undefined; json: Record<string, unknown> } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw Object.assign(new GatewayError('invalid_config', `not valid JSON: ${(err as Error).message}`), { problems: [{ path: '(root)', message: (err as Error).message }] });
  }
  if (!isObject(json)) throw Object.assign(new GatewayError('invalid_config', 'the top level must be an object'), { problems: [{ path: '(root)', message: 'the top level must be an object' }] });
  return { json };
}

/** Masks secret scalars in place (the keys maskSecrets knows), keeping comments. */
function maskDocument(doc: Document): void {
  const masked = maskSecrets(doc.toJS() as unknown);
  const walk = (path: Array<string | number>, value: unknown): void => {
    if (Array.isArray(value)) value.forEach((v, i) => walk([...path, i], v));
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) walk([...path, k], v);
    else if (typeof value === 'string' && value.includes(MASK)) {
      const node = doc.getIn(path, true);
      if (yaml().isScalar(node)) node.value = value;
    }
  };
  walk([], masked);
}
