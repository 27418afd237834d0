import net from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * The benchmark's publisher: MQTT 3.1.1 QoS 0 PUBLISH packets written straight
 * to a no-delay socket, corked per burst. Cheaper than a full client, so the
 * publisher takes as little CPU as possible from the systems being measured.
 */
export class RawPublisher {
  private corked = false;

  private constructor(private readonly socket: net.Socket) {}

  static async connect(port: number, clientId: string): Promise<RawPublisher> {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 } as mqttPacket.IConnectPacket));
      });
      socket.once('data', (d: Buffer) => (d[0] === 0x20 && d[3] === 0 ? resolve() : reject(new Error(`CONNACK refused: ${d.toString('hex')}`))));
    });
    socket.on('data', () => undefined); // nothing else comes for QoS 0; keep the socket drained
    return new RawPublisher(socket);
  }

  publish(topic: string, payload: string): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    const topicLen = Buffer.byteLength(topic);
    const payloadLen = Buffer.byteLength(payload);
    let remaining = 2 + topicLen + payloadLen;
    const lenBytes: number[] = [];
    do {
      let byte = remaining % 128;
      remaining = Math.floor(remaining / 128);
      if (remaining > 0) byte |= 0x80;
      lenBytes.push(byte);
    } while (remaining > 0);
    const packet = Buffer.allocUnsafe(1 + lenBytes.length + 2 + topicLen + payloadLen);
    let o = 0;
    packet[o++] = 0x30;
    for (const b of lenBytes) packet[o++] = b;
    packet.writeUInt16BE(topicLen, o);
    o += 2;
    o += packet.write(topic, o);
    packet.write(payload, o);
    this.socket.write(packet);
  }

  async end(): Promise<void> {
    this.socket.end(Buffer.from([0xe0, 0x00]));
    await new Promise((r) => this.socket.once('close', r));
  }
}
