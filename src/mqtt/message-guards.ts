import { createHash } from 'node:crypto';

/**
 * The two limitations seed 001 names besides QoS and filters: duplicate
 * handling and rate limiting. Both are off by default; what they drop is
 * counted in GET /api/mqtt/stats.
 */

/** Remembered payloads per topic for duplicate suppression. */
const DEDUP_SLOTS = 8;

/**
 * Drops a message whose topic and payload equal one of the last few on that
 * topic seen within `windowMs` (measured from the first occurrence, so a
 * steady stream of one value still passes once per window).
 */
export class DuplicateSuppressor {
  private readonly recent = new Map<string, Array<{ digest: string; at: number }>>();

  constructor(
    private readonly windowMs: number,
    private readonly maxTopics: number,
  ) {}

  isDuplicate(topic: string, payload: Buffer, now: number): boolean {
    // A digest, not the payload: a remembered slice would pin the socket buffer it came from.
    const digest = createHash('sha1').update(payload).digest('base64');
    let slots = this.recent.get(topic);
    if (slots === undefined) {
      if (this.recent.size >= this.maxTopics) this.recent.delete(this.recent.keys().next().value!);
      slots = [];
      this.recent.set(topic, slots);
    }
    for (const slot of slots) {
      if (slot.digest === digest && now - slot.at <= this.windowMs) return true;
    }
    for (let i = slots.length - 1; i >= 0; i--) if (now - slots[i]!.at > this.windowMs || slots[i]!.digest === digest) slots.splice(i, 1);
    slots.push({ digest, at: now });
    if (slots.length > DEDUP_SLOTS) slots.shift();
    return false;
  }
}

/** A token bucket per topic: `ratePerSecond` sustained, `burst` at once. */
export class TopicRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxTopics: number,
  ) {}

  allow(topic: string, now: number): boolean {
    let bucket = this.buckets.get(topic);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxTopics) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(topic, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
