import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../../errors.js';
import { errorMessage, withTimeout } from '../connector-base.js';
import { PollingConnector } from '../polling-connector.js';
import type { Logger } from '../../logger.js';
import type { BrowseEntry, ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec, Reading } from '../types.js';
// Types only: the library itself (tens of MB, ~40 MB of RSS once loaded) is imported in start().
import type * as UaClient from 'node-opcua-client';
import type * as UaCertificates from 'node-opcua-certificate-manager';
import { opcuaConnectorSchema, type OpcuaConfig } from './opcua-schema.js';

/** How long stop() waits for the connection loop before closing the client under it, ms. */
const STOP_WAIT_MS = 1000; // ms

type Ua = typeof UaClient;

interface ResolvedChannel {
  device: string;
  name: string;
  nodeId: string;
  spec: ChannelSpec;
  /** The node's data type (a DataType enum value), learnt from its values; used for writes. */
  dataType: number | undefined;
}

interface Session {
  client: UaClient.OPCUAClient;
  session: UaClient.ClientSession;
  subscription: UaClient.ClientSubscription;
}

type Library = { ua: Ua; certificates: typeof UaCertificates };

/** CommonJS packages: the namespace's default is module.exports. */
const cjs = <T>(m: T): T => ((m as { default?: T }).default ?? m) as T;

/**
 * Loaded lazily, once per process: the first opcua connector pays for the import. node-opcua
 * prints warnings to the console by itself (even while loading); they go to our log at debug
 * level instead: the connector reports what matters (lastError, health) in its own words.
 */
let library: Promise<Library> | undefined;
function loadLibrary(logger: Logger): Promise<Library> {
  library ??= (async () => {
    const debug = cjs(await import('node-opcua-debug'));
    const log = (...args: unknown[]) => logger.debug({ component: 'node-opcua' }, args.map((a) => (typeof a === 'string' ? a : errorMessage(a))).join(' '));
    debug.setWarningLogger(log);
    debug.setErrorLogger(log);
    debug.setDebugLogger(log);
    const [ua, certificates] = await Promise.all([import('node-opcua-client'), import('node-opcua-certificate-manager')]);
    return { ua: cjs(ua), certificates: cjs(certificates) };
  })();
  library.catch(() => (library = undefined));
  return library;
}

type CertificateManager = UaCertificates.OPCUACertificateManager;

/**
 * One certificate manager per PKI folder: the gateway's connectors share its certificate
 * (created once, then kept) and its trust list; released (file watchers closed) with the last user.
 */
const certificateManagers = new Map<string, { manager: Promise<CertificateManager>; users: number }>();
function acquireCertificateManager(lib: Library, rootFolder: string): Promise<CertificateManager> {
  let entry = certificateManagers.get(rootFolder);
  if (!entry) {
    const manager = (async () => {
      await mkdir(rootFolder, { recursive: true });
      const m = new lib.certificates.OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: false });
      await m.initialize();
      return m;
    })();
    entry = { manager, users: 0 };
    certificateManagers.set(rootFolder, entry);
    manager.catch(() => certificateManagers.delete(rootFolder));
  }
  entry.users++;
  return entry.manager;
}
function releaseCertificateManager(rootFolder: string): void {
  const entry = certificateManagers.get(rootFolder);
  if (!entry || --entry.users > 0) return;
  certificateManagers.delete(rootFolder);
  void entry.manager.then((m) => m.dispose()).catch(() => undefined);
}

/**
 * trustServerCertificate: true: an unknown server certificate is added to the trust list
 * (trust on first use) instead of refusing the connection; for this connector only.
 */
