/**
 * The lossy driver of bench/failover.ts: a UDP relay, in its own process, between emulated nodes
 * and the gateway that drops each datagram with probability argv[3] (0.05 = 5 %). It forwards
 * every node's datagrams from a socket bound to that node's own address, so the gateway still
 * sees the node's IP, and relays the gateway's answers back (with the same loss).
 * argv: <gateway port> <gateway host> <loss>. IPC: {started, port}; any message → {stats}.
 */
import dgram from 'node:dgram';

const [gatewayPort, gatewayHost, lossText] = process.argv.slice(2) as [string, string, string];
const loss = Number(lossText);
const stats = { fromNodes: 0, forwarded: 0, dropped: 0, fromGateway: 0 };
const listen = dgram.createSocket('udp4');
/** One socket per node address, bound to it: the gateway identifies nodes by source IP. */
const perNode = new Map<string, { socket: dgram.Socket; nodePort: number }>();

function relayFor(ip: string, nodePort: number): dgram.Socket {
  let entry = perNode.get(ip);
  if (!entry) {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, ip);
    socket.on('error', () => undefined);
    entry = { socket, nodePort };
    const e = entry;
    socket.on('message', (msg) => {
      stats.fromGateway++;
      if (Math.random() < loss) return void stats.dropped++;
      listen.send(msg, e.nodePort, ip);
    });
    perNode.set(ip, entry);
  }
  entry.nodePort = nodePort;
  return entry.socket;
}

listen.on('message', (msg, rinfo) => {
  stats.fromNodes++;
  const socket = relayFor(rinfo.address, rinfo.port);
  if (Math.random() < loss) return void stats.dropped++;
  stats.forwarded++;
  socket.send(msg, Number(gatewayPort), gatewayHost);
});
listen.bind(0, '0.0.0.0', () => process.send!({ started: true, port: listen.address().port }));
process.on('message', () => process.send!({ stats }));
process.on('disconnect', () => process.exit(0));
