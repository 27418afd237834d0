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
 * Unlike zwave-js's bin/mock-server.cjs this frames the TCP byte stream before handing it to the
 * mock port: TCP may deliver an ACK and the next frame in one chunk (or a frame in two), and the
 * mock controller expects exactly one frame per write. It also advertises nothing over mDNS.
 */
import { createServer, type Socket } from 'node:net';
import { CommandClasses } from '@zwave-js/core';
import { Faucet, ZWaveSerialFrameType, type ZWaveSerialFrame } from '@zwave-js/serial';
import { createAndOpenMockedZWaveSerialPort } from '@zwave-js/serial/mock';
import { MockController, MockNode } from '@zwave-js/testing';
import { createDefaultMockControllerBehaviors, createDefaultMockNodeBehaviors } from 'zwave-js/Testing';

const opts = JSON.parse(process.env.ZWAVE_MOCK ?? '{}') as { port: number; deferListen?: boolean };

const { serial, port: mockPort } = await createAndOpenMockedZWaveSerialPort();
const controller = new MockController({ homeId: 0x7e570001, ownNodeId: 1, mockPort, serial });
controller.defineBehavior(...createDefaultMockControllerBehaviors());

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
if (opts.deferListen) {
  console.log('LOADED');
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => d.includes('LISTEN') && !server.listening && listen());
} else listen();
process.on('SIGTERM', () => process.exit(0));
