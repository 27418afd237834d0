import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../helpers/net.js';
import { stopChild } from '../../helpers/child.js';

const SCRIPT = new URL('./opcua-server-main.ts', import.meta.url).pathname;

export interface OpcuaServerOptions {
  /** user → password */
  users?: Record<string, string>;
  allowAnonymous?: boolean;
  /** Also offer SignAndEncrypt with Basic256Sha256. */
  secure?: boolean;
  /** ms between changes of Temperature (and the bulk items). */
  changeMs?: number;
  /** Bulk/ItemNNNN variables (the benchmark). */
  items?: number;
}

/**
 * A node-opcua server (opcua-server-main.ts) in its own process on a fixed random port:
 * kill() SIGKILLs it, start() brings it back on the same port with the same certificate.
 */
export class OpcuaTestServer {
  private child: ChildProcess | undefined;
  port = 0;
  pkiDir = '';
  /** Lines "WROTE <name> <value>" the server printed. */
  readonly writes: string[] = [];

  private constructor(private readonly options: OpcuaServerOptions) {}

  static async start(options: OpcuaServerOptions = {}): Promise<OpcuaTestServer> {
    const s = await OpcuaTestServer.create(options);
    await s.start();
    return s;
  }

  /** Its port and PKI directory, not started: a test may start it and the gateway at the same time. */
  static async create(options: OpcuaServerOptions = {}): Promise<OpcuaTestServer> {
    const s = new OpcuaTestServer(options);
    s.port = await freePort();
    s.pkiDir = await mkdtemp(join(tmpdir(), 'spore-opcua-server-'));
    return s;
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}/UA/Test`;
  }

  /** The server's own certificate (what a client puts in its trust list). */
  get certificateFile(): string {
    return join(this.pkiDir, 'own', 'certs', 'certificate.pem');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const o = this.options;
    const env = {
      ...process.env,
      OPCUA_TEST_SERVER: JSON.stringify({
        port: this.port,
        pkiDir: this.pkiDir,
        users: o.users ?? {},
        allowAnonymous: o.allowAnonymous ?? true,
        secure: o.secure ?? false,
        changeMs: o.changeMs ?? 100,
        items: o.items ?? 0,
      }),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`opcua server exited (${code}): ${stderr.slice(-2000)}`));
      child.once('exit', onExit);
      lines.on('line', (line) => {
        if (line.startsWith('READY')) {
          child.off('exit', onExit);
          resolve();
        } else if (line.startsWith('WROTE ')) this.writes.push(line.slice(6));
      });
    });
  }

  /** SIGKILL: the server vanishes without closing anything. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await stopChild(child);
  }

  async close(): Promise<void> {
    await this.kill();
    await rm(this.pkiDir, { recursive: true, force: true });
  }
}
