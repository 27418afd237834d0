import { compileFilter } from './topic-filter.js';

export interface RetentionOptions {
  /** Messages kept per topic; 0 keeps none. */
  perTopic: number;
  /** Topics kept; the least recently updated goes first. */
  maxTopics: number;
  /** Characters of serialised messages kept in all (≈ bytes: the JSON is mostly ASCII). */
  maxBytes: number;
}

export interface RetentionStats {
  topics: number;
  messages: number;
  bytes: number;
  /** Messages pushed out by the per-topic, topic-count or byte bounds. */
  evicted: number;
}

interface Entry {
  seq: number;
  /** The JSON text, or (`bytes`) its UTF-8 bytes one per character (latin1): what addBytes stores. */
  json: string;
  bytes: boolean;
}

/** Any character above U+007F: a latin1-held UTF-8 text that must be decoded to be read. */
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Seed 001's "message persistence and replay": the last N messages per topic,
 * bounded in topics and bytes, kept as the exact WebSocket JSON already built
 * for forwarding, so reading and replaying cost no re-serialisation.
 */
export class RetentionBuffer {
  /** Insertion order = least recently updated first (a topic is re-inserted on every message). */
  private readonly topics = new Map<string, Entry[]>();
  private lastTopic: string | undefined;
  private seq = 0;
  private bytes = 0;
  private count = 0;
  private evicted = 0;

  constructor(private readonly options: RetentionOptions) {}

  get enabled(): boolean {
    return this.options.perTopic > 0;
  }

  add(topic: string, json: string): void {
    this.store(topic, json, false);
  }

  /**
   * Keeps a message given as its UTF-8 bytes (the MQTT encoder's, valid only during the call):
   * copied into a one-byte-per-byte string (latin1), the cheapest copy V8 makes, and decoded
   * only when read (issue 16 §5). `maxBytes` then counts exact bytes.
   */
  addBytes(topic: string, json: Buffer): void {
    if (this.options.perTopic === 0 || json.length > this.options.maxBytes) return;
    this.store(topic, json.toString('latin1'), true);
  }

  private store(topic: string, json: string, bytes: boolean): void {
    if (this.options.perTopic === 0 || json.length > this.options.maxBytes) return;
    let list = this.topics.get(topic);
    if (list === undefined) {
      list = [];
      this.topics.set(topic, list);
    } else if (this.lastTopic !== topic) {
      // Move to the most recently updated end.
      this.topics.delete(topic);
      this.topics.set(topic, list);
    }
    this.lastTopic = topic;
    list.push({ seq: this.seq++, json, bytes });
    this.bytes += json.length;
    this.count++;
    if (list.length > this.options.perTopic) this.dropOldestOf(list);
    while (this.bytes > this.options.maxBytes || this.topics.size > this.options.maxTopics) this.evictOldest();
  }

  /** The last `limit` messages (oldest first) whose topic matches `filter`. */
  query(filter: string, limit: number): string[] {
    const matches = compileFilter(filter);
    const found: Entry[] = [];
    for (const [topic, list] of this.topics) if (matches(topic)) found.push(...list);
    found.sort((a, b) => a.seq - b.seq);
    return found.slice(Math.max(0, found.length - limit)).map((e) => (e.bytes && NON_ASCII.test(e.json) ? Buffer.from(e.json, 'latin1').toString('utf8') : e.json));
  }

  stats(): RetentionStats {
    return { topics: this.topics.size, messages: this.count, bytes: this.bytes, evicted: this.evicted };
  }

  clear(): void {
    this.topics.clear();
    this.lastTopic = undefined;
    this.bytes = 0;
    this.count = 0;
  }

  private dropOldestOf(list: Entry[]): void {
    const dropped = list.shift()!;
    this.bytes -= dropped.json.length;
    this.count--;
    this.evicted++;
  }

  private evictOldest(): void {
    const first = this.topics.entries().next();
    if (first.done) return;
    const [topic, list] = first.value;
    this.dropOldestOf(list);
    if (list.length === 0) {
      this.topics.delete(topic);
      if (this.lastTopic === topic) this.lastTopic = undefined;
    }
  }
}
