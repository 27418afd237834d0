import type { NodeRegistry } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connectorSchema } from './config-schema.js';
import { CONNECTOR_TYPES } from './connectors/index.js';
import type { ChannelValue, Reading } from './types.js';

/** How long a probe waits for a first reading or a connection, ms. */
export const PROBE_TIMEOUT_MS = 8000;

export interface ProbeResult {
  ok: boolean;
  type: string;
  state: string;
  /** Readings the connector produced during the probe (device → channel → raw value). */
  readings: Record<string, Record<string, ChannelValue>>;
  error: string | null;
  tookMs: number;
}

/**
 * "Test the connection" of the add-connector flow (issue 15 §1): builds the
 * connector from a configuration (validated by the pipeline's schema), runs it
 * until its first reading (Modbus read, HTTP fetch, MQTT message) or its first
 * connection (MQTT connect), an error or the timeout, then stops it. Nothing is
 * committed to the pipeline or saved.
 */
export async function probeConnector(input: unknown, deps: { gatewayId: string; dataDir: string; registry: NodeRegistry; logger: Logger; timeoutMs?: number }): Promise<ProbeResult> {
  const parsed = connectorSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
    throw Object.assign(new GatewayError('invalid_config', `invalid connector: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`), { problems });
  }
  const config = parsed.data;
  const def = await CONNECTOR_TYPES.get(config.type)!();
  const readings: Record<string, Record<string, ChannelValue>> = {};
  const started = Date.now();
  let gotReading!: () => void;
  const firstReading = new Promise<void>((resolve) => (gotReading = resolve));
  const connector = def.create(config, {
    gatewayId: deps.gatewayId,
    dataDir: deps.dataDir,
    logger: deps.logger.child({ component: 'connector-probe', connector: config.id }),
    registry: deps.registry,
    claimDevice: () => true,
    submit: async (batch: Reading[]) => {
      for (const r of batch) readings[r.device] = { ...readings[r.device], ...r.values };
      gotReading();
    },
  });
  const timeoutMs = deps.timeoutMs ?? PROBE_TIMEOUT_MS;
  connector.start();
  // A listener (MQTT) may have nothing to say yet: its connection is the test.
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    firstReading,
    new Promise<void>((resolve) => {
      const check = (): void => {
        const s = connector.stats();
        if ((config.type === 'mqtt' && connector.state === 'connected') || s.errors > 0 || Date.now() >= deadline) return resolve();
        timer = setTimeout(check, 50);
      };
      check();
    }),
  ]);
  clearTimeout(timer);
  const state = connector.state;
  const stats = connector.stats();
  await connector.stop();
  const gotValues = Object.keys(readings).length > 0;
  const ok = gotValues || (config.type === 'mqtt' && state === 'connected');
  return {
    ok,
    type: config.type,
    state,
    readings,
    error: ok ? null : (stats.lastError ?? `no reading within ${timeoutMs} ms`),
    tookMs: Date.now() - started,
  };
}
