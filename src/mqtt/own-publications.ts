/**
 * Recognises the gateway's own publications when the broker sends them back
 * (a "#" subscription sees everything, including what the gateway publishes).
 * MQTT 5 subscriptions use the No Local option instead; MQTT 3.1.1 has none,
 * so each publication is remembered (topic + payload) until its echo arrives
 * or it expires. Bounded in entries and bytes.
 */
const EXPIRE_MS = 30_000; // an echo later than this is not expected (QoS 0 may never come back)
const MAX_ENTRIES = 10_000;
const MAX_BYTES = 8 * 1024 * 1024; // bytes of remembered payloads

interface Pending {
  payload: Buffer;
  expires: number;
}

export class OwnPublications {
  private readonly pending = new Map<string, Pending[]>();
  private entries = 0;
  private bytes = 0;

  get size(): number {
    return this.entries;
  }

  remember(topic: string, payload: Buffer, now: number = Date.now()): void {
    if (this.entries >= MAX_ENTRIES || this.bytes + payload.length > MAX_BYTES) this.sweep(now, true);
    if (this.entries >= MAX_ENTRIES || this.bytes + payload.length > MAX_BYTES) return;
    let list = this.pending.get(topic);
    if (!list) {
      list = [];
      this.pending.set(topic, list);
    }
    list.push({ payload, expires: now + EXPIRE_MS });
    this.entries++;
    this.bytes += payload.length;
  }

  /** True (and forgotten) when this message is the echo of a remembered publication. */
  consume(topic: string, payload: Buffer, now: number = Date.now()): boolean {
    const list = this.pending.get(topic);
    if (!list) return false;
    let found = false;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (p.expires < now) continue;
      if (p.payload.equals(payload)) {
        list.splice(i, 1);
        this.entries--;
        this.bytes -= p.payload.length;
        found = true;
        break;
      }
    }
    // Drop expired entries of this topic while here.
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.expires < now) {
        this.bytes -= list[i]!.payload.length;
        this.entries--;
        list.splice(i, 1);
      }
    }
    if (list.length === 0) this.pending.delete(topic);
    return found;
  }

  clear(): void {
    this.pending.clear();
    this.entries = 0;
    this.bytes = 0;
  }

  /** Drops expired entries; when `force`, also the older half of every topic's list, to make room. */
  private sweep(now: number, force: boolean): void {
    for (const [topic, list] of this.pending) {
      const keepFrom = force ? Math.floor(list.length / 2) : 0;
      const kept = list.filter((p, i) => i >= keepFrom && p.expires >= now);
      for (const p of list) {
        if (!kept.includes(p)) {
          this.bytes -= p.payload.length;
          this.entries--;
        }
      }
      if (kept.length === 0) this.pending.delete(topic);
      else this.pending.set(topic, kept);
    }
  }
}
