/**
 * MQTT packet framing for the receive fast paths (publish-fast-path.ts, broker-publish-fast-path.ts):
 * where a packet's body starts and ends, from its fixed header (MQTT 3.1.1 §2.2, MQTT 5 §2.1).
 */

/** A fixed header read: the body's first byte and the byte after the packet. */
export interface FixedHeader {
  bodyAt: number;
  end: number;
}

/** 'incomplete': more bytes are needed to read the header; 'malformed': a fifth length byte. */
export function readFixedHeader(buf: Buffer, at: number): FixedHeader | 'incomplete' | 'malformed' {
  // Remaining length: 1-4 bytes of 7 bits, least significant first.
  let length = 0;
  let multiplier = 1;
  for (let i = at + 1; i < at + 5; i++) {
    if (i >= buf.length) return 'incomplete';
    const byte = buf[i]!;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return { bodyAt: i + 1, end: i + 1 + length };
  }
  return 'malformed';
}

/**
 * The packet begun in `rest` (the incomplete tail of the last read) completed from the start of
 * `chunk`: a buffer of exactly that packet and where the rest of `chunk` starts. Undefined when
 * `chunk` does not complete it (or its header cannot be read): then join the two whole. Only the
 * one packet is copied — not the whole read, as concatenating rest and chunk would (a 64 KiB
 * copy and allocation per read at 1 KB messages, where nearly every read ends inside a packet).
 */
export function completeFirstPacket(rest: Buffer, chunk: Buffer): { first: Buffer; from: number } | undefined {
  const head = rest.length >= 5 ? rest : Buffer.concat([rest, chunk.subarray(0, 5 - rest.length)]);
  const header = readFixedHeader(head, 0);
  if (typeof header === 'string') return undefined;
  const need = header.end - rest.length;
  if (need <= 0 || need > chunk.length) return undefined;
  return { first: Buffer.concat([rest, chunk.subarray(0, need)], header.end), from: need };
}
