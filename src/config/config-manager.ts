import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentHealth } from '../health.js';
import type { Logger } from '../logger.js';
import type { EnvLayer } from './env-overrides.js';
import { ConfigError, mergeConfig, readConfigFile, validateConfig } from './load-config.js';
import { redactUrl } from './mask-secrets.js';
import { fetchRemoteConfig, readConfigCache, writeConfigCache } from './remote-config.js';
import type { GatewayConfig } from './schema.js';

/** Where the configuration in force came from, best first (issue 7: remote → cache → local file → defaults). */
export type ConfigSourceName = 'remote' | 'cache' | 'file' | 'defaults';

/** Everything that feeds the configuration, lowest precedence first: defaults, the source, environment, flags. */
export interface ConfigLayers {
  /** Defaults of a wrapper program (the demo's node port); under everything else. */
  defaults: Record<string, unknown>;
  /** The local configuration file, if any. */
  filePath?: string;
  env: EnvLayer;
  flags: Record<string, unknown>;
}

export interface ConfigChange {
  applied: string[];
  needRestart: string[];
}

export type ApplyConfig = (next: GatewayConfig) => Promise<ConfigChange>;

interface RemoteState {
  url: string;
  etag: string | null;
  lastFetchAt: string | null;
  lastSuccessAt: string | null;
  lastChangeAt: string | null;
  /** Why the last pull did not give a usable configuration; null when it did. */
  lastError: string | null;
}

function problemsOf(err: unknown): string {
  return err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
}

/**
 * The configuration's sources and their fallback: a remote document pulled at
 * start and every `remoteConfig.pollIntervalMs` (with ETags), its cached copy
 * in the data directory, the local file, the defaults — with the environment
 * and flags always on top. An invalid or unreachable remote never replaces a
 * working configuration; the reason shows in health and the log.
 */
export class ConfigManager {
  private sourceName: ConfigSourceName = 'defaults';
  private remote: RemoteState | null = null;
  private timer: NodeJS.Timeout | undefined;
  private apply: ApplyConfig | undefined;
  private polling: Promise<unknown> | undefined;
  private config: GatewayConfig;
  /** What the last pull changed, for reload()'s answer. */
  private lastChange: ConfigChange = { applied: [], needRestart: [] };

  private constructor(
    private layers: ConfigLayers,
    bootstrap: GatewayConfig,
    private logger: Logger | undefined,
  ) {
    this.config = bootstrap;
    this.sourceName = layers.filePath ? 'file' : 'defaults';
  }

  /** Loads the start-up configuration, trying the remote first when one is configured. */
  static async load(layers: ConfigLayers): Promise<ConfigManager> {
    if (!layers.filePath) {
      // Saved from the UI or API by a gateway started without a file (issue 15 §1): used from then on.
      const saved = defaultConfigPath(validateConfig(mergeConfig(mergeConfig(layers.defaults, layers.env.values), layers.flags), layers.env.sources).dataDir);
      if (existsSync(saved)) layers = { ...layers, filePath: saved };
    }
    const fileDocument = layers.filePath ? await readConfigFile(layers.filePath) : null;
    const manager = new ConfigManager(layers, validateConfig({}), undefined);
    // The local layers must be valid on their own: they say where the remote is and where the data lives.
    manager.config = manager.compose(fileDocument ?? {});
    const url = manager.config.remoteConfig.url;
    if (!url) return manager;
    manager.remote = { url, etag: null, lastFetchAt: null, lastSuccessAt: null, lastChangeAt: null, lastError: null };
    if (await manager.pullRemote('start')) return manager;
    // Fallback order (docs/configuration.md): the cached copy, then the local file, then the defaults.
    const cached = await readConfigCache(manager.config.dataDir);
    if (cached && cached.url === url) {
      try {
        manager.config = manager.compose(cached.document);
        manager.sourceName = 'cache';
        manager.remote.etag = cached.etag;
        return manager;
      } catch (err) {
        manager.remote.lastError += `; the cached copy is not valid either: ${problemsOf(err)}`;
      }
    }
    return manager;
  }

  get current(): GatewayConfig {
    return this.config;
  }

  /** The file the configuration is read from and saved to (undefined: defaults only, nothing saved yet). */
  get filePath(): string | undefined {
    return this.layers.filePath;
  }

  /** The remote configuration's URL, when the configuration is managed remotely (then it is read-only here). */
  get remoteUrl(): string | null {
    return this.remote?.url ?? null;
  }

  /** The configuration a document would give, with environment and flags on top; throws ConfigError. */
  validateDocument(document: Record<string, unknown>): GatewayConfig {
    return this.compose(document);
  }

  /**
   * Puts a new document into force (issue 15 §1, the UI and `PUT /api/config`):
   * validated first (ConfigError lists every problem), then `persist` saves it,
   * then the change is applied where the section is hot.
   */
  async replaceDocument(document: Record<string, unknown>, persist: (filePath: string) => Promise<void>): Promise<ConfigChange> {
    const next = this.compose(document);
    const path = this.layers.filePath ?? defaultConfigPath(this.config.dataDir);
    await persist(path);
    if (!this.layers.filePath) {
      this.layers = { ...this.layers, filePath: path };
      this.sourceName = 'file';
    }
    return this.put(next);
  }

  get source(): ConfigSourceName {
    return this.sourceName;
  }

  /** Why the remote could not be used at start or at the last pull, if it could not. */
  get remoteError(): string | null {
    return this.remote?.lastError ?? null;
  }

