import net from 'node:net';

/**
 * Raw MQTT CONNECT packets and the broker's CONNACK, byte by byte: the client id rules
 * (MQTT 3.1 §3.1, MQTT-3.1.3-7/8 of 3.1.1, MQTT-3.1.3-6 of 5.0) are about what client
 * libraries refuse to send, so the tests write the packets themselves.
 */
export interface ConnectSpec {
  /** 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0; anything else to test the refusal. */
  level: number;
  clientId: string;
  /** Clean session (3.1, 3.1.1) / clean start (5.0). */
  clean: boolean;
  keepaliveSeconds?: number;
}

export interface Connack {
  /** The CONNACK's return code (3.1/3.1.1) or reason code (5.0); null when none came. */
  code: number | null;
  sessionPresent: boolean;
  /** MQTT 5 CONNACK properties by identifier (strings decoded, integers as numbers). */
  properties: Map<number, string | number>;
  /** The broker closed the connection within the wait. */
  closed: boolean;
}

const utf8 = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function connectPacket(spec: ConnectSpec): Buffer {
  const name = spec.level === 3 ? 'MQIsdp' : 'MQTT';
  const flags = spec.clean ? 0x02 : 0x00;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(spec.keepaliveSeconds ?? 30);
  const properties = spec.level === 5 ? Buffer.from([0]) : Buffer.alloc(0); // no CONNECT properties
  const body = Buffer.concat([utf8(name), Buffer.from([spec.level, flags]), keepalive, properties, utf8(spec.clientId)]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/** Property identifiers of MQTT 5 §2.2.2.2 by their value type. */
const FOUR_BYTE = new Set([0x02, 0x11, 0x18, 0x27]);
const TWO_BYTE = new Set([0x13, 0x21, 0x22, 0x23]);
const ONE_BYTE = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);
const STRING = new Set([0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c, 0x1f]);

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let mult = 1;
  let i = at;
  for (;;) {
    const byte = buf[i++]!;
    value += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) return [value, i];
    mult *= 128;
  }
}

function parseProperties(buf: Buffer): Map<number, string | number> {
  const props = new Map<number, string | number>();
  let i = 0;
  while (i < buf.length) {
    const id = buf[i++]!;
    if (FOUR_BYTE.has(id)) (props.set(id, buf.readUInt32BE(i)), (i += 4));
    else if (TWO_BYTE.has(id)) (props.set(id, buf.readUInt16BE(i)), (i += 2));
    else if (ONE_BYTE.has(id)) props.set(id, buf[i++]!);
    else if (STRING.has(id) || id === 0x16) {
      const len = buf.readUInt16BE(i);
      props.set(id, buf.subarray(i + 2, i + 2 + len).toString(id === 0x16 ? 'hex' : 'utf8'));
      i += 2 + len;
    } else if (id === 0x26) {
      // user property: two strings; skipped
      const k = buf.readUInt16BE(i);
      const v = buf.readUInt16BE(i + 2 + k);
      i += 4 + k + v;
    } else throw new Error(`unknown CONNACK property 0x${id.toString(16)}`);
  }
  return props;
}

/** Parses a CONNACK (MQTT 3.1.1 §3.2, 5.0 §3.2) at the start of `buf`; null if `buf` holds none yet. */
export function parseConnack(buf: Buffer, level: number): Omit<Connack, 'closed'> | null {
  if (buf.length < 2 || buf[0] !== 0x20) return null;
  const [length, start] = readVarint(buf, 1);
  if (buf.length < start + length) return null;
  const sessionPresent = (buf[start]! & 0x01) === 1;
  const code = buf[start + 1]!;
  let properties = new Map<number, string | number>();
  if (level === 5 && length > 2) {
    const [propLength, propStart] = readVarint(buf, start + 2);
    properties = parseProperties(buf.subarray(propStart, propStart + propLength));
  }
  return { code, sessionPresent, properties };
}

/** Sends one CONNECT and waits for the CONNACK and, for `waitCloseMs`, for the broker to close. */
export function rawConnect(port: number, spec: ConnectSpec, waitCloseMs = 300): Promise<Connack> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(connectPacket(spec)));
    let buf = Buffer.alloc(0);
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const ack = parseConnack(buf, spec.level);
      resolve({ code: ack?.code ?? null, sessionPresent: ack?.sessionPresent ?? false, properties: ack?.properties ?? new Map(), closed });
    };
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      // Once the CONNACK is in, give the broker a moment to close (or not).
      if (parseConnack(buf, spec.level) && !timer) timer = setTimeout(() => finish(false), waitCloseMs);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (settled ? undefined : ((settled = true), reject(err))));
    // No CONNACK at all within 5 s: report what came.
    setTimeout(() => finish(false), 5000).unref();
  });
}
