import type dgram from 'node:dgram';

/**
 * Coalesced UDP reads (issue 19 point 2: 10,000 nodes heartbeating every 2 s = ~5,000
 * datagrams/s). Node reads a datagram socket on every epoll wake-up; at a few thousand
 * datagrams per second each wake finds one datagram, so every datagram pays an epoll_wait, a
 * recvmsg, a second recvmsg that says EAGAIN and a loop turn. Measured on the 2-core bench VM
 * (bare receivers of the emulator's 10,000 nodes): ~20.7 µs of CPU per datagram read plainly,
 * ~15 µs when the kernel queues them for a few ms and they are read in bursts (-25 %).
 *
 * So, while the rate is high (> `minRatePerSec` over the last second), the socket's libuv handle
 * is paused (`recvStop`: the kernel keeps queueing into the receive buffer) for at most
 * `maxDelayMs`, then read (`recvStart`) until the queue is drained, then paused again. libuv reads
 * at most 32 datagrams per I/O callback (uv__udp_recvmsg, "prevent loop starvation"), one callback
 * per loop turn: a turn that yields a full batch means more are queued, so reading goes on for
 * another turn; one that yields fewer met EAGAIN (the queue is empty) and the socket is paused
 * again. Stopping after one turn would leave the rest to the kernel until it overflowed.
 *
 * At low rates (small sites, tests) nothing changes: plain reading, no added delay. The added
 * delay is bounded (20 ms by default) against health thresholds of seconds (CONTRACT §2), and it
 * is shortened when the receive buffer could not hold the window at the current rate. Where the
 * handle API is not there (another Node.js version), the socket is read plainly.
 */

/** libuv's batch: datagrams read per I/O callback at most (deps/uv/src/unix/udp.c, `count = 32`). */
export const LIBUV_READ_BATCH = 32;

/** What one queued datagram costs in the receive buffer at most, bytes (skb truesize of a ≤ 1.5 kB datagram on loopback/Ethernet). */
const QUEUED_DATAGRAM_BYTES = 4096;

/** The internal parts of a dgram socket used here (Node 20, 22, 24: `socket[kStateSymbol].handle`, a UDP wrap). */
export interface RecvHandle {
  recvStart(): number;
  recvStop(): number;
}

/** The socket's libuv handle, or undefined where this Node.js has no such internals. */
export function findRecvHandle(socket: dgram.Socket): RecvHandle | undefined {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (!sym) return undefined;
  const state = (socket as unknown as Record<symbol, { handle?: unknown } | undefined>)[sym];
  const handle = state?.handle as Partial<RecvHandle> | null | undefined;
  if (!handle || typeof handle.recvStart !== 'function' || typeof handle.recvStop !== 'function') return undefined;
  return handle as RecvHandle;
}

export interface UdpReadCoalescerOptions {
  /** Coalesce while more than this many datagrams per second arrived over the last second; 0 = always. */
  minRatePerSec: number;
  /** Longest a datagram waits in the kernel queue while coalescing, ms. */
  maxDelayMs: number;
}

export const DEFAULT_READ_COALESCING: UdpReadCoalescerOptions = { minRatePerSec: 500, maxDelayMs: 20 };

export interface UdpReadCoalescerStats {
  /** Whether reads are coalesced right now. */
  coalescing: boolean;
  /** Whether the handle API was found (false: always plain reading). */
  supported: boolean;
  /** Pause windows so far. */
  windows: number;
  /** Loop turns read while coalescing. */
  turns: number;
  /** The most datagrams one turn yielded. */
  largestTurn: number;
}

export class UdpReadCoalescer {
  private received = 0;
  private lastRateCount = 0;
  private rate = 0; // datagrams/s over the last second
  private turnStart = 0;
  private paused = false;
  private stopped = false;
  private rateTimer: NodeJS.Timeout | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  readonly stats: UdpReadCoalescerStats = { coalescing: false, supported: false, windows: 0, turns: 0, largestTurn: 0 };

