import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Mosquitto, MOSQUITTO, MOSQUITTO_PASSWD, MOSQUITTO_PUB, MOSQUITTO_RR, MOSQUITTO_SUB, OPENSSL } from '../../helpers/mosquitto.js';

const run = promisify(execFile);

/** mosquitto_rr is a peer like mosquitto_pub: the command tests use it (MQTT 5 request/response). */
export const HAVE_MOSQUITTO = Boolean(MOSQUITTO && MOSQUITTO_PUB && MOSQUITTO_SUB && MOSQUITTO_RR && MOSQUITTO_PASSWD && OPENSSL);

/** The one user of the bridge tests' broker (no anonymous access). */
export const USER = 'spore';
export const PASSWORD = 'spore-secret';

/** The broker of the MQTT bridge tests: a password file, a TLS listener and a WebSocket listener. */
export function startBridgeBroker(): Promise<Mosquitto> {
  return Mosquitto.start({ users: { [USER]: PASSWORD }, tls: true, websockets: true });
}

/** Publishes with mosquitto_pub (an independent client) as USER. */
export async function pub(broker: Mosquitto, topic: string, payload: string | Buffer, extra: string[] = []): Promise<void> {
  const args = [...broker.clientArgs(USER), '-t', topic, ...extra];
  if (typeof payload === 'string') {
    // -n: a zero-length ("null") message.
    await run(MOSQUITTO_PUB!, payload === '' ? [...args, '-n'] : [...args, '-m', payload]);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const child = execFile(MOSQUITTO_PUB!, [...args, '-s'], (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(payload);
  });
}

/** Reads the retained message of `topic` with mosquitto_sub as USER (null when none). */
export async function retained(broker: Mosquitto, topic: string): Promise<string | null> {
  const { stdout } = await run(MOSQUITTO_SUB!, [...broker.clientArgs(USER), '-t', topic, '--retained-only', '-C', '1', '-W', '2', '-N'], {
    encoding: 'utf8',
  }).catch((err: { stdout?: string; code?: number }) => ({ stdout: err.code === 27 ? '' : (err.stdout ?? '') }));
  return stdout === '' ? null : stdout;
}
