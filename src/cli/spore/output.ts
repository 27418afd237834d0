/**
 * How the `spore` CLI shows things: live progress bars on a terminal, plain
 * one-line-per-change output when piped (logs, CI), nothing but the final
 * JSON with --json.
 */
export type OutputMode = 'tty' | 'plain' | 'json';

export interface Out {
  mode: OutputMode;
  /** Human text (not in --json mode). */
  line(text: string): void;
  json(value: unknown): void;
  error(text: string): void;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export function makeOut(json: boolean, stdout: Out['stdout'] = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Out {
  const mode: OutputMode = json ? 'json' : stdout.isTTY ? 'tty' : 'plain';
  return {
    mode,
    stdout,
    line: (text) => {
      if (mode !== 'json') stdout.write(`${text}\n`);
    },
    json: (value) => stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    error: (text) => stderr.write(`spore: ${text}\n`),
  };
}

/** A plain table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}

export function bar(percent: number, width = 20): string {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  const full = Math.round((p / 100) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(p).padStart(3)}%`;
}

/** Sizes in binary units (KiB/MiB), as the UI shows them: the one formatting module (issue 12 §17). */
export { formatBytes as bytes, formatDuration, formatLatency } from '../../contract/format-units.js';

export interface ProgressRow {
  key: string;
  label: string;
  state: string;
  progress: number;
  error?: string | null;
}

/**
 * Live progress. On a terminal the block of rows is redrawn in place; piped,
 * a row prints a line when its state changes (and at each quarter of an
 * upload), so logs stay short and greppable.
 */
export class ProgressView {
  private drawnLines = 0;
  private readonly lastPlain = new Map<string, string>();

  constructor(private readonly out: Out) {}

  render(header: string, rows: ProgressRow[]): void {
    if (this.out.mode === 'json') return;
    if (this.out.mode === 'tty') {
      const labelWidth = Math.max(0, ...rows.map((r) => r.label.length));
      const lines = [
        header,
        ...rows.map((r) => `  ${r.label.padEnd(labelWidth)}  ${bar(r.progress)}  ${r.state}${r.error ? `  ${r.error}` : ''}`),
      ];
      // A pseudo-terminal may report 0 columns: treat that as unknown.
      const columns = this.out.stdout.columns || 120;
      let text = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
      for (const l of lines) text += `\x1b[2K${l.length > columns ? `${l.slice(0, columns - 1)}…` : l}\n`;
      this.out.stdout.write(text);
      this.drawnLines = lines.length;
      return;
    }
    if (this.lastPlain.get('') !== header) {
      this.lastPlain.set('', header);
      this.out.line(header);
    }
    for (const r of rows) {
      const quarter = r.state === 'uploading' ? Math.floor(r.progress / 25) * 25 : r.progress;
      const key = `${r.state} ${quarter}`;
      if (this.lastPlain.get(r.key) === key) continue;
      this.lastPlain.set(r.key, key);
      this.out.line(`${new Date().toISOString()} ${r.label} ${r.state}${r.state === 'uploading' ? ` ${quarter}%` : ''}${r.error ? ` — ${r.error}` : ''}`);
    }
  }
}
