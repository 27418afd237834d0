/** One log line as the log view shows it (issue 15 §7). Secrets are already redacted by pino (logger.ts). */
export interface LogLine {
  /** Increases by one per line kept since start; `since` asks for lines after one. */
  seq: number;
  /** RFC3339. */
  time: string;
  level: LogLevelName;
  msg: string;
  component: string | null;
  /** Every other field of the line (err, sections, url…). */
  fields: Record<string, unknown>;
}

export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];
/** pino's numeric levels. */
const LEVEL_BY_NUMBER: Record<number, LogLevelName> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const RANK: Record<LogLevelName, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A line longer than this many characters is cut (a huge error object must not fill the buffer). */
const MAX_LINE_CHARS = 8 * 1024;

export interface LogQuery {
  /** Lines at this level or above. */
  level?: LogLevelName;
  /** Lines with a seq greater than this. */
  since?: number;
  /** At most this many of the newest matching lines. */
  limit?: number;
}

/**
 * The last `capacity` log lines in memory (issue 15 §7): a pino destination
 * that keeps every line it is given, parsed, in a ring. Bounded in lines and
 * in characters per line; listeners see each line as it comes (the live log
 * over the WebSocket).
 */
export class LogBuffer {
  private readonly ring: Array<LogLine | undefined>;
  private next = 0;
  private seq = 0;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(readonly capacity = 5000) {
    this.ring = new Array<LogLine | undefined>(capacity);
  }

  /** pino's destination interface: one or more serialised lines. */
  write(chunk: string): boolean {
    for (const text of String(chunk).split('\n')) if (text) this.add(text);
    return true;
  }

  /** Adds one serialised pino line. */
  add(text: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { level: 30, msg: text };
    }
    const { level, time, msg, component, name: _name, pid: _pid, hostname: _hostname, ...fields } = parsed;
    let shownFields = fields;
    const size = text.length;
    if (size > MAX_LINE_CHARS) shownFields = { truncated: `${JSON.stringify(fields).slice(0, MAX_LINE_CHARS)}…` };
    const line: LogLine = {
      seq: ++this.seq,
      time: typeof time === 'string' ? time : new Date(typeof time === 'number' ? time : Date.now()).toISOString(),
      level: LEVEL_BY_NUMBER[level as number] ?? 'info',
      msg: typeof msg === 'string' ? msg.slice(0, MAX_LINE_CHARS) : '',
      component: typeof component === 'string' ? component : null,
      fields: shownFields,
    };
    this.ring[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    for (const listener of this.listeners) {
      try {
        listener(line);
      } catch {
        // a listener's failure must not break logging
      }
    }
  }

  /** Kept lines matching the query, oldest first. */
  query(q: LogQuery = {}): LogLine[] {
    const min = q.level ? RANK[q.level] : 0;
    const since = q.since ?? 0;
    const out: LogLine[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const line = this.ring[(this.next + i) % this.capacity];
      if (line && line.seq > since && RANK[line.level] >= min) out.push(line);
    }
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
  }

  /** Newest seq so far (0 before the first line). */
  get lastSeq(): number {
    return this.seq;
  }

  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  static levelAtLeast(line: LogLine, level: LogLevelName): boolean {
    return RANK[line.level] >= RANK[level];
  }
}
