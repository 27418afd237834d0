/**
 * How long the gateway's own event loop was blocked, in total (ms): a timer every `tickMs` that
 * fires late by more than a tick was held up by work that did not yield (a big member list, a
 * flush of thousands of history series, a starved CPU). Meanwhile datagrams wait in the socket
 * queue, so when they are read a node seems to have been silent that long — the registry takes
 * this time off a node's silence (node-registry.ts), so the gateway's own stall is not mistaken
 * for nodes going quiet (a reboot → a status read of every node, or INACTIVE → a failover).
 */
export class LoopStallMeter {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private total = 0;

  constructor(
    private readonly tickMs = 100, // ms
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer) return;
    this.last = this.clock();
    this.timer = setInterval(() => {
      const now = this.clock();
      const late = now - this.last - this.tickMs;
      if (late > this.tickMs) this.total += late;
      this.last = now;
    }, this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Blocked ms so far, including a block that is only now ending: datagrams queued during a
   * block are read before the late timer has run.
   */
  blockedMs(): number {
    if (!this.timer) return this.total;
    const late = this.clock() - this.last - this.tickMs;
    return this.total + (late > this.tickMs ? late : 0);
  }
}
