/**
 * One UDP sender process of bench/core-udp-ingest.ts: several of them together are a driver that
 * can outrun the receivers on this machine. Controlled over IPC:
 *   {cmd:'open', host, port, first, count} → {opened}   count sockets, each bound to its own
 *                                                        127.x address (nodeIp(first + k)), like nodes
 *   {cmd:'run', rate, seconds}             → {sent, errors, startMs, endMs}
 * startMs/endMs are wall-clock ms (performance.timeOrigin + now) of the first send and of the last
 * send's completion, so the parent computes the achieved rate over the measured time.
 */
import dgram from 'node:dgram';
import { nodeIp } from './heartbeat-driver.js';

let sockets: dgram.Socket[] = [];
let messages: Buffer[] = [];
let host = '127.0.0.1';
let port = 0;
let errors = 0;
/** Sends not yet completed by libuv, bounded so a receiver that cannot keep up does not make us buffer without end. */
const MAX_OUTSTANDING = 20_000;

const now = () => performance.timeOrigin + performance.now();

async function open(m: { host: string; port: number; first: number; count: number }): Promise<void> {
  host = m.host;
  port = m.port;
  for (let k = 0; k < m.count; k++) {
    const s = dgram.createSocket('udp4');
    s.on('error', () => errors++);
    await new Promise<void>((r) => s.bind(0, nodeIp(m.first + k), () => r()));
    s.setSendBufferSize(1024 * 1024); // bytes
    sockets.push(s);
    messages.push(Buffer.from(`CLUSTER_HEARTBEAT:bench-${m.first + k}`));
  }
}

function run(rate: number, seconds: number): Promise<{ sent: number; errors: number; startMs: number; endMs: number }> {
  const total = Math.round(rate * seconds);
  errors = 0;
  let sent = 0;
  let done = 0;
  let next = 0;
  const startMs = now();
  return new Promise((resolve) => {
    let endMs = startMs;
    const onSent = (err: Error | null): void => {
      if (err) errors++;
      done++;
      if (done === total) {
        endMs = now();
        resolve({ sent, errors, startMs, endMs });
      }
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((now() - startMs) / 1000) * rate) + 1);
      while (sent < due && sent - done < MAX_OUTSTANDING) {
        const i = next++ % sockets.length;
        sockets[i]!.send(messages[i]!, port, host, onSent);
        sent++;
      }
      if (sent < total) setImmediate(tick);
    };
    if (total === 0) resolve({ sent: 0, errors: 0, startMs, endMs: startMs });
    else tick();
  });
}

process.on('message', (m: { cmd: string } & Record<string, any>) => {
  if (m.cmd === 'open') void open(m as any).then(() => process.send!({ opened: sockets.length }));
  else if (m.cmd === 'run') void run(m.rate, m.seconds).then((r) => process.send!(r));
  else if (m.cmd === 'close') {
    for (const s of sockets) s.close();
    sockets = [];
    messages = [];
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ started: true });
