import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { LiveSink, PipelineRecord, SinkContext, SinkDefinition } from '../types.js';
import { fileSinkSchema, type FileSinkConfig } from './file-schema.js';

/**
 * The `file` sink: NDJSON with size-based rotation, so the disk use is bounded by
 * maxBytes × (maxFiles + 1). Lines are written synchronously right after the records'
 * commit, so a record in the file is always also in the seq sequence.
 */
class FileSink implements LiveSink {
  readonly durable = false;
  readonly type = 'file';
  private fd: number | undefined;
  private size = 0;
  private sent = 0;
  private dropped = 0;
  private lastError: string | null = null;
  private readonly path: string;

  constructor(
    private readonly config: FileSinkConfig,
    ctx: SinkContext,
  ) {
    this.path = isAbsolute(config.path) ? config.path : join(ctx.dataDir, config.path);
  }

  get id(): string {
    return this.config.id;
  }

  get up(): boolean {
    return this.lastError === null;
  }

  start(): void {
    try {
      this.open();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  async stop(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  write(records: readonly PipelineRecord[]): void {
    for (const record of records) {
      const line = Buffer.from(JSON.stringify(record) + '\n');
      try {
        if (this.fd === undefined) this.open();
        if (this.size > 0 && this.size + line.length > this.config.maxBytes) this.rotate();
        writeSync(this.fd!, line);
        this.size += line.length;
        this.sent++;
        this.lastError = null;
      } catch (err) {
        this.dropped++;
        this.lastError = (err as Error).message;
      }
    }
  }

  counters(): { sent: number; dropped: number } {
    return { sent: this.sent, dropped: this.dropped };
  }

  healthDetails(): Record<string, unknown> {
    return { path: this.path, lastError: this.lastError };
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'a');
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(`${this.path}.${this.config.maxFiles}`, { force: true });
    for (let i = this.config.maxFiles - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    renameSync(this.path, `${this.path}.1`);
    this.open();
  }
}

export const fileSink: SinkDefinition<FileSinkConfig> = {
  type: 'file',
  schema: fileSinkSchema,
  create: (config, ctx) => new FileSink(config, ctx),
};
