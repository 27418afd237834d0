import type { Duplex } from 'node:stream';
import { decodeFrame, MbusFrameError, type Frame } from '../../protocol/mbus-codec.js';
import { LineError } from '../line-poller.js';

/**
 * Request/response on one M-Bus line (a serial port or a TCP socket to a serial device server):
 * one frame out, the first frame back. Bytes received before a request are dropped, so a late
 * answer to an earlier request is never taken for this one's.
 */
export class MbusLink {
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private closed = false;
  /** Frames refused for a bad checksum or framing (EN 13757-2 §5.5). */
  badFrames = 0;

  constructor(private readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => this.received(chunk));
    stream.once('close', () => {
      this.closed = true;
      this.fail(new LineError('the line closed'));
    });
  }

  /** Sends `frame`, resolves with the answer; rejects ETIMEDOUT after `timeoutMs`, MbusFrameError for a refused frame. */
  request(frame: Buffer, timeoutMs: number, what: string): Promise<Frame> {
    if (this.closed) return Promise.reject(new LineError('the line is closed'));
    this.buffer = Buffer.alloc(0);
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(Object.assign(new Error(`${what}: no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      this.waiting = { resolve, reject, timer };
      this.stream.write(frame);
    });
  }

  /** Sends a frame that gets no answer (e.g. to the broadcast address). */
  send(frame: Buffer): void {
    if (!this.closed) this.stream.write(frame);
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  private received(chunk: Buffer): void {
    if (!this.waiting) return; // nothing asked: noise, or a late answer
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const found = decodeFrame(this.buffer);
    if (!found) return;
    this.buffer = this.buffer.subarray(found.used);
    if (found.frame instanceof MbusFrameError) {
      if (found.frame.message === 'noise') return;
      this.badFrames++;
      this.fail(found.frame);
      return;
    }
    const w = this.waiting;
    this.waiting = undefined;
    clearTimeout(w.timer);
    w.resolve(found.frame);
  }
}