function trustingOnFirstUse(ua: Ua, cm: CertificateManager): CertificateManager {
  return new Proxy(cm, {
    get(target, prop) {
      if (prop === 'checkCertificate') {
        return async (certificate: Buffer) => {
          const status = (await target.checkCertificate(certificate)) as UaClient.StatusCode;
          if (status.value !== ua.StatusCodes.BadCertificateUntrusted.value) return status;
          await target.trustCertificate(certificate);
          return ua.StatusCodes.Good;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target);
    },
  });
}

/**
 * The `opcua` connector (issue 14 §2): one session, one subscription, one monitored item per
 * channel; records on data changes (no polling). Any loss (socket closed, session or subscription
 * gone, no keep-alive) tears the whole client down and builds a new one with a bounded backoff,
 * re-creating session and subscription: node-opcua's own reconnection is turned off
 * (maxRetry 0) because a restarted server has none of the old state to restore.
 */
export class OpcuaConnector extends PollingConnector<OpcuaConfig> {
  readonly type = 'opcua';
  private readonly channels: ResolvedChannel[] = [];
  private readonly byDevice = new Map<string, Map<string, ResolvedChannel>>();
  private current: Session | undefined;
  /** Resolves when the current session is lost (wakes the run loop). */
  private lost: (() => void) | undefined;
  private pending = new Map<string, Reading>();
  private flushScheduled = false;
  private certificateManager: CertificateManager | undefined;
  private pkiFolder: string | undefined;
  private ua: Ua | undefined;

  constructor(config: OpcuaConfig, ctx: ConnectorContext) {
    super(config, ctx, config.reconnect);
    for (const d of config.devices) {
      const map = new Map<string, ResolvedChannel>();
      for (const c of d.channels) {
        const channel: ResolvedChannel = { device: d.id, name: c.name, nodeId: c.nodeId, spec: { name: c.name, transform: c.transform, writable: c.writable }, dataType: undefined };
        map.set(c.name, channel);
        this.channels.push(channel);
      }
      this.byDevice.set(d.id, map);
    }
  }

  staticDevices(): DeviceSpec[] {
    return [...this.byDevice].map(([id, m]) => ({ id, channels: [...m.values()].map((c) => c.spec) }));
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    const m = this.byDevice.get(device);
    return m ? [...m.values()].map((c) => c.spec) : undefined;
  }

  protected override interrupt(): void {
    this.lost?.();
  }

  /**
   * A connect in progress (session, 1,000 monitored items) can take timeoutMs and more, and
   * node-opcua does not always give up on it when the client is closed: the gateway's shutdown
   * does not wait for it beyond STOP_WAIT_MS × 2 (the loop ends by itself later; stopped is set).
   */
  override async stop(): Promise<void> {
    const stopping = super.stop();
    const settled = await Promise.race([stopping.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), STOP_WAIT_MS).unref())]);
    if (settled) return;
    this.ctx.logger.warn({ connector: this.id }, 'opcua: still connecting at stop; closing the client');
    await withTimeout(this.current?.client.disconnect() ?? Promise.resolve(), STOP_WAIT_MS, 'disconnect').catch(() => undefined);
    await withTimeout(stopping, STOP_WAIT_MS, 'stop').catch(() => this.flushReadings());
  }

  protected override afterStop(): void {
    this.flushReadings();
    if (this.certificateManager && this.pkiFolder) releaseCertificateManager(this.pkiFolder);
    this.certificateManager = undefined;
  }

  /** Writes with the node's data type (read from the node when no value has arrived yet). */
  async write(device: string, channel: string, value: ChannelValue): Promise<void> {
    const c = this.byDevice.get(device)?.get(channel);
    if (!c) throw new GatewayError('channel_not_found', `device ${device} has no channel ${channel}`);
    const { session, ua } = this.requireSession();
    try {
      if (c.dataType === undefined) {
        const dv = await withTimeout(session.read({ nodeId: c.nodeId, attributeId: ua.AttributeIds.Value }), this.config.timeoutMs, 'read');
        c.dataType = dv.value?.dataType;
      }
    } catch (err) {
      throw new GatewayError('device_write_failed', `${device}.${channel}: cannot read the data type of ${c.nodeId}: ${errorMessage(err)}`);
    }
    const variant = toVariant(ua, c.dataType, value, `${device}.${channel}`);
    let status: UaClient.StatusCode;
    try {
      status = await withTimeout(session.write({ nodeId: c.nodeId, attributeId: ua.AttributeIds.Value, value: { value: variant } }), this.config.timeoutMs, 'write');
    } catch (err) {
      throw new GatewayError('device_write_failed', `${device}.${channel}: ${errorMessage(err)}`);
    }
    if (status.value !== ua.StatusCodes.Good.value) throw new GatewayError('device_write_failed', `${device}.${channel}: the server answered ${status.name} (${status.description})`);
  }

  /** `GET /api/connectors/{id}/browse`: the children of a node (default: the Objects folder). */
  async browse(nodeId: string | undefined): Promise<BrowseEntry[]> {
    const { session, ua } = this.requireSession();
    const start = nodeId && nodeId !== '' ? nodeId : 'i=85';
    let parsed;
    try {
      parsed = ua.resolveNodeId(start);
    } catch (err) {
      throw new GatewayError('bad_request', `nodeId ${JSON.stringify(start)} is not an OPC UA node id (e.g. ns=1;s=Plant, i=85): ${errorMessage(err)}`);
    }
    let result: UaClient.BrowseResult;
    try {
      result = await withTimeout(
        session.browse({ nodeId: parsed, browseDirection: ua.BrowseDirection.Forward, referenceTypeId: 'HierarchicalReferences', includeSubtypes: true, nodeClassMask: 0, resultMask: 63 }),
        this.config.timeoutMs,
        'browse',
      );
    } catch (err) {
      throw new GatewayError('connector_request_failed', `browse ${start}: ${errorMessage(err)}`);
    }
    if (result.statusCode.value !== ua.StatusCodes.Good.value) {
      const code = result.statusCode.name === 'BadNodeIdUnknown' || result.statusCode.name === 'BadNodeIdInvalid' ? 'not_found' : 'connector_request_failed';
      throw new GatewayError(code, `browse ${start}: the server answered ${result.statusCode.name}`);
    }
    const refs = result.references ?? [];
    const variables = refs.filter((r) => r.nodeClass === ua.NodeClass.Variable);
    const types = new Map<string, string>();
    if (variables.length > 0) {
      try {
        const dvs = await withTimeout(session.read(variables.map((r) => ({ nodeId: r.nodeId, attributeId: ua.AttributeIds.DataType }))), this.config.timeoutMs, 'read data types');
        const typeIds = dvs.map((dv) => dv.value?.value as UaClient.NodeId | undefined);
        const names = await this.dataTypeNames(session, ua, typeIds);
        variables.forEach((r, i) => {
          const n = names[i];
          if (n) types.set(r.nodeId.toString(), n);
        });
      } catch (err) {
        this.ctx.logger.debug({ connector: this.id, err: errorMessage(err) }, 'opcua: could not read data types while browsing');
      }
    }
    return refs.map((r) => ({
      nodeId: r.nodeId.toString(),
      browseName: r.browseName.toString(),
      displayName: r.displayName?.text ?? r.browseName.name ?? '',
      nodeClass: ua.NodeClass[r.nodeClass] ?? String(r.nodeClass),
      dataType: types.get(r.nodeId.toString()) ?? null,
    }));
  }

  private async dataTypeNames(session: UaClient.ClientSession, ua: Ua, ids: Array<UaClient.NodeId | undefined>): Promise<Array<string | undefined>> {
    const out: Array<string | undefined> = ids.map((id) => (id && id.namespace === 0 && typeof id.value === 'number' && ua.DataType[id.value] ? ua.DataType[id.value] : undefined));
    const unknown = ids.map((id, i) => ({ id, i })).filter((x) => x.id && out[x.i] === undefined);
    if (unknown.length > 0) {
      const dvs = await session.read(unknown.map((x) => ({ nodeId: x.id!, attributeId: ua.AttributeIds.BrowseName })));
      dvs.forEach((dv, j) => (out[unknown[j]!.i] = (dv.value?.value as { name?: string } | undefined)?.name ?? undefined));
    }
    return out;
  }

  private requireSession(): { session: UaClient.ClientSession; ua: Ua } {
    if (!this.current || !this.ua || this.status.state !== 'connected') {
      throw new GatewayError('device_unavailable', `connector ${this.id} is not connected to ${this.config.endpoint}${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
    }
    return { session: this.current.session, ua: this.ua };
  }

  protected async run(): Promise<void> {
    let lib: Library;
    try {
      lib = await loadLibrary(this.ctx.logger);
    } catch (err) {
      this.status.error(`the opcua connector needs the node-opcua-client package (npm install): ${errorMessage(err)}`, true);
      return;
    }
    this.ua = lib.ua;
    await this.sessionLoop({
      open: () => this.connect(lib),
      close: () => this.teardown(),
      failed: async (err) => {
        const described = describeError(err);
        this.status.error(`${this.config.endpoint}: ${described}`, true);
        this.ctx.logger.warn({ connector: this.id, error: described }, 'opcua: connection failed; retrying with backoff');
        // An operator may be moving the certificate into the trust list right now: rescan the
        // PKI folders before the next try instead of relying on file-system events (slow under load).
        if (/not trusted/.test(described)) await this.certificateManager?.reloadCertificates().catch(() => undefined);
      },
      up: () => this.ctx.logger.info({ connector: this.id, endpoint: this.config.endpoint, reconnects: this.status.stats.reconnects }, 'opcua: subscribed'),
      lost: () => this.ctx.logger.warn({ connector: this.id, error: this.status.stats.lastError }, 'opcua: connection lost; reconnecting'),
    });
  }

  /** Builds client, session, subscription and monitored items; `lost` resolves when they are gone. */
  private async connect(lib: Library): Promise<{ lost: Promise<void> }> {
    const { ua } = lib;
    const cfg = this.config;
    if (!this.certificateManager) {
      // The client certificate is created once, then reused: <dataDir>/opcua/pki (own/, trusted/, rejected/).
      this.pkiFolder = join(this.ctx.dataDir, 'opcua', 'pki');
      const cm = await acquireCertificateManager(lib, this.pkiFolder);
      this.certificateManager = cfg.trustServerCertificate ? trustingOnFirstUse(ua, cm) : cm;
    }
    let lostResolve!: () => void;
    const lost = new Promise<void>((resolve) => (lostResolve = resolve));
    let isLost = false;
    const markLost = (why: string) => {
      if (isLost) return;
      isLost = true;
      if (!this.stopped) this.status.error(`${cfg.endpoint}: ${why}`, true);
      lostResolve();
    };
    this.lost = () => markLost('stopped');
    const policy = cfg.securityPolicy ?? (cfg.securityMode === 'None' ? 'None' : 'Basic256Sha256');
    const client = ua.OPCUAClient.create({
      applicationName: 'SPORE Gateway',
      applicationUri: `urn:spore-gateway:${this.ctx.gatewayId}`,
      clientName: `spore-gateway-${this.ctx.gatewayId}-${this.id}`,
      securityMode: ua.MessageSecurityMode[cfg.securityMode],
      securityPolicy: ua.SecurityPolicy[policy],
      // Our loop reconnects (bounded backoff, fresh session): node-opcua's own retries are off.
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000, // ms
      transportTimeout: cfg.timeoutMs,
      defaultTransactionTimeout: cfg.timeoutMs,
      clientCertificateManager: this.certificateManager,
    });
    this.current = { client } as Session;
    client.on('connection_lost', () => markLost('connection lost'));
    client.on('close', (err?: Error | null) => markLost(err ? `connection closed (${err.message})` : 'connection closed'));
    await withTimeout(client.connect(cfg.endpoint), cfg.timeoutMs, 'connect');
    const identity =
      cfg.username !== undefined
        ? { type: ua.UserTokenType.UserName, userName: cfg.username, password: cfg.password ?? '' }
        : { type: ua.UserTokenType.Anonymous };
    const session = await withTimeout(client.createSession(identity as UaClient.UserIdentityInfo), cfg.timeoutMs, 'create session');
    this.current.session = session;
    session.on('session_closed', () => markLost('session closed by the server'));
    session.on('keepalive_failure', () => markLost('session keep-alive failed'));
    const maxKeepAliveCount = Math.max(2, Math.ceil(5000 / cfg.publishingMs)); // a keep-alive at least every ~5 s
    const subscription = await withTimeout(
      session.createSubscription2({
        requestedPublishingInterval: cfg.publishingMs,
        requestedMaxKeepAliveCount: maxKeepAliveCount,
        requestedLifetimeCount: maxKeepAliveCount * 6,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      }),
      cfg.timeoutMs,
      'create subscription',
    );
    this.current.subscription = subscription;
    subscription.on('terminated', () => markLost('subscription terminated'));
    subscription.on('internal_error', (err: Error) => markLost(`subscription error: ${err.message}`));
    // A silent server (no data, no keep-alive) is a lost one: watchdog of 3 keep-alive periods.
    const keepAliveMs = maxKeepAliveCount * cfg.publishingMs; // ms
    let lastHeard = Date.now();
    const heard = () => (lastHeard = Date.now());
    subscription.on('keepalive', heard);
    subscription.on('received_notifications', heard);
    const watchdog = setInterval(() => {
      if (Date.now() - lastHeard > 3 * keepAliveMs + cfg.timeoutMs) markLost(`no data or keep-alive for ${Math.round((Date.now() - lastHeard) / 1000)} s`);
    }, Math.min(keepAliveMs, 1000));
    watchdog.unref();
    void lost.then(() => clearInterval(watchdog));

    const group = await withTimeout(
      subscription.monitorItems(
        this.channels.map((c) => ({ nodeId: c.nodeId, attributeId: ua.AttributeIds.Value })),
        { samplingInterval: cfg.samplingMs, discardOldest: true, queueSize: cfg.queueSize },
        ua.TimestampsToReturn.Both,
      ),
      cfg.timeoutMs + this.channels.length * 10,
      'create monitored items',
    );
    group.monitoredItems.forEach((item, i) => {
      const status = (item as unknown as { statusCode?: UaClient.StatusCode }).statusCode;
      if (status && status.value !== ua.StatusCodes.Good.value) {
        const c = this.channels[i]!;
        this.status.error(`${c.device}.${c.name}: cannot monitor ${c.nodeId}: ${status.name}`, false);
        this.submitBad(c, status.name);
      }
    });
    group.on('changed', (_item: unknown, dataValue: UaClient.DataValue, index: number) => this.onChange(this.channels[index], dataValue));
    return { lost };
  }

  private onChange(c: ResolvedChannel | undefined, dv: UaClient.DataValue): void {
    if (!c || !this.ua) return;
    this.status.stats.polls++;
    const status = dv.statusCode;
    // Good (and Good_… subcodes) carries a value; Uncertain and Bad do not count as numbers.
    if (status && (status.value & 0xc0000000) !== 0) {
      this.submitBad(c, status.name);
      return;
    }
    const value = toChannelValue(dv.value?.value);
    if (dv.value?.dataType !== undefined && dv.value.dataType !== this.ua.DataType.Null) c.dataType = dv.value.dataType;
    if (value === undefined) {
      this.submitBad(c, `unsupported value type ${this.ua.DataType[dv.value?.dataType ?? 0] ?? 'unknown'}`);
      return;
    }
    const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? Date.now();
    this.queue(c, { value }, ts);
  }

  private submitBad(c: ResolvedChannel, status: string): void {
    this.queue(c, { bad: status }, Date.now());
  }

  /** Changes of one publish arrive in one tick: one reading per device per tick (a channel changing twice splits it). */
  private queue(c: ResolvedChannel, v: { value: ChannelValue } | { bad: string }, ts: number): void {
    let r = this.pending.get(c.device);
    if (r && (c.name in r.values || (r.bad && c.name in r.bad))) {
      this.submitNow([r]);
      r = undefined;
    }
    if (!r) {
      r = { device: c.device, values: {}, ts };
      this.pending.set(c.device, r);
    }
    if ('value' in v) r.values[c.name] = v.value;
    else (r.bad ??= {})[c.name] = v.bad;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushReadings());
    }
  }

  private flushReadings(): void {
    this.flushScheduled = false;
    const readings = [...this.pending.values()];
    this.pending.clear();
    if (readings.length > 0) this.submitNow(readings);
  }

  private submitNow(readings: Reading[]): void {
    for (const r of readings) if (this.pending.get(r.device) === r) this.pending.delete(r.device);
    this.ctx.submit(readings).catch((err: unknown) => this.status.error(`could not store readings: ${errorMessage(err)}`, false));
  }

  private async teardown(): Promise<void> {
    const s = this.current;
    this.current = undefined;
    this.lost = undefined;
    if (!s?.client) return;
    const bound = Math.min(this.config.timeoutMs, 2000); // ms: a dead server must not hold us up
    if (s.session) await withTimeout(s.session.close(true), bound, 'close session').catch(() => undefined);
    await withTimeout(s.client.disconnect(), bound, 'disconnect').catch(() => undefined);
  }
}

/** A value node-opcua decoded, as a channel value; arrays and structures are not channel values. */
function toChannelValue(v: unknown): ChannelValue | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return v[0]! * 2 ** 32 + v[1]!; // (U)Int64 as [high, low]
  if (v instanceof Date) return v.toISOString();
  if (v && typeof v === 'object' && 'text' in v && typeof (v as { text: unknown }).text === 'string') return (v as { text: string }).text; // LocalizedText
  return undefined;
}

const INT_RANGES: Record<string, [number, number]> = {
  SByte: [-128, 127],
  Byte: [0, 255],
  Int16: [-32768, 32767],
  UInt16: [0, 65535],
  Int32: [-2147483648, 2147483647],
  UInt32: [0, 4294967295],
};

/** A channel value as a Variant of the node's data type, or invalid_value naming the type. */
function toVariant(ua: Ua, dataType: number | undefined, value: ChannelValue, what: string): UaClient.VariantOptions {
  const name = dataType === undefined ? undefined : ua.DataType[dataType];
  const fail = (accepted: string) => new GatewayError('invalid_value', `${what} is ${name}: it takes ${accepted}, not ${JSON.stringify(value)}`);
  const num = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'boolean' ? Number(value) : NaN;
  switch (name) {
    case 'Boolean': {
      if (value === true || value === 1 || value === 'true' || value === '1' || value === 'on') return { dataType: ua.DataType.Boolean, value: true };
      if (value === false || value === 0 || value === 'false' || value === '0' || value === 'off') return { dataType: ua.DataType.Boolean, value: false };
      throw fail('true/false or 1/0');
    }
    case 'Float':
    case 'Double':
      if (!Number.isFinite(num)) throw fail('a number');
      return { dataType: dataType!, value: num };
    case 'String':
      return { dataType: ua.DataType.String, value: String(value) };
    case 'Int64':
    case 'UInt64':
      if (!Number.isSafeInteger(num) || (name === 'UInt64' && num < 0)) throw fail(name === 'UInt64' ? 'a whole number ≥ 0' : 'a whole number');
      return { dataType: dataType!, value: [Math.floor(num / 2 ** 32), num >>> 0] };
    default: {
      const range = name ? INT_RANGES[name] : undefined;
      if (range) {
        if (!Number.isInteger(num) || num < range[0] || num > range[1]) throw fail(`a whole number from ${range[0]} to ${range[1]}`);
        return { dataType: dataType!, value: num };
      }
      throw new GatewayError('invalid_value', `${what}: the node's data type ${name ?? '(unknown)'} cannot be written from a channel value`);
    }
  }
}

/** Clear words for what users get wrong most (a wrong password, an untrusted certificate). */
function describeError(err: unknown): string {
  const m = errorMessage(err);
  if (/BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/i.test(m)) return `the server refused the user name or password (BadUserAccessDenied)`;
  if (/server Certificate verification failed|BadCertificateUntrusted/i.test(m)) {
    return 'the server certificate is not trusted (BadCertificateUntrusted): move it from <dataDir>/opcua/pki/rejected/ to <dataDir>/opcua/pki/trusted/certs/, or set trustServerCertificate: true';
  }
  if (/BadSecurityChecksFailed|BadCertificate/i.test(m)) {
    return `the server refused the secure channel (${m.split('\n')[0]}): trust the gateway certificate <dataDir>/opcua/pki/own/certs/ on the server`;
  }
  return m.split('\n')[0] ?? m;
}

export const opcuaConnector: ConnectorDefinition<OpcuaConfig> = {
  type: 'opcua',
  schema: opcuaConnectorSchema,
  create: (config, ctx) => new OpcuaConnector(config, ctx),
};
