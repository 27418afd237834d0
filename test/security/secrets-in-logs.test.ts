import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { http, spawnTs } from '../helpers/gateway-harness.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';

const KEY = 'log-admin-key-0123456789abcdef';
const WRONG = 'wrong-key-guess-0123456789abc';
const URL_PASSWORD = 'url-password-secret-42';
const URL_TOKEN = 'url-query-token-secret-77';
const HEADER_TOKEN = 'header-bearer-secret-99';
const SECRETS = [KEY, WRONG, URL_PASSWORD, URL_TOKEN, HEADER_TOKEN];

describe('no key, token or password in any log line, -print-config or /api/health (issue 12 items 6, 7)', () => {
  it('greps every line a debug-level run produced', async () => {
    // The configuration server wants the header token: a token needs no place in the URL.
    const server = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${HEADER_TOKEN}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ auth: { apiKeys: [{ name: 'ops', key: KEY, scope: 'admin' }], protectReads: true } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const configUrl = `http://ops:${URL_PASSWORD}@127.0.0.1:${(server.address() as AddressInfo).port}/gateway.json?token=${URL_TOKEN}`;
    const env = { SPORE_REMOTE_CONFIG_HEADERS: JSON.stringify({ Authorization: `Bearer ${HEADER_TOKEN}` }) };
    const gw = await startGatewayProcess({ args: ['-log-level', 'debug', '-config-url', configUrl], env });
    try {
      const health = await http(`${gw.url}/api/health`);
      assert.equal(health.body.components.config.source, 'remote', `the header reached the server: ${health.text}`);
      const base = `${gw.url}/api/discovery/nodes`;
      assert.equal((await http(`${base}?token=${KEY}`)).status, 200);
      assert.equal((await http(base, { headers: { 'x-api-key': KEY } })).status, 200);
      assert.equal((await http(base, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
      assert.equal((await http(`${base}?token=${WRONG}`)).status, 401);
      assert.equal((await http(`${gw.url}/api/no-such-route?token=${KEY}&key=${WRONG}`)).status, 404);
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?token=${KEY}`);
      await new Promise((r) => ws.once('message', r));
      ws.close();

      const healthText = health.text;
      const printed = spawnTs('src/cli/gateway-main.ts', ['-print-config', '-config-url', configUrl, '-data-dir', gw.dataDir], env);
      assert.equal(await printed.exited, 0, printed.stderr());
      await gw.stop();
      const lines = gw.lines();
      assert.ok(lines.some((l) => l.includes('"http request"') && l.includes('token=')), 'request lines were logged (debug), with the token masked');
      for (const secret of SECRETS) {
        for (const line of lines) assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
        assert.ok(!healthText.includes(secret), '/api/health holds a secret');
        assert.ok(!printed.stdout().includes(secret), `-print-config holds a secret: ${printed.stdout()}`);
      }
      assert.match(printed.stdout(), /"url": "http:\/\/\*+:\*+@127\.0\.0\.1:\d+\/gateway\.json\?token=\*+"/);
    } finally {
      await gw.stop();
      server.close();
    }
  });
});
