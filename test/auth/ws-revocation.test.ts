/**
 * Revoked keys on open WebSockets (issue 12 §5), against the real gateway process: a
 * configuration change re-checks every open `/ws` socket. A socket whose key was removed
 * is closed with 4401, so is one opened without a key before `protectReads` was switched
 * on; a live-log socket whose key lost its admin scope is closed with 4403; sockets the
 * new keys still allow stay open and keep receiving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { http } from '../helpers/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { waitFor } from '../helpers/net.js';

const ADMIN = 'ws-revocation-admin-key-0123456789';
const READER = 'ws-revocation-reader-key-0123456789';
const OPS = 'ws-revocation-ops-key-0123456789';
const WAIT = 20_000; // ms

interface Watched {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  messages: number;
}

function open(url: string): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const w: Watched = { ws, messages: 0, closed: new Promise((done) => ws.on('close', (code, reason) => done({ code, reason: reason.toString() }))) };
    ws.on('message', () => w.messages++);
    ws.once('open', () => resolve(w));
    ws.once('error', reject);
  });
}

describe('API keys re-checked on open WebSockets (issue 12 §5)', () => {
  let dir: string;
  let gw: GatewayProcess;
  const keys = (list: Array<[string, string, string]>) => list.map(([name, key, scope]) => ({ name, key, scope }));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spore-ws-revoke-'));
    const file = join(dir, 'gateway.json');
    await writeFile(file, JSON.stringify({ auth: { apiKeys: keys([['admin', ADMIN, 'admin'], ['reader', READER, 'read'], ['ops', OPS, 'admin']]), protectReads: false } }));
    gw = await startGatewayProcess({ args: ['-config', file] });
  });
  after(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes sockets whose key is gone (4401), that now need a key (4401) or lost the scope they used (4403); keeps the rest', async () => {
    const ws = gw.url.replace('http', 'ws');
    const anonymous = await open(`${ws}/ws`);
    const reader = await open(`${ws}/ws?token=${READER}`);
    const opsLog = await open(`${ws}/ws?logs=1&token=${OPS}`);
    const admin = await open(`${ws}/ws?token=${ADMIN}`);

    // 1. The reader's key is revoked: only its socket goes, with 4401.
    const put1 = await http(`${gw.url}/api/config/auth`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { apiKeys: keys([['admin', ADMIN, 'admin'], ['ops', OPS, 'admin']]), protectReads: false },
    });
    assert.equal(put1.status, 200, JSON.stringify(put1.body));
    const c1 = await Promise.race([reader.closed, new Promise<null>((r) => setTimeout(() => r(null), WAIT))]);
    assert.equal(c1?.code, 4401, 'the revoked key is closed with 4401');
    assert.equal(anonymous.ws.readyState, WebSocket.OPEN, 'reads are still open: the socket without a key stays');

    // 2. protectReads on, ops lowered to read: the keyless socket 4401, the live-log socket 4403.
    const put2 = await http(`${gw.url}/api/config/auth`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { apiKeys: keys([['admin', ADMIN, 'admin'], ['ops', OPS, 'read']]), protectReads: true },
    });
    assert.equal(put2.status, 200, JSON.stringify(put2.body));
    const c2 = await Promise.race([anonymous.closed, new Promise<null>((r) => setTimeout(() => r(null), WAIT))]);
    assert.equal(c2?.code, 4401, 'a socket without a key is closed once reads need one');
    const c3 = await Promise.race([opsLog.closed, new Promise<null>((r) => setTimeout(() => r(null), WAIT))]);
    assert.equal(c3?.code, 4403, 'the live log lost its admin key');

    // The admin socket is untouched and still gets messages; a new keyless socket is refused at the upgrade.
    assert.equal(admin.ws.readyState, WebSocket.OPEN);
    const before = admin.messages;
    await http(`${gw.url}/api/test/websocket`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: { topic: 'test/ping', message: 'still here' } });
    await waitFor(() => admin.messages > before, 'a message on the admin socket', WAIT);
    await assert.rejects(open(`${ws}/ws`), /401/);
    admin.ws.close();
    assert.ok(gw.lines().some((l) => /closed WebSocket clients the new API keys no longer allow/.test(l)), 'the closing is logged');
  });
});
