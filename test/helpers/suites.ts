/**
 * The set-ups many describe() blocks share, as before/after hooks: call one at the top of a
 * describe() and read the fields of what it returns inside the tests (they are set in before()).
 * Hooks run in the order they are registered, so a suite's own before() placed after the call
 * sees everything started, and its own after() runs once they are stopped.
 * (Kept apart from browser.ts, which the web benchmark imports without the gateway.)
 */
import { after, before } from 'node:test';
import type { SimClusterOptions } from '../../emulator/index.js';
import { ensureWebBuilt, launchBrowser, type TestBrowser } from './browser.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';
import { waitFor } from './net.js';
import { startSim, type TestSim } from './sim.js';

export interface SuiteOptions {
  /** How many emulated nodes. */
  nodes: number;
  /** Overrides of the test gateway's configuration. */
  config?: Record<string, unknown>;
  /** Options of the emulated nodes (labels, flash speed…). */
  sim?: Partial<SimClusterOptions>;
  /** The gateway's clock for rollout schedules (tests move time with it). */
  clock?: () => number;
}

export interface GatewaySuite {
  gw: TestGateway;
  sim: TestSim;
}

export interface UiSuite extends GatewaySuite {
  /** Chromium with one page. */
  b: TestBrowser;
}

/** A test gateway and emulated nodes; before() returns once the gateway has registered every node. */
export function gatewaySuite(opts: SuiteOptions): GatewaySuite {
  const suite = {} as GatewaySuite;
  before(async () => {
    suite.gw = await startTestGateway(opts.config, opts.clock ? { clock: opts.clock } : {});
    suite.sim = await startSim(suite.gw, opts.nodes, opts.sim);
    await waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)), `${opts.nodes} nodes registered`);
  });
  after(async () => {
    await suite.sim?.stop();
    await suite.gw?.stop();
  });
  return suite;
}

/**
 * The web UI's tests: the built UI, a test gateway, emulated nodes and Chromium. It does not wait
 * for the nodes: the pages under test show them arriving.
 */
export function uiSuite(opts: SuiteOptions): UiSuite {
  const suite = {} as UiSuite;
  before(async () => {
    ensureWebBuilt();
    suite.gw = await startTestGateway(opts.config);
    suite.sim = await startSim(suite.gw, opts.nodes, opts.sim);
    suite.b = await launchBrowser();
  });
  after(async () => {
    await suite.b?.close();
    await suite.sim?.stop();
    await suite.gw?.stop();
  });
  return suite;
}