  constructor(
    private readonly socket: dgram.Socket,
    private readonly options: UdpReadCoalescerOptions = DEFAULT_READ_COALESCING,
    private readonly lookup: (socket: dgram.Socket) => RecvHandle | undefined = findRecvHandle,
  ) {}

  /** Call once the socket is bound (Node starts reading at bind). */
  start(): void {
    this.stats.supported = this.lookup(this.socket) !== undefined;
    if (!this.stats.supported) return;
    if (this.options.minRatePerSec === 0) this.begin();
    this.rateTimer = setInterval(() => this.tick(), 1000);
    this.rateTimer.unref();
  }

  /** Call for every datagram the socket delivers (from its 'message' listener). */
  count(): void {
    this.received++;
  }

  /** Stops coalescing and leaves the socket reading plainly (before closing it, or for good). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.rateTimer);
    this.end();
  }

  private tick(): void {
    this.rate = this.received - this.lastRateCount;
    this.lastRateCount = this.received;
    if (this.options.minRatePerSec === 0) return;
    if (!this.stats.coalescing && this.rate > this.options.minRatePerSec) this.begin();
    // Hysteresis: back to plain reading only well below the threshold, so a rate near it does not flap.
    else if (this.stats.coalescing && this.rate < this.options.minRatePerSec / 2) this.end();
  }

  private begin(): void {
    if (this.stopped) return;
    this.stats.coalescing = true;
    this.pause();
  }

  private end(): void {
    this.stats.coalescing = false;
    clearTimeout(this.windowTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.windowTimer = this.immediate = undefined;
    if (this.paused) {
      this.paused = false;
      this.lookup(this.socket)?.recvStart();
    }
  }

  /** The pause, ms: at most maxDelayMs, and short enough that the queue fills at most a quarter of the receive buffer. */
  private windowMs(): number {
    let bufferBytes = 0;
    try {
      bufferBytes = this.socket.getRecvBufferSize(); // what the kernel granted (Linux reports twice the asked size)
    } catch {
      return 1;
    }
    const capacity = bufferBytes / QUEUED_DATAGRAM_BYTES / 4;
    const byBuffer = this.rate > 0 ? (capacity / this.rate) * 1000 : this.options.maxDelayMs;
    return Math.max(1, Math.min(this.options.maxDelayMs, Math.floor(byBuffer)));
  }

  private pause(): void {
    const handle = this.lookup(this.socket);
    if (!handle || this.stopped) return; // closed: nothing to read any more
    handle.recvStop();
    this.paused = true;
    this.stats.windows++;
    // Not unref'd: while paused, this timer stands for the socket (which keeps the process alive when reading).
    this.windowTimer = setTimeout(() => this.resume(), this.windowMs());
  }

  private resume(): void {
    this.windowTimer = undefined;
    const handle = this.lookup(this.socket);
    if (!handle || this.stopped) return;
    this.paused = false;
    handle.recvStart();
    this.turnStart = this.received;
    // setImmediate runs after the loop's poll phase, i.e. after this turn's read callback.
    this.immediate = setImmediate(() => this.afterTurn());
  }

  private afterTurn(): void {
    this.immediate = undefined;
    const got = this.received - this.turnStart;
    this.stats.turns++;
    if (got > this.stats.largestTurn) this.stats.largestTurn = got;
    if (got === 0 && this.stats.largestTurn === 0) return this.pauseIfCoalescing();
    // A full batch: more may be queued — read another turn. Fewer: libuv met EAGAIN, the queue is empty.
    // (Should a libuv read smaller batches, the largest turn seen lowers the bar: more turns, nothing left behind.)
    if (got >= Math.min(LIBUV_READ_BATCH, this.stats.largestTurn)) {
      this.turnStart = this.received;
      this.immediate = setImmediate(() => this.afterTurn());
    } else this.pauseIfCoalescing();
  }

  private pauseIfCoalescing(): void {
    if (this.stats.coalescing) this.pause();
  }
}
