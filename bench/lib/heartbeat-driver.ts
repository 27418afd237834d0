import dgram from 'node:dgram';

/** The i-th virtual node's loopback address: 127.100.x.y (all of 127/8 is loopback on Linux). */
export function nodeIp(i: number): string {
  return `127.${100 + Math.floor(i / 62500)}.${(Math.floor(i / 250) % 250) + 1}.${(i % 250) + 1}`;
}

/** N heartbeat senders, each a UDP socket bound to its own source address, like real nodes. */
export class HeartbeatDriver {
  private sockets: dgram.Socket[] = [];
  private messages: Buffer[] = [];
  sent = 0;
  sendErrors = 0;

  constructor(
    private readonly count: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      const s = dgram.createSocket('udp4');
      s.on('error', () => this.sendErrors++);
      await new Promise<void>((r) => s.bind(0, nodeIp(i), () => r()));
      this.sockets.push(s);
      this.messages.push(Buffer.from(`CLUSTER_HEARTBEAT:bench-${i}`));
    }
  }

  /** Sends `total` heartbeats round-robin at `ratePerSec`, in 10 ms ticks. */
  async run(ratePerSec: number, seconds: number): Promise<number> {
    const total = Math.round(ratePerSec * seconds);
    const perTick = ratePerSec / 100;
    let next = 0;
    let owed = 0;
    const start = performance.now();
    let sentHere = 0;
    while (sentHere < total) {
      owed += perTick;
      const now = Math.floor(owed);
      owed -= now;
      for (let k = 0; k < now && sentHere < total; k++) {
        const i = next++ % this.count;
        this.sockets[i]!.send(this.messages[i]!, this.target.port, this.target.host, (err) => {
          if (err) this.sendErrors++;
        });
        sentHere++;
      }
      const due = start + ((sentHere / ratePerSec) * 1000);
      const wait = due - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(10, wait))));
    }
    this.sent += sentHere;
    return sentHere;
  }

  close(): void {
    for (const s of this.sockets) s.close();
    this.sockets = [];
  }
}
