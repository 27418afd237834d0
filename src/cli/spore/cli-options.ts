import { isValidBrokerUrl } from '../../mqtt/connection.js';
import { isValidIpv4 } from '../../protocol/ip.js';
import { FlagError, type FlagSpec, parseFlags, parsers } from '../parse-flags.js';

/** A mistake on the command line: exit code 2, one line naming the option or argument and what is accepted. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The operation failed (a node refused, a rollout failed, the gateway said no): exit code 1. */
export class CliFailure extends Error {
  constructor(
    message: string,
    /** Printed as JSON with --json. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "sat,sun 02:00-05:00 Europe/Berlin" → the rollout's window (timezone default UTC). */
export function parseWindow(raw: string): { days: string[]; from: string; to: string; timezone: string } | undefined {
  const m = /^\s*([a-z,]+)\s+([0-2]\d:[0-5]\d)-([0-2]\d:[0-5]\d)(?:\s+(\S+))?\s*$/i.exec(raw);
  if (!m) return undefined;
  const days = m[1]!.toLowerCase().split(',').filter((d) => d.length > 0);
  if (days.length === 0 || !days.every((d) => DAYS.includes(d))) return undefined;
  return { days, from: m[2]!, to: m[3]!, timezone: m[4] ?? 'UTC' };
}

const LABEL_PAIR = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}=[^,=\s]{0,256}$/;

export function parseLabels(raw: string): Record<string, string> | undefined {
  const pairs = raw.split(',').filter((p) => p.length > 0);
  if (pairs.length === 0 || !pairs.every((p) => LABEL_PAIR.test(p))) return undefined;
  return Object.fromEntries(pairs.map((p) => p.split('=') as [string, string]));
}

function parseGatewayUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) return undefined;
    return url.toString().replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'gateway', description: 'the gateway to talk to', accepts: 'an http:// or https:// URL, e.g. http://localhost:3001', parse: parseGatewayUrl, defaultText: '$SPORE_GATEWAY or http://localhost:3001' },
  { name: 'api-key', description: "the gateway's API key, when it has keys configured (sent as Authorization: Bearer)", accepts: 'a non-empty key', parse: (raw) => (raw.length > 0 && !/\s/.test(raw) ? raw : undefined), defaultText: '$SPORE_API_KEY' },
  { name: 'direct', description: 'talk to nodes directly, as ctl.sh did (API_NODE from the environment or .env)', accepts: 'no value', boolean: true, parse: parsers.boolean },
  { name: 'node-port', description: "the nodes' HTTP port with --direct", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: '80' },
  { name: 'mqtt', description: 'the broker the gateways export to (spore fleet nodes)', accepts: 'mqtt://, mqtts://, tcp://, tls://, ws://, wss:// URL', parse: (raw) => (isValidBrokerUrl(raw) ? raw : undefined), defaultText: '$SPORE_MQTT' },
  { name: 'json', description: 'print the result as JSON (for scripts)', accepts: 'no value', boolean: true, parse: parsers.boolean },
  { name: 'help', description: 'show help', accepts: 'no value', boolean: true, parse: parsers.boolean },
];

const labels: FlagSpec = { name: 'labels', description: 'only nodes with these labels', accepts: 'k=v pairs separated by commas, e.g. role=sensor,zone=1', parse: parseLabels };
const bootTimeout: FlagSpec = { name: 'boot-timeout', description: 'seconds a node may take to come back after an update', accepts: 'an integer 1-3600 (seconds)', parse: parsers.integer(1, 3600) };
const name: FlagSpec = { name: 'name', description: 'firmware name in the store', accepts: '1-64 of letters, digits, ".", "_", "-"', parse: (raw) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw) && !raw.includes('..') ? raw : undefined) };
const version: FlagSpec = { name: 'version', description: 'firmware version in the store', accepts: '1-64 of letters, digits, ".", "+", "_", "-"', parse: (raw) => (/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/.test(raw) && !raw.includes('..') ? raw : undefined) };