  /** Starts periodic pulls; `apply` puts a new configuration into force. */
  start(apply: ApplyConfig, logger: Logger): void {
    this.apply = apply;
    this.logger = logger;
    if (this.remote?.lastError) logger.warn({ reason: this.remote.lastError, source: this.sourceName }, 'remote configuration not used');
    logger.info({ source: this.sourceName, ...(this.remote ? { url: redactUrl(this.remote.url) } : {}) }, 'configuration loaded');
    if (!this.remote) return;
    const every = this.config.remoteConfig.pollIntervalMs;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        this.polling = this.pullRemote('poll').finally(tick);
      }, every);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.apply = undefined;
    await this.polling;
  }

  /**
   * Re-reads the configuration now (JSON-RPC `gateway.reload`, SIGHUP): the
   * remote when there is one, otherwise the local file.
   */
  async reload(): Promise<{ source: ConfigSourceName; change: ConfigChange; error: string | null }> {
    if (this.remote) {
      const ok = await this.pullRemote('reload');
      return { source: this.sourceName, change: this.lastChange, error: ok ? null : this.remote.lastError };
    }
    try {
      const document = this.layers.filePath ? await readConfigFile(this.layers.filePath) : null;
      const next = this.compose(document ?? {});
      const change = await this.put(next);
      return { source: this.sourceName, change, error: null };
    } catch (err) {
      const reason = problemsOf(err);
      this.logger?.warn({ reason }, 'configuration reload refused; keeping the configuration in force');
      return { source: this.sourceName, change: { applied: [], needRestart: [] }, error: reason };
    }
  }

  health(): ComponentHealth {
    if (!this.remote) return { status: 'up', source: this.sourceName };
    return {
      status: this.remote.lastError ? 'down' : 'up',
      source: this.sourceName,
      url: redactUrl(this.remote.url),
      etag: this.remote.etag,
      lastFetchAt: this.remote.lastFetchAt,
      lastSuccessAt: this.remote.lastSuccessAt,
      lastChangeAt: this.remote.lastChangeAt,
      ...(this.remote.lastError ? { error: this.remote.lastError } : {}),
    };
  }

  /** defaults → source document → environment → flags, validated. */
  private compose(document: Record<string, unknown>): GatewayConfig {
    const merged = mergeConfig(mergeConfig(mergeConfig(this.layers.defaults, document), this.layers.env.values), this.layers.flags);
    return validateConfig(merged, this.layers.env.sources);
  }

  /**
   * One pull of the remote; true when the remote's configuration is (still) in force.
   * Never rejects: a poll runs from a timer, where a rejection would end the process.
   */
  private async pullRemote(why: 'start' | 'poll' | 'reload'): Promise<boolean> {
    try {
      return await this.pullRemoteOnce(why);
    } catch (err) {
      return this.remoteFailed(`remote configuration ${redactUrl(this.remote!.url)} could not be applied: ${(err as Error).message}`, why);
    }
  }

  private async pullRemoteOnce(why: 'start' | 'poll' | 'reload'): Promise<boolean> {
    const remote = this.remote!;
    remote.lastFetchAt = new Date().toISOString();
    // At start there is no configuration in force from the remote yet: ask for the whole document.
    const etag = this.sourceName === 'remote' ? remote.etag : null;
    const result = await fetchRemoteConfig(remote.url, etag, this.config.remoteConfig.timeoutMs, this.config.remoteConfig.headers);
    this.lastChange = { applied: [], needRestart: [] };
    if (result.kind === 'unchanged') {
      remote.lastError = null;
      remote.lastSuccessAt = remote.lastFetchAt;
      return true;
    }
    if (result.kind === 'failed') return this.remoteFailed(result.reason, why);
    let next: GatewayConfig;
    try {
      next = this.compose(result.document);
    } catch (err) {
      return this.remoteFailed(`remote configuration ${redactUrl(remote.url)} is invalid: ${problemsOf(err)}`, why);
    }
    if (next.dataDir !== this.config.dataDir && why !== 'start') {
      // The cache lives in the data directory: it cannot move under a running gateway.
      this.logger?.warn({ dataDir: next.dataDir }, 'remote configuration changes dataDir; that applies at the next restart');
    }
    try {
      await writeConfigCache(this.config.dataDir, { url: remote.url, etag: result.etag, fetchedAt: remote.lastFetchAt, document: result.document });
    } catch (err) {
      this.logger?.warn({ err }, 'could not cache the remote configuration');
    }
    remote.etag = result.etag;
    remote.lastError = null;
    remote.lastSuccessAt = remote.lastFetchAt;
    const wasRemote = this.sourceName === 'remote';
    this.sourceName = 'remote';
    if (why === 'start') {
      this.config = next;
      return true;
    }
    if (!wasRemote || JSON.stringify(next) !== JSON.stringify(this.config)) {
      remote.lastChangeAt = remote.lastFetchAt;
      this.lastChange = await this.put(next);
    }
    return true;
  }

  private async put(next: GatewayConfig): Promise<ConfigChange> {
    const change = this.apply ? await this.apply(next) : { applied: [], needRestart: [] };
    this.config = next;
    return change;
  }

  private remoteFailed(reason: string, why: string): false {
    this.remote!.lastError = reason;
    if (why !== 'start') this.logger?.warn({ reason, source: this.sourceName }, 'remote configuration not applied; keeping the configuration in force');
    return false;
  }
}

/** Where a gateway started without a configuration file saves one (issue 15 §1). */
export function defaultConfigPath(dataDir: string): string {
  return join(dataDir, 'config.yaml');
}
