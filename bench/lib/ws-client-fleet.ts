/**
 * A child process holding the benchmark's WebSocket clients, so they do not
 * share an event loop with the publisher. Controlled over IPC:
 *   {cmd:'connect', kind:'json'|'mqtt', url, count}  → {ready:true} | {error}
 *   {cmd:'reset', expected}                          → counters and samples cleared
 *   (while running)                                  ← {progress: min received over the clients}
 *   {cmd:'report'}                                   → {report: {...}}
 *   {cmd:'close'}                                    → exits
 * Every payload carries "|<seq>|<hrtime ns>|"; latency = receipt − that time,
 * both from the machine's monotonic clock (process.hrtime), shared by processes.
 *
 * kind 'json': the frame is JSON text (the gateway's or Node-RED's) containing the payload.
 * kind 'mqtt': the frames are MQTT packets (Mosquitto's own WebSocket listener),
 *              parsed with mqtt-packet after a CONNECT and a SUBSCRIBE to bench/#.
 */
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';

interface Client {
  ws: WebSocket;
  received: number;
}

let clients: Client[] = [];
let expected = 0;
let latencies: Float64Array = new Float64Array(0);
let samples = 0;
let lastProgress = -1;
let doneAtNs = 0n;
let progressTimer: NodeJS.Timeout | undefined;
let unparsable = 0;

function send(message: unknown): void {
  process.send?.(message);
}

const BAR = 0x7c; // "|"

/** Reads "|<seq>|<ns>|" straight from the bytes: no string, no regex, the same for every system. */
function onPayload(client: Client, buf: Buffer, from = 0): void {
  const a = buf.indexOf(BAR, from);
  const b = a < 0 ? -1 : buf.indexOf(BAR, a + 1);
  const c = b < 0 ? -1 : buf.indexOf(BAR, b + 1);
  if (c < 0 || b === a + 1) {
    unparsable++;
    return;
  }
  let sentNs = 0n;
  // hrtime ns does not fit a double exactly; 15 leading digits do, then the rest.
  const digits = c - b - 1;
  if (digits > 15) {
    let hi = 0;
    let lo = 0;
    for (let i = b + 1; i < c - 6; i++) hi = hi * 10 + (buf[i]! - 48);
    for (let i = c - 6; i < c; i++) lo = lo * 10 + (buf[i]! - 48);
    sentNs = BigInt(hi) * 1_000_000n + BigInt(lo);
  } else {
    let v = 0;
    for (let i = b + 1; i < c; i++) v = v * 10 + (buf[i]! - 48);
    sentNs = BigInt(v);
  }
  const now = process.hrtime.bigint();
  client.received++;
  if (samples < latencies.length) latencies[samples++] = Number(now - sentNs) / 1e6;
  if (client.received === expected) {
    if (clients.every((c2) => c2.received >= expected)) doneAtNs = now;
  }
}

function minReceived(): number {
  let min = Infinity;
  for (const c of clients) if (c.received < min) min = c.received;
  return clients.length ? min : 0;
}

async function connect(kind: 'json' | 'mqtt', url: string, count: number): Promise<void> {
  const opened = Array.from({ length: count }, (_, i) =>
    new Promise<Client>((resolve, reject) => {
      // UTF-8 validation off: every system's frames are treated the same, and the clients stay cheap.
      const wsOptions = { perMessageDeflate: false, skipUTF8Validation: true };
      const ws = kind === 'mqtt' ? new WebSocket(url, 'mqtt', wsOptions) : new WebSocket(url, wsOptions);
      const client: Client = { ws, received: 0 };
      ws.once('error', reject);
      if (kind === 'json') {
        ws.on('message', (data) => onPayload(client, data as Buffer));
        ws.once('open', () => resolve(client));
        return;
      }
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let subscribed = false;
      parser.on('packet', (packet: mqttPacket.Packet) => {
        if (packet.cmd === 'publish') onPayload(client, packet.payload as Buffer);
        else if (packet.cmd === 'connack') {
          ws.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/#', qos: 0 }] } as mqttPacket.ISubscribePacket));
        } else if (packet.cmd === 'suback' && !subscribed) {
          subscribed = true;
          resolve(client);
        }
      });
      ws.on('message', (data) => parser.parse(data as Buffer));
      ws.once('open', () => {
        ws.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `bench-ws-${process.pid}-${i}`, keepalive: 60 } as mqttPacket.IConnectPacket));
      });
    }),
  );
  clients = await Promise.all(opened);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

process.on('message', (msg: { cmd: string; kind?: 'json' | 'mqtt'; url?: string; count?: number; expected?: number }) => {
  if (msg.cmd === 'connect') {
    connect(msg.kind!, msg.url!, msg.count!).then(
      () => send({ ready: true }),
      (err: Error) => send({ error: err.message }),
    );
  } else if (msg.cmd === 'reset') {
    expected = msg.expected!;
    for (const c of clients) c.received = 0;
    latencies = new Float64Array(Math.min(2_000_000, expected * clients.length));
    samples = 0;
    unparsable = 0;
    lastProgress = -1;
    doneAtNs = 0n;
    clearInterval(progressTimer);
    progressTimer = setInterval(() => {
      const min = minReceived();
      if (min !== lastProgress) {
        lastProgress = min;
        send({ progress: min });
      }
    }, 2);
    send({ reset: true });
  } else if (msg.cmd === 'report') {
    clearInterval(progressTimer);
    const sorted = latencies.slice(0, samples).sort();
    send({
      report: {
        received: clients.map((c) => c.received),
        doneAtNs: doneAtNs.toString(),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        samples,
        unparsable,
      },
    });
  } else if (msg.cmd === 'close') {
    clearInterval(progressTimer);
    for (const c of clients) c.ws.terminate();
    clients = [];
    send({ closed: true });
  }
});
send({ started: true });