/** Options each command accepts beyond the global ones. */
export const COMMAND_FLAGS: Record<string, FlagSpec[]> = {
  'cluster members': [],
  'node status': [],
  'ota update': [bootTimeout, { name: 'no-wait', description: 'do not wait for the node to come back', accepts: 'no value', boolean: true, parse: parsers.boolean }],
  'ota all': [
    labels,
    { name: 'ips', description: 'only these nodes', accepts: 'IPv4 addresses separated by commas', parse: (raw) => (raw.split(',').every(isValidIpv4) ? raw.split(',') : undefined) },
    { name: 'batch', description: 'nodes updated at once', accepts: 'an integer 1-1000', parse: parsers.integer(1, 1000), defaultText: '1' },
    { name: 'max-failures', description: 'failed nodes tolerated before the rollout stops', accepts: 'an integer >= 0', parse: parsers.integer(0), defaultText: '0' },
    bootTimeout,
    name,
    version,
    { name: 'dry-run', description: 'show the plan, change nothing', accepts: 'no value', boolean: true, parse: parsers.boolean },
    { name: 'no-wait', description: 'return once the rollout started', accepts: 'no value', boolean: true, parse: parsers.boolean },
    { name: 'at', description: 'start the rollout not before this time', accepts: 'an RFC3339 date-time, e.g. 2026-12-05T02:00:00Z', parse: (raw) => (RFC3339.test(raw) && Number.isFinite(Date.parse(raw)) ? raw : undefined) },
    { name: 'window', description: 'update nodes only inside this maintenance window', accepts: 'days from-to [timezone], e.g. "sat,sun 02:00-05:00 Europe/Berlin"', parse: parseWindow },
    { name: 'dynamic', description: 'keep a label rollout open for nodes that join later', accepts: 'no value', boolean: true, parse: parsers.boolean },
    { name: 'dynamic-hours', description: 'how long a -dynamic rollout takes late joiners, hours', accepts: 'a number of hours, more than 0 and at most 720', parse: (raw) => (/^\d+(\.\d+)?$/.test(raw) && Number(raw) > 0 && Number(raw) <= 720 ? Number(raw) : undefined), defaultText: '24' },
    { name: 'auto-rollback', description: 'roll the updated nodes back if the rollout fails its threshold', accepts: 'no value', boolean: true, parse: parsers.boolean },
  ],
  'firmware upload': [name, version, labels, { name: 'force', description: 'store an image that is not an ESP8266 application image', accepts: 'no value', boolean: true, parse: parsers.boolean }],
  'firmware list': [],
  'firmware rm': [],
  'firmware sign': [{ name: 'key', description: 'the ed25519 private key to sign with (spore keys generate)', accepts: 'a PEM file path', parse: (raw) => (raw.length > 0 ? raw : undefined) }],
  'keys generate': [{ name: 'out', description: 'where to write <out>.key (private, mode 600) and <out>.pub', accepts: 'a path prefix', parse: (raw) => (raw.length > 0 ? raw : undefined), defaultText: './spore-signing' }],
  'rollout list': [{ name: 'status', description: 'only rollouts in these states', accepts: 'pending, scheduled, running, paused, succeeded, failed, cancelled (comma-separated)', parse: (raw) => (raw.split(',').every((s) => ['pending', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'cancelled'].includes(s)) ? raw : undefined) }],
  'rollout status': [{ name: 'follow', description: 'follow it live until it ends', accepts: 'no value', boolean: true, parse: parsers.boolean }],
  'rollout pause': [],
  'rollout resume': [],
  'rollout cancel': [],
  'rollout retry': [],
  'rollout rollback': [],
  backup: [],
  restore: [],
  'fleet nodes': [],
};

/** Positional arguments: `<name>` required, `[name]` optional. */
export const COMMAND_ARGS: Record<string, string[]> = {
  'cluster members': [],
  'node status': ['[ip]'],
  'ota update': ['<ip>', '<file>'],
  'ota all': ['<file>'],
  'firmware upload': ['<file>'],
  'firmware list': [],
  'firmware rm': ['<id|name@version>'],
  'firmware sign': ['<file>'],
  'keys generate': [],
  'rollout list': [],
  'rollout status': ['<id>'],
  'rollout pause': ['<id>'],
  'rollout resume': ['<id>'],
  'rollout cancel': ['<id>'],
  'rollout retry': ['<id>'],
  'rollout rollback': ['<id>'],
  backup: ['<file>'],
  restore: ['<file>'],
  'fleet nodes': [],
};

