/**
 * The log view (issue 15 §7): the newest lines in memory, `GET /api/logs` with
 * level and since filters, live `log/line` messages over /ws?logs=1 for admin
 * clients only, secrets redacted at the source.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { LogBuffer } from '../../src/logs/log-buffer.js';
import { createLogger } from '../../src/logger.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewayYaml, startFileGateway, type FileGateway } from '../helpers/file-gateway.js';
import { waitFor } from '../helpers/net.js';

const ADMIN = 'logs-admin-key-0123456789';
const READER = 'logs-read-key-0123456789';

describe('log view (issue 15 §7)', () => {
  let g: FileGateway | undefined;
  after(async () => {
    await g?.destroy();
  });

  it('keeps the newest lines, bounded, with their level, component and fields; redacts secrets', () => {
    const buffer = new LogBuffer(100);
    const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
    const logger = createLogger('debug', devNull, buffer);
    for (let i = 0; i < 150; i++) logger.child({ component: 'test' }).info({ i }, `line ${i}`);
    logger.warn({ password: 'hunter2-secret', mqtt: { password: 'p4ss' } }, 'with secrets');
    const all = buffer.query();
    assert.equal(all.length, 100, 'bounded');
    assert.equal(all.at(-1)!.msg, 'with secrets');
    assert.equal(all[0]!.msg, 'line 51');
    assert.equal(all[0]!.component, 'test');
    assert.equal(all[0]!.fields.i, 51);
    assert.ok(!JSON.stringify(all).includes('hunter2') && !JSON.stringify(all).includes('p4ss'), 'secrets are redacted before the buffer');
    assert.deepEqual(buffer.query({ level: 'warn' }).map((l) => l.msg), ['with secrets']);
    const seq = all.at(-2)!.seq;
    assert.deepEqual(buffer.query({ since: seq }).map((l) => l.msg), ['with secrets']);
    assert.equal(buffer.query({ limit: 3 }).length, 3);
  });

  it('GET /api/logs and live /ws?logs=1 need an admin key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-logs-'));
    g = await startFileGateway({
      dir,
      yaml: await gatewayYaml(dir, `auth:\n  apiKeys:\n    - { name: ops, key: ${ADMIN}, scope: admin }\n    - { name: viewer, key: ${READER}, scope: read }\n`),
    });
    const admin = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await http(`${g.url}/api/logs`)).status, 401);
    assert.equal((await http(`${g.url}/api/logs`, { headers: { authorization: `Bearer ${READER}` } })).status, 403);
    const res = await http(`${g.url}/api/logs`, { headers: admin });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.lines.some((l: any) => l.msg === 'SPORE gateway started'), 'the start-up line is there');
    assert.ok(res.body.lines.every((l: any) => typeof l.seq === 'number' && typeof l.time === 'string'));
    const warnOnly = await http(`${g.url}/api/logs?level=warn`, { headers: admin });
    assert.ok(warnOnly.body.lines.every((l: any) => ['warn', 'error', 'fatal'].includes(l.level)));
    assert.equal((await http(`${g.url}/api/logs?level=loud`, { headers: admin })).status, 400);

    const open = (key: string) =>
      new Promise<{ ws: WebSocket; lines: any[] }>((resolve, reject) => {
        const ws = new WebSocket(`${g!.url.replace('http', 'ws')}/ws?logs=1&token=${key}`);
        const lines: any[] = [];
        ws.on('message', (d) => {
          const m = JSON.parse(String(d));
          if (m.topic === 'log/line') lines.push(m);
        });
        ws.once('open', () => resolve({ ws, lines }));
        ws.once('error', reject);
      });
    const live = await open(ADMIN);
    const reader = await open(READER);
    // A change of configuration logs a line: it arrives live.
    await http(`${g.url}/api/config/log`, { method: 'PUT', body: { level: 'info', bufferLines: 2000 }, headers: admin });
    await waitFor(() => live.lines.some((l) => l.msg === 'configuration saved'), 'the line arrives live');
    assert.ok(live.lines[0].seq > 0 && live.lines[0].timestamp);
    assert.deepEqual(reader.lines, [], 'a read key gets no log lines');
    live.ws.close();
    reader.ws.close();
  });
});
