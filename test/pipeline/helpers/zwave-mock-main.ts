/**
 * A Z-Wave controller built from zwave-js's own mock parts (@zwave-js/testing MockController and
 * MockNode with zwave-js's default behaviours, @zwave-js/serial/mock), served on a TCP port like
 * a stick behind ser2net. Run as its own process so a test can stop it and start it again.
 *
 * Nodes: 2 = a binary switch, 3 = a multilevel sensor (Air temperature, °C) whose reading
 * counts up by 0.5 on every Get. Options in ZWAVE_MOCK (JSON): { port, deferListen }. Prints
 * "READY <port>" once listening. With deferListen it prints "LOADED" once the libraries are
 * loaded and listens only when "LISTEN" arrives on stdin: a test starts the replacement of a
 * killed controller during the outage (loading zwave-js takes seconds on a busy machine) and
 * brings it on line when the outage is over.
 *
 * Commands, one JSON object a line on stdin, each answered by "REPLY <json>" on stdout:
 * - {"cmd":"join","id":4,"kind":"switch"|"s2-switch"} prepares a device that joins at the next
 *   inclusion (a binary switch; "s2-switch" asks for S2 Authenticated and supports the switch only
 *   securely); the reply has its DSK and PIN for S2 ({"id","dsk","pin"}).
 * - {"cmd":"leave","id":4}: that node leaves at the next exclusion.
 * "ADDED <id>" / "REMOVED <id>" are printed when the controller added or removed a node.
 *
 * Unlike zwave-js's bin/mock-server.cjs this frames the TCP byte stream before handing it to the
 * mock port: TCP may deliver an ACK and the next frame in one chunk (or a frame in two), and the
 * mock controller expects exactly one frame per write. It also advertises nothing over mDNS.
 */
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { CommandClasses, SecurityClass } from '@zwave-js/core';
import { Faucet, ZWaveSerialFrameType, type ZWaveSerialFrame } from '@zwave-js/serial';
import { createAndOpenMockedZWaveSerialPort } from '@zwave-js/serial/mock';
import { MockController, MockNode } from '@zwave-js/testing';
import { createDefaultMockControllerBehaviors, createDefaultMockNodeBehaviors } from 'zwave-js/Testing';
import { JoinLeave } from './zwave-mock-joining.js';
import { makeS2Identity, makeS2Joiner, sendWithoutAckAsSent } from './zwave-mock-s2.js';

const opts = JSON.parse(process.env.ZWAVE_MOCK ?? '{}') as { port: number; deferListen?: boolean };

const { serial, port: mockPort } = await createAndOpenMockedZWaveSerialPort();
const controller = new MockController({ homeId: 0x7e570001, ownNodeId: 1, mockPort, serial });
controller.defineBehavior(...createDefaultMockControllerBehaviors());
const joinLeave = new JoinLeave((what) => console.log(what));
controller.defineBehavior(...joinLeave.behaviors(), sendWithoutAckAsSent); // defined last: asked before the defaults

let temperature = 20;
const nodes = [
  new MockNode({ id: 2, controller, capabilities: { commandClasses: [CommandClasses['Binary Switch']] } }),
  new MockNode({
    id: 3,
    controller,
    capabilities: {
      commandClasses: [
        {
          ccId: CommandClasses['Multilevel Sensor'],
          sensors: { 0x01: { supportedScales: [0] } }, // Air temperature, Celsius
          getValue: () => (temperature += 0.5),
        } as never,
      ],
    },
  }),
];
for (const node of nodes) {
  controller.addNode(node);
  node.defineBehavior(...createDefaultMockNodeBehaviors());
}

const SOF = 0x01;
/** Splits a byte stream into Z-Wave serial API frames: ACK/NAK/CAN bytes and SOF…checksum frames. */
class Framer {
  private buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.buffer.length > 0) {
      const first = this.buffer[0]!;
      if (first !== SOF) {
        // ACK 0x06, NAK 0x15, CAN 0x18 (and stray bytes, which the mock port rejects on its own)
        frames.push(this.buffer.subarray(0, 1));
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      if (this.buffer.length < 2) break;
      const total = this.buffer[1]! + 2; // SOF, length, then `length` bytes (type … checksum)
      if (this.buffer.length < total) break;
      frames.push(this.buffer.subarray(0, total));
      this.buffer = this.buffer.subarray(total);
    }
    return frames;
  }
}

const faucet = new Faucet(serial.readable);
let client: Socket | undefined;
const server = createServer((socket) => {
  if (client) {
    socket.destroy(); // one driver at a time, like a serial port
    return;
  }
  client = socket;
  const writable = new WritableStream<ZWaveSerialFrame>({
    write: (chunk) => {
      if (chunk.type !== ZWaveSerialFrameType.SerialAPI) return;
      socket.write(typeof chunk.data === 'number' ? Uint8Array.from([chunk.data]) : chunk.data);
    },
  });
  faucet.connect(writable);
  const framer = new Framer();
  let queue = Promise.resolve();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of framer.push(chunk)) {
      queue = queue.then(() => serial.writeAsync(Uint8Array.from(frame))).catch((e: unknown) => console.error('mock serial write failed', e));
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    faucet.disconnect();
    void writable.close().catch(() => undefined);
    if (client === socket) client = undefined;
  });
});
const listen = () => server.listen({ host: '127.0.0.1', port: opts.port }, () => console.log(`READY ${opts.port}`));

/** A device waiting to be included (not yet known to the controller). */
async function join(id: number, kind: string): Promise<Record<string, unknown>> {
  if (controller.nodes.has(id)) throw new Error(`node ${id} is already included`);
  const s2 = kind === 's2-switch';
  if (!s2 && kind !== 'switch') throw new Error(`kind must be switch or s2-switch, not ${kind}`);
  const node = new MockNode({
    id,
    controller,
    capabilities: {
      commandClasses: s2 ? [CommandClasses['Security 2'], { ccId: CommandClasses['Binary Switch'], secure: true }] : [CommandClasses['Binary Switch']],
    },
  });
  node.defineBehavior(...createDefaultMockNodeBehaviors());
  let reply: Record<string, unknown> = { id };
  if (s2) {
    const identity = await makeS2Identity([SecurityClass.S2_Authenticated]);
    await makeS2Joiner(node, identity);
    reply = { id, dsk: identity.dsk, pin: identity.pin };
  }
  joinLeave.joining = node;
  return reply;
}

const commands = async (line: string) => {
  if (line.includes('LISTEN')) {
    if (!server.listening) listen();
    return;
  }
  if (!line.trim().startsWith('{')) return;
  let reply: unknown;
  try {
    const c = JSON.parse(line) as { cmd: string; id: number; kind?: string };
    if (c.cmd === 'join') reply = await join(c.id, c.kind ?? 'switch');
    else if (c.cmd === 'leave') {
      if (!controller.nodes.has(c.id)) throw new Error(`node ${c.id} is not included`);
      joinLeave.leaving = c.id;
      reply = { id: c.id };
    } else throw new Error(`unknown command ${c.cmd}`);
  } catch (e) {
    reply = { error: e instanceof Error ? e.message : String(e) };
  }
  console.log(`REPLY ${JSON.stringify(reply)}`);
};
createInterface({ input: process.stdin }).on('line', (line) => void commands(line));
if (opts.deferListen) console.log('LOADED');
else listen();
process.on('SIGTERM', () => process.exit(0));
