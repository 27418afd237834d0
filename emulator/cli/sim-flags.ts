import { HELP_FLAG, parsers, type FlagSpec } from '../../src/cli/parse-flags.js';
import { isValidIpv4 } from '../../src/protocol/ip.js';
import { isValidVersion } from '../firmware-image.js';
import { SIM_DEFAULTS } from '../sim-cluster.js';

const LABEL_PAIR = /^[A-Za-z0-9._/-]{1,64}=[^,=]{0,128}$/;

/** Every option of `spore-sim` (emulator/README.md lists them; test/docs checks it). */
export const SIM_FLAGS: FlagSpec[] = [
  { name: 'count', description: 'number of virtual nodes', accepts: 'an integer 1-10000', parse: parsers.integer(1, 10_000), defaultText: '5' },
  { name: 'base-ip', description: 'address of the first node (the others follow)', accepts: 'an IPv4 address, e.g. 127.0.1.1', parse: (r) => (isValidIpv4(r) ? r : undefined), defaultText: SIM_DEFAULTS.baseIp },
  { name: 'http-port', description: "the nodes' HTTP API port (= the gateway's -node-port)", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: String(SIM_DEFAULTS.httpPort) },
  {
    name: 'http-listen',
    description: "serve every node's HTTP API from one listener on <address>:<http-port> instead of one per node (10,000 nodes within a 20,000-descriptor limit; 0.0.0.0 reaches every 127.x node, other addresses are closed at once)",
    accepts: 'an IPv4 address, e.g. 0.0.0.0',
    parse: (r) => (isValidIpv4(r) ? r : undefined),
    defaultText: 'one listener per node',
  },
  { name: 'gateway', description: 'gateway host the heartbeats go to', accepts: 'an IPv4 address', parse: (r) => (isValidIpv4(r) ? r : undefined), defaultText: SIM_DEFAULTS.gatewayHost },
  { name: 'udp-port', description: "the gateway's UDP port", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: String(SIM_DEFAULTS.gatewayPort) },
  {
    name: 'name-prefix',
    description: 'hostnames are <prefix><number>; give each spore-sim on a LAN its own',
    accepts: '1-60 of [A-Za-z0-9._-]',
    parse: (r) => (/^[A-Za-z0-9._-]{1,60}$/.test(r) ? r : undefined),
    defaultText: SIM_DEFAULTS.hostnamePrefix,
  },
  { name: 'heartbeat-ms', description: 'heartbeat interval, ms', accepts: 'an integer 50-600000', parse: parsers.integer(50, 600_000), defaultText: String(SIM_DEFAULTS.heartbeatIntervalMs) },
  {
    name: 'labels',
    description: 'labels of every node (default: role and zone vary per node)',
    accepts: 'k=v pairs separated by commas, e.g. zone=lab,role=led',
    parse: (raw) => {
      const pairs = raw.split(',').filter(Boolean);
      if (pairs.length === 0 || !pairs.every((p) => LABEL_PAIR.test(p))) return undefined;
      return Object.fromEntries(pairs.map((p) => p.split('=') as [string, string]));
    },
  },
  { name: 'version', description: 'firmware version the nodes report', accepts: '1-32 of [A-Za-z0-9._+-]', parse: (r) => (isValidVersion(r) ? r : undefined), defaultText: SIM_DEFAULTS.firmwareVersion },
  { name: 'reboot-ms', description: 'how long a reboot keeps a node silent, ms', accepts: 'an integer 0-600000', parse: parsers.integer(0, 600_000), defaultText: String(SIM_DEFAULTS.rebootMs) },
  { name: 'flash-speed', description: 'simulated flash write speed during OTA, bytes/s (0 = unthrottled)', accepts: 'an integer >= 0', parse: parsers.integer(0), defaultText: '0' },
  { name: 'flash-size', description: "the nodes' flash chip size, bytes", accepts: 'an integer 524288-16777216', parse: parsers.integer(524_288, 16 * 1024 * 1024), defaultText: '1048576' },
  {
    name: 'free-sketch-space',
    description: 'freeSketchSpace the nodes report, bytes ("none": not reported)',
    accepts: 'an integer >= 0, or none',
    parse: (raw) => (raw === 'none' ? null : /^\d{1,10}$/.test(raw) ? Number(raw) : undefined),
    defaultText: 'what a 460 KiB sketch leaves',
  },
  {
    name: 'latency-ms',
    description: 'jitter added to every HTTP answer, ms',
    accepts: 'min-max, e.g. 2-12',
    parse: (raw) => {
      const m = /^(\d{1,6})-(\d{1,6})$/.exec(raw);
      if (!m || Number(m[1]) > Number(m[2])) return undefined;
      return { min: Number(m[1]), max: Number(m[2]) };
    },
    defaultText: `${SIM_DEFAULTS.latencyMs.min}-${SIM_DEFAULTS.latencyMs.max}`,
  },
  { name: 'control-port', description: 'serve fault-injection commands on 127.0.0.1:<port> (POST /command, GET /nodes, GET /requests)', accepts: 'an integer 1-65535', parse: parsers.port(1) },
  {
    name: 'lan',
    description: 'real-LAN mode (network namespaces, scripts/real-lan-demo.sh): hear broadcast CLUSTER_DISCOVERY probes; -gateway may be a broadcast address',
    accepts: 'no value',
    boolean: true,
    parse: parsers.boolean,
  },
  { name: 'quiet', description: 'print nothing but errors', accepts: 'no value', boolean: true, parse: parsers.boolean },
  HELP_FLAG,
];