export const COMMANDS = Object.keys(COMMAND_FLAGS);

export interface ParsedCommand {
  command: string | null;
  args: string[];
  flags: Map<string, unknown>;
}

/**
 * Parses `spore [global options] <group> <action> [args] [options]`; options
 * may come anywhere. Every mistake is a UsageError naming the option or
 * argument and the accepted values.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const all = new Map<string, FlagSpec>();
  for (const spec of [...GLOBAL_FLAGS, ...Object.values(COMMAND_FLAGS).flat()]) all.set(spec.name, spec);
  let parsed;
  try {
    parsed = parseFlags(argv, [...all.values()]);
  } catch (err) {
    if (err instanceof FlagError) throw new UsageError(err.message);
    throw err;
  }
  const [group, action, ...rest] = parsed.positionals;
  if (group === undefined || group === 'help') return { command: null, args: [], flags: parsed.values };
  const groups = [...new Set(COMMANDS.map((c) => c.split(' ')[0]!))];
  if (!groups.includes(group)) throw new UsageError(`unknown command "${group}" (accepted: ${COMMANDS.join(', ')})`);
  let command: string;
  let args: string[];
  if (COMMANDS.includes(group)) {
    // A one-word command (`spore backup <file>`): what follows are its arguments.
    command = group;
    args = action === undefined ? [] : [action, ...rest];
  } else {
    const actions = COMMANDS.filter((c) => c.startsWith(`${group} `)).map((c) => c.split(' ')[1]!);
    if (action === undefined) throw new UsageError(`"spore ${group}" needs an action: ${actions.join(', ')}`);
    if (!actions.includes(action)) throw new UsageError(`unknown action "${action}" for "spore ${group}" (accepted: ${actions.join(', ')})`);
    command = `${group} ${action}`;
    args = rest;
  }
  const allowed = new Set([...GLOBAL_FLAGS, ...COMMAND_FLAGS[command]!].map((s) => s.name));
  for (const flag of parsed.values.keys()) {
    if (!allowed.has(flag)) {
      throw new UsageError(`option -${flag} does not apply to "spore ${command}" (accepted there: ${[...allowed].map((f) => `-${f}`).join(', ')})`);
    }
  }
  const spec = COMMAND_ARGS[command]!;
  const required = spec.filter((a) => a.startsWith('<')).length;
  if (args.length < required) {
    throw new UsageError(`"spore ${command}" needs ${spec.slice(args.length).filter((a) => a.startsWith('<')).join(' ')} (usage: spore ${command} ${spec.join(' ')})`);
  }
  if (args.length > spec.length) {
    throw new UsageError(`"spore ${command}" takes ${spec.length === 0 ? 'no arguments' : spec.join(' ')}; unexpected "${args[spec.length]}"`);
  }
  return { command, args, flags: parsed.values };
}

export function usage(): string {
  const lines = COMMANDS.map((c) => {
    const extra = COMMAND_FLAGS[c]!.map((f) => `[-${f.name}${f.boolean ? '' : ` <${f.name}>`}]`).join(' ');
    return `  spore ${c} ${COMMAND_ARGS[c]!.join(' ')} ${extra}`.replace(/\s+$/, '');
  });
  const global = GLOBAL_FLAGS.map((f) => `  -${f.name}${f.boolean ? '' : ' <val>'}`.padEnd(18) + ` ${f.description}; ${f.accepts}${f.defaultText ? ` (default ${f.defaultText})` : ''}`);
  const options = [...new Map(Object.values(COMMAND_FLAGS).flat().map((f) => [f.name, f])).values()].map(
    (f) => `  -${f.name}${f.boolean ? '' : ' <val>'}`.padEnd(18) + ` ${f.description}; ${f.accepts}${f.defaultText ? ` (default ${f.defaultText})` : ''}`,
  );
  return [
    'Usage: spore <command> [options]   (the TypeScript heir of SPORE\'s ctl.sh)',
    '',
    'Commands:',
    ...lines,
    '',
    'Global options (single or double dash, "-name value" or "-name=value", anywhere on the line):',
    ...global,
    '',
    'Command options:',
    ...options,
    '',
    'Exit status: 0 success, 1 the operation failed, 2 a usage error.',
    '',
  ].join('\n');
}
