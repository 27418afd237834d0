import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pymodbusPython } from '../../helpers/peers.js';

export const PYTHON = pymodbusPython();
const SCRIPT = new URL('../../fixtures/modbus-server.py', import.meta.url).pathname;

export interface ModbusServerOptions {
  init?: Partial<Record<'hr' | 'ir' | 'co' | 'di', Record<number, number | number[]>>>;
  /** Holding register that counts up every counterMs. */
  counter?: number;
  counterMs?: number;
  unit?: number;
  /** Several unit ids, each with its own tables (same initial contents); others stay silent. */
  units?: number[];
  /** RTU on this serial device (a pty) instead of TCP. */
  serial?: string;
  baud?: number;
  /** On TCP: Modbus TCP (socket, the default) or RTU frames with CRC (rtu). */
  framer?: 'socket' | 'rtu';
}

/**
 * The pymodbus (Debian python3-pymodbus 3.0) server of test/fixtures/modbus-server.py: Modbus TCP,
 * RTU over TCP, or RTU on a serial line (a pty).
 * kill() makes it disappear; start() brings it back on the same port with its initial contents.
 */
export class ModbusServer {
  private child: ChildProcess | undefined;
  private answers: Array<(line: string) => void> = [];
  port = 0;

  private constructor(private readonly options: ModbusServerOptions) {}

  static async start(options: ModbusServerOptions = {}): Promise<ModbusServer> {
    const server = new ModbusServer(options);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (!PYTHON) throw new Error('python3-pymodbus is not installed');
    const o = this.options;
    const args = [SCRIPT, '--port', String(this.port), '--init', JSON.stringify(o.init ?? {})];
    if (o.counter !== undefined) args.push('--counter', String(o.counter), '--counter-ms', String(o.counterMs ?? 200));
    if (o.unit !== undefined) args.push('--unit', String(o.unit));
    if (o.units) args.push('--units', o.units.join(','));
    if (o.serial) args.push('--serial', o.serial, '--baud', String(o.baud ?? 19200));
    if (o.framer) args.push('--framer', o.framer);
    const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    const ready = new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`modbus server exited (${code}): ${stderr}`)));
      lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    });
    this.port = await ready;
    lines.on('line', (line) => this.answers.shift()?.(line));
  }

  /** Sends one JSON command (see the fixture) and returns its answer. */
  async command(cmd: Record<string, unknown>): Promise<any> {
    const child = this.child;
    if (!child) throw new Error('the modbus server is not running');
    const answer = new Promise<string>((resolve) => this.answers.push(resolve));
    child.stdin!.write(JSON.stringify(cmd) + '\n');
    return JSON.parse(await answer);
  }

  set(table: 'hr' | 'ir' | 'co' | 'di', address: number, values: number[], unit?: number): Promise<any> {
    return this.command({ cmd: 'set', table, address, values, ...(unit === undefined ? {} : { unit }) });
  }

  async get(table: 'hr' | 'ir' | 'co' | 'di', address: number, count = 1, unit?: number): Promise<number[]> {
    return (await this.command({ cmd: 'get', table, address, count, ...(unit === undefined ? {} : { unit }) })).values;
  }

  /** The server hangs (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** The server vanishes (SIGKILL): connections reset, the port refuses. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.answers = [];
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    child.kill('SIGCONT'); // in case it was paused
    await exited;
  }
}
