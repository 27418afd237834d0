import type { Duplex } from 'node:stream';

/**
 * What `cut` makes of the start of the bytes received: undefined, wait for more; `used` bytes
 * with a `frame`, one request to answer; `used` bytes without one, noise or a broken frame to drop.
 */
export type FrameCut<F> = { used: number; frame?: F } | undefined;

/**
 * Serves one line (a pty, or a TCP connection as a serial device server forwards it) until it
 * closes: cuts request frames off the byte stream and writes each answer back, as a bus slave
 * would. Shared by the emulated M-Bus meters and Modbus RTU slaves; they differ in framing.
 */
export function serveFrames<F>(stream: Duplex, cut: (buffer: Buffer) => FrameCut<F>, answer: (frame: F) => Buffer | undefined): void {
  let buffer = Buffer.alloc(0);
  stream.on('error', () => undefined);
  stream.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const found = cut(buffer);
      if (!found) break;
      buffer = buffer.subarray(found.used);
      if (found.frame === undefined) continue;
      const reply = answer(found.frame);
      if (reply && !stream.destroyed) stream.write(reply);
    }
  });
}
