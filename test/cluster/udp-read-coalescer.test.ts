import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { findRecvHandle, LIBUV_READ_BATCH, UdpReadCoalescer } from '../../src/cluster/udp-read-coalescer.js';
import { sleep, waitFor } from '../helpers/net.js';

/** Every datagram of this file carries its own id. */
let nextId = 0;

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  s.setRecvBufferSize(4 * 1024 * 1024);
  return s;
}

/** Polls every 10 ms for up to 20 s (datagrams arrive within ms on loopback; CI may be loaded). */
const waitUntil = (cond: () => boolean, what: string): Promise<unknown> => waitFor(cond, what, 20_000, 10);

/**
 * Sends `bursts` bursts of `size` distinct datagrams to the receiver and checks every one arrived
 * exactly once. Loopback: the kernel drops nothing the 8 MiB receive buffer can hold; the bursts
 * are sent while the receiver is paused, so they queue.
 */
async function sendAndCheck(rx: dgram.Socket, seen: Set<number>, bursts: number, size: number): Promise<void> {
  const tx = dgram.createSocket('udp4');
  const port = rx.address().port;
  try {
    const n = seen.size + bursts * size;
    for (let b = 0; b < bursts; b++) {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < size; i++) {
        const id = nextId++;
        sends.push(new Promise((resolve, reject) => tx.send(`HB:${id}`, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))));
      }
      await Promise.all(sends);
      await sleep(3);
    }
    await waitUntil(() => seen.size === n, `${n} datagrams (got ${seen.size})`);
    await sleep(50); // nothing more (no duplicate) arrives
    assert.equal(seen.size, n);
  } finally {
    tx.close();
  }
}

function receiver(rx: dgram.Socket, reads: UdpReadCoalescer | undefined): { seen: Set<number>; dupes: () => number } {
  const seen = new Set<number>();
  let dupes = 0;
  rx.on('message', (msg) => {
    reads?.count();
    const id = Number(msg.toString().slice(3));
    if (seen.has(id)) dupes++;
    seen.add(id);
  });
  return { seen, dupes: () => dupes };
}

describe('coalesced UDP reads (issue 19 point 2)', () => {
  it('finds the socket handle on this Node.js', async () => {
    const rx = await bound();
    try {
      assert.ok(findRecvHandle(rx), `dgram internals on Node ${process.version}`);
    } finally {
      rx.close();
    }
  });

  it('reads bursts larger than one libuv batch while coalescing, losing and repeating nothing', async () => {
    const rx = await bound();
    const reads = new UdpReadCoalescer(rx, { minRatePerSec: 0, maxDelayMs: 20 });
    const r = receiver(rx, reads);
    reads.start();
    try {
      assert.equal(reads.stats.supported, true);
      assert.equal(reads.stats.coalescing, true);
      // 20 bursts of 300 (~9 libuv batches each) and then small ones: both drain.
      await sendAndCheck(rx, r.seen, 20, 300);
      assert.equal(r.dupes(), 0);
      assert.ok(reads.stats.windows > 1, `paused ${reads.stats.windows} times`);
      assert.equal(reads.stats.largestTurn, LIBUV_READ_BATCH, 'a turn read a full libuv batch from the queue');
      assert.ok(reads.stats.turns > 20 * Math.floor(300 / LIBUV_READ_BATCH) * 0.5, `read on for more turns while full (${reads.stats.turns})`);
      rx.removeAllListeners('message');
      const r2 = receiver(rx, reads);
      await sendAndCheck(rx, r2.seen, 30, 5);
      assert.equal(r2.dupes(), 0);
    } finally {
      reads.stop();
      rx.close();
    }
  });

  it('starts only above the rate threshold and goes back to plain reading below it', async () => {
    const rx = await bound();
    const reads = new UdpReadCoalescer(rx, { minRatePerSec: 500, maxDelayMs: 20 });
    const r = receiver(rx, reads);
    reads.start();
    try {
      await sendAndCheck(rx, r.seen, 5, 10); // 50 datagrams: far below 500/s
      await sleep(1100);
      assert.equal(reads.stats.coalescing, false);
      assert.equal(reads.stats.windows, 0);
      // ~2,000/s for a few seconds: coalescing starts within a rate tick (1 s).
      const tx = dgram.createSocket('udp4');
      let n = r.seen.size;
      const timer = setInterval(() => {
        for (let i = 0; i < 40; i++, n++) tx.send(`HB:${nextId++}`, rx.address().port, '127.0.0.1');
      }, 20);
      try {
        await waitUntil(() => reads.stats.coalescing && reads.stats.windows > 5, 'coalescing at ~2,000 datagrams/s');
      } finally {
        clearInterval(timer);
      }
      await waitUntil(() => r.seen.size === n, `all ${n} datagrams (got ${r.seen.size})`);
      await waitUntil(() => !reads.stats.coalescing, 'plain reading once the rate fell');
      const windows = reads.stats.windows;
      await sendAndCheck(rx, r.seen, 3, 10); // read at once again (no pause any more)
      assert.equal(reads.stats.windows, windows);
      assert.equal(r.dupes(), 0);
      tx.close();
    } finally {
      reads.stop();
      rx.close();
    }
  });

  it('reads plainly where the handle API is absent', async () => {
    const rx = await bound();
    const reads = new UdpReadCoalescer(rx, { minRatePerSec: 0, maxDelayMs: 20 }, () => undefined);
    const r = receiver(rx, reads);
    reads.start();
    try {
      assert.equal(reads.stats.supported, false);
      assert.equal(reads.stats.coalescing, false);
      await sendAndCheck(rx, r.seen, 10, 100);
      assert.equal(reads.stats.windows, 0);
      assert.equal(r.dupes(), 0);
    } finally {
      reads.stop();
      rx.close();
    }
  });
});
