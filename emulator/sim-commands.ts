/**
 * Fault-injection commands, shared by `spore-sim`'s stdin and its control HTTP
 * port. A node is named by its number (1 = spore-sim-1, as in its hostname),
 * its IP, its hostname, or `all`.
 */
import type { SimCluster } from './sim-cluster.js';
import { UPDATE_FAILURE_MODES, type SimNode, type UpdateFailureMode } from './sim-node.js';

export const SIM_COMMAND_HELP = [
  'list                              every node: number, hostname, ip, state, version',
  'kill <node|all>                   power off (no heartbeats, HTTP refused)',
  'revive <node|all>                 boot again',
  'restart <node|all>                reboot (silent for the reboot time)',
  'mute <node|all> on|off            stop / resume heartbeats (HTTP keeps answering)',
  'slow <node|all> <ms>              delay every HTTP answer (0 = normal)',
  'fail-update <node|all> refuse|never-return|old-version|stall|none',
  'event <node> <name> [json]        send a CLUSTER_EVENT to the gateway',
  'raw <node> <text>                 send a RAW datagram to the gateway',
  'help',
].join('\n');

export class SimCommandError extends Error {}

function pick(cluster: SimCluster, ref: string | undefined): SimNode[] {
  if (!ref) throw new SimCommandError('name a node: its number (1..N), IP or hostname, or "all"');
  if (ref === 'all') return [...cluster.nodes];
  const byNumber = /^\d+$/.test(ref) ? cluster.nodes[Number(ref) - 1] : undefined;
  const node = byNumber ?? cluster.nodes.find((n) => n.ip === ref || n.hostname === ref);
  if (!node) throw new SimCommandError(`no node "${ref}" (numbers 1..${cluster.nodes.length}, an IP, a hostname or "all")`);
  return [node];
}

function describe(node: SimNode): string {
  const state = node.alive ? (node.muted ? 'muted' : 'up') : 'down';
  const extra = [node.slowMs ? `slow ${node.slowMs} ms` : '', node.pendingFailure ? `next update: ${node.pendingFailure}` : '']
    .filter(Boolean)
    .join(', ');
  return `${String(node.index + 1).padStart(4)}  ${node.hostname.padEnd(20)} ${node.ip.padEnd(15)} ${state.padEnd(5)} v${node.version}${extra ? `  (${extra})` : ''}`;
}

/** Applies one command line; returns the text to show. Throws SimCommandError for bad input. */
export async function applySimCommand(cluster: SimCluster, line: string): Promise<string> {
  const [verb, ref, ...rest] = line.trim().split(/\s+/);
  switch (verb) {
    case undefined:
    case '':
      return '';
    case 'help':
      return SIM_COMMAND_HELP;
    case 'list':
      return cluster.nodes.map(describe).join('\n');
    case 'kill':
      for (const n of pick(cluster, ref)) n.kill();
      return 'ok';
    case 'revive':
      await Promise.all(pick(cluster, ref).map((n) => n.revive()));
      return 'ok';
    case 'restart':
      for (const n of pick(cluster, ref)) void n.restart();
      return 'ok';
    case 'mute': {
      const nodes = pick(cluster, ref);
      if (rest[0] !== 'on' && rest[0] !== 'off') throw new SimCommandError('mute needs on or off');
      for (const n of nodes) n.mute(rest[0] === 'on');
      return 'ok';
    }
    case 'slow': {
      const nodes = pick(cluster, ref);
      if (!/^\d+$/.test(rest[0] ?? '')) throw new SimCommandError('slow needs a delay in ms, e.g. slow 3 5000');
      for (const n of nodes) n.slow(Number(rest[0]));
      return 'ok';
    }
    case 'fail-update': {
      const nodes = pick(cluster, ref);
      const mode = rest[0];
      if (mode !== 'none' && !(UPDATE_FAILURE_MODES as readonly string[]).includes(mode ?? '')) {
        throw new SimCommandError(`fail-update needs one of ${[...UPDATE_FAILURE_MODES, 'none'].join(', ')}`);
      }
      for (const n of nodes) n.failNextUpdate(mode === 'none' ? null : (mode as UpdateFailureMode));
      return 'ok';
    }
    case 'event': {
      const nodes = pick(cluster, ref);
      const [name, ...json] = rest;
      if (!name) throw new SimCommandError('event needs a name, e.g. event 1 button/pressed {"count":1}');
      let data: unknown = null;
      if (json.length) {
        try {
          data = JSON.parse(json.join(' '));
        } catch {
          throw new SimCommandError('event data must be JSON');
        }
      }
      await Promise.all(nodes.map((n) => n.sendEvent(name, data)));
      return 'ok';
    }
    case 'raw': {
      const nodes = pick(cluster, ref);
      await Promise.all(nodes.map((n) => n.sendRaw(rest.join(' '))));
      return 'ok';
    }
    default:
      throw new SimCommandError(`unknown command "${verb}"; try help`);
  }
}
