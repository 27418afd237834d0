import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { chromium } from 'playwright-core';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { findBinary, skipUnlessPeer } from '../helpers/peers.js';
import { requirementFor } from '../../src/auth/access-policy.js';
import { z } from 'zod';
import { API_TAGS, checkedByService, documented } from '../../src/api/openapi/route-doc.js';
import { WEB_UI_ROUTE } from '../../src/api/openapi/openapi-plugin.js';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; license: string };
const PACKAGE_LICENSE = PACKAGE.license;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const ADMIN = 'openapi-admin-secret-0123456789';
const CHROMIUM = findBinary('chromium', ['/usr/bin/chromium', '/usr/bin/chromium-browser']);

/** Fastify's `/api/node/status/:ip` is OpenAPI's `/api/node/status/{ip}`; the web UI's catch-all `/*` is listed as `/`. */
const openApiPath = (url: string) => (url === WEB_UI_ROUTE ? '/' : url.replace(/:([A-Za-z0-9_]+)/g, '{$1}'));

/** The docs page's own assets (Swagger UI's scripts, styles, its copy of the document): not API operations. */
const isDocsAsset = (url: string) => url.startsWith('/api/docs/');

describe('OpenAPI document and docs page (issue 7)', () => {
  let gw: TestGateway;
  let doc: any;

  before(async () => {
    // MQTT and a pipeline configured, so every route a gateway can have is registered.
    gw = await startTestGateway({
      mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port: 0 } },
      pipeline: { connectors: [{ id: 'nodes', type: 'spore', pollMs: 60_000 }] },
    });
    const res = await http(`${gw.url}/api/openapi.json`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    doc = res.body;
  });

  after(async () => {
    await gw?.stop();
  });

  it('validates as an OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
    assert.equal(doc.info.title, 'SPORE Gateway API');
    assert.equal(doc.info.version, PACKAGE.version);
  });

  it('lists every registered route with its method, and nothing that is not one', () => {
    const routes = gw.gateway.routes.filter((r) => !isDocsAsset(r.url) && !(r.method === 'OPTIONS' && r.url === '*'));
    assert.ok(routes.length >= 35, `routes registered: ${routes.length}`);
    for (const r of routes) {
      const item = doc.paths[openApiPath(r.url)];
      assert.ok(item, `${r.url} is missing from paths`);
      assert.ok(item[r.method.toLowerCase()], `${r.method} ${r.url} is missing from paths`);
    }
    // The other way round: every documented operation is served (the WebSocket by the upgrade handler).
    const served = new Set(routes.map((r) => `${r.method} ${openApiPath(r.url)}`));
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
        if (path === '/ws') continue;
        assert.ok(served.has(`${method.toUpperCase()} ${path}`), `${method.toUpperCase()} ${path} is documented but not served`);
      }
    }
    // Every CONTRACT §4 route, by name: a route lost from both lists would not be noticed above.
    for (const [method, path] of [
      ['get', '/api/discovery/nodes'], ['post', '/api/discovery/refresh'], ['post', '/api/discovery/random-primary'],
      ['post', '/api/discovery/primary/{ip}'], ['get', '/api/cluster/members'], ['post', '/api/cluster/refresh'],
      ['get', '/api/tasks/status'], ['get', '/api/node/status'], ['get', '/api/node/status/{ip}'], ['get', '/api/node/endpoints'],
      ['post', '/api/node/update'], ['post', '/api/proxy-call'], ['post', '/api/cluster/event'], ['post', '/api/test/websocket'],
      ['get', '/api/health'], ['get', '/ws'], ['post', '/rpc'], ['get', '/api/openapi.json'], ['get', '/api/docs'], ['get', '/'],
    ]) {
      assert.ok(doc.paths[path!]?.[method!], `${method!.toUpperCase()} ${path} is documented`);
    }
  });

  it('describes every operation: summary, known tags, answers, path parameters', () => {
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item).filter(([k]) => METHODS.includes(k))) {
        const what = `${method.toUpperCase()} ${path}`;
        assert.ok(op.summary, `${what} has a summary`);
        assert.ok(op.tags?.length && op.tags.every((t: string) => t in API_TAGS), `${what} tags ${op.tags}`);
        assert.ok(Object.keys(op.responses).some((s) => /^(2\d\d|101)$/.test(s)), `${what} documents its success answer`);
        assert.ok(!operationIds.has(op.operationId), `${what} operationId ${op.operationId} is unique`);
        operationIds.add(op.operationId);
        for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
          assert.ok(op.parameters?.some((p: any) => p.in === 'path' && p.name === name && p.required === true), `${what} documents path parameter ${name}`);
        }
        for (const [status, answer] of Object.entries<any>(op.responses)) {
          // API errors have the one error shape; `/rpc` answers in JSON-RPC's, an unhealthy health
          // report is still the report, and the web UI's pages are HTML.
          if (/^[45]/.test(status) && (path.startsWith('/api/') || path === '/ws') && path !== '/api/health') {
            assert.deepEqual(answer.content?.['application/json']?.schema, { $ref: '#/components/schemas/Error' }, `${what} ${status} has the error shape`);
          }
        }
      }
    }
    assert.deepEqual(doc.components.schemas.Error.required, ['error', 'message']);
    assert.deepEqual(doc.tags.map((t: any) => t.name).sort(), Object.keys(API_TAGS).sort());
  });

  it('lints clean: relative servers, a license, a 2xx and a 4xx on every operation (issue 19)', () => {
    assert.deepEqual(doc.servers.map((s: any) => s.url), ['/'], 'Redocly no-empty-servers; relative, so it names the gateway serving it');
    assert.equal(doc.info.license.name, PACKAGE_LICENSE);
    assert.equal(doc.info.license.identifier, PACKAGE_LICENSE, 'an SPDX identifier (Redocly info-license-strict)');
    let operations = 0;
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item).filter(([k]) => METHODS.includes(k))) {
        operations++;
        const codes = Object.keys(op.responses);
        const what = `${method.toUpperCase()} ${path}: ${codes.join(',')}`;
        // The WebSocket upgrade succeeds with 101 Switching Protocols, never a 2xx (RFC 6455 §4.2.2).
        if (path === '/ws') assert.ok(codes.includes('101'), what);
        else assert.ok(codes.some((c) => /^2\d\d$/.test(c)), `${what} has a 2xx`);
        assert.ok(codes.some((c) => /^4\d\d$/.test(c)), `${what} has a 4xx`);
      }
    }
    assert.ok(operations >= 35);
  });

  it('the 4xx of an operation that takes no input is real: oversized headers answer 431 with JSON', async () => {
    for (const path of ['/api/health', '/api/openapi.json']) {
      assert.ok(doc.paths[path].get.responses['431'], `${path} documents 431`);
      const res = await fetch(`${gw.url}${path}`, { headers: { 'x-padding': 'a'.repeat(20 * 1024) } });
      assert.equal(res.status, 431);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(typeof body.error, 'string');
      assert.equal(typeof body.message, 'string');
    }
  });

  it('documents the CONTRACT §4 answers', () => {
    const json = (path: string, method: string, status = '200') => doc.paths[path][method].responses[status].content['application/json'].schema;
    assert.deepEqual(
      Object.keys(json('/api/discovery/nodes', 'get').properties).sort(),
      ['clientBaseUrl', 'clientInitialized', 'nodes', 'primaryNode', 'totalNodes'],
    );
    assert.deepEqual(
      Object.keys(json('/api/discovery/nodes', 'get').properties.nodes.items.properties).sort(),
      ['discoveredAt', 'hostname', 'ip', 'isPrimary', 'labels', 'lastSeen', 'port', 'status'],
    );
    assert.deepEqual(json('/api/discovery/nodes', 'get').properties.nodes.items.properties.status.enum, ['ACTIVE', 'INACTIVE', 'DEAD']);
    assert.deepEqual(Object.keys(json('/api/node/update', 'post').properties).sort(), ['nodeIp', 'nodeResponse', 'sha256', 'size', 'success']);
    assert.deepEqual(json('/api/health', 'get').properties.status.enum, ['healthy', 'degraded', 'unhealthy']);
    assert.ok(json('/api/health', 'get', '503'), 'unhealthy is a documented 503');
    assert.ok(json('/api/cluster/event', 'post').properties.nodes);
    assert.ok(json('/api/test/websocket', 'post').properties.clients);
    assert.equal(doc.paths['/api/discovery/random-primary'].post.responses['503'].description.includes('no_active_node'), true);
    assert.ok(doc.paths['/api/node/update'].post.requestBody.content['multipart/form-data'].schema.properties.file);
    assert.ok(doc.paths['/ws'].get.responses['101']);
  });

  it("every route's request schema compiles with Fastify's Ajv (compiled at first use, issue 16 §3)", () => {
    const app = (gw.gateway as unknown as { http: { compileRouteSchemas(): number } }).http;
    const compiled = app.compileRouteSchemas();
    assert.ok(compiled >= 20, `${compiled} request schemas compiled`);
  });

  it('documents the request schemas the gateway validates with', async () => {
    const event = doc.paths['/api/cluster/event'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(event.required, ['event']);
    assert.equal(event.properties.event.maxLength, 128);
    // The documented limit is the one enforced: 128 characters pass, 129 are refused by the schema.
    assert.equal((await http(`${gw.url}/api/cluster/event`, { body: { event: 'e'.repeat(128) } })).status, 200);
    const long = await http(`${gw.url}/api/cluster/event`, { body: { event: 'e'.repeat(129) } });
    assert.equal(long.status, 400);
    assert.equal(long.body.error, 'bad_request');
    assert.match(long.body.message, /"event"/);

    const proxy = doc.paths['/api/proxy-call'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(proxy.required.sort(), ['ip', 'method', 'uri']);
    assert.equal(proxy.properties.ip.type, 'string');
    assert.deepEqual(proxy.properties.params.anyOf[0].items.properties.location.enum, ['query', 'body']);
    assert.match(proxy.properties.ip.description, /invalid_ip/);
    const write = doc.paths['/api/devices/{id}/write'].post.requestBody.content['application/json'].schema;
    assert.equal(write.properties.channel.type, 'string');
    const rollout = doc.paths['/api/rollouts'].post.requestBody.content['application/json'].schema;
    // firmwareId, or (dry runs, issue 12 §17) an unsaved image: the service's refinement requires one.
    assert.ok(rollout.properties.firmwareId && rollout.properties.image && rollout.required.includes('target'), 'the rollout service\'s own zod schema');
    const rpc = doc.paths['/rpc'].post.requestBody.content['application/json'].schema;
    assert.ok(JSON.stringify(rpc).includes('"rollouts.start"'), 'the JSON-RPC methods, from their params schemas');
    assert.deepEqual(doc.paths['/api/mqtt/messages'].get.parameters.map((p: any) => p.name).sort(), ['limit', 'topic']);
  });

  it('derives each operation\'s security from the access policy', () => {
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(schemes.BearerAuth, { ...schemes.BearerAuth, type: 'http', scheme: 'bearer' });
    assert.deepEqual(schemes.ApiKeyHeader, { ...schemes.ApiKeyHeader, type: 'apiKey', in: 'header', name: 'X-API-Key' });
    assert.deepEqual(schemes.TokenQuery, { ...schemes.TokenQuery, type: 'apiKey', in: 'query', name: 'token' });
    for (const r of gw.gateway.routes.filter((x) => !isDocsAsset(x.url) && x.url !== '*')) {
      const op = doc.paths[openApiPath(r.url)][r.method.toLowerCase()];
      const what = `${r.method} ${r.url}`;
      const need = requirementFor(r.method, r.url, true);
      if (need === 'none') assert.deepEqual(op.security, [], `${what} is open`);
      else if (requirementFor(r.method, r.url, false) === 'admin') {
        assert.deepEqual(op.security, Object.keys(schemes).map((s) => ({ [s]: ['admin'] })), `${what} needs an admin key`);
        assert.ok(op.responses['401'] && op.responses['403'], `${what} documents 401 and 403`);
      } else {
        assert.deepEqual(op.security, [{}, ...Object.keys(schemes).map((s) => ({ [s]: ['read'] }))], `${what} needs a key only with protectReads`);
      }
    }
    assert.deepEqual(doc.paths['/api/health'].get.security, []);
    assert.deepEqual(doc.paths['/rpc'].post.security[0], { BearerAuth: ['admin'] });
  });

  it('a request the schema refuses answers 400 with the error shape, naming the field', async () => {
    const cases: Array<[string, Parameters<typeof http>[1], RegExp]> = [
      ['/api/cluster/event', { body: { data: 1 } }, /body field "event" is required/],
      ['/api/cluster/event', { body: [1, 2] }, /the request body must be of type object/],
      ['/api/devices/nodes/write', { body: { channel: 7, value: 1 } }, /body field "channel" must be of type string/],
      ['/api/proxy-call', { body: { ip: '10.0.0.1', method: 'GET', uri: '/', params: [{ name: 'a', location: 'header' }] } }, /"params\[0\]\.location" must be one of "query", "body"/],
      ['/api/test/websocket', { body: { message: 5 } }, /"message" must be of type string/],
      ['/api/rollouts?status=running&status=paused', {}, /query parameter "status" must be of type string/],
    ];
    for (const [path, init, message] of cases) {
      const res = await http(`${gw.url}${path}`, init);
      assert.equal(res.status, 400, `${path} ${res.text}`);
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message']);
      assert.equal(res.body.error, 'bad_request', res.text);
      assert.match(res.body.message, message);
    }
    // Fields the service checks keep the service's own codes (CONTRACT §4).
    const proxy = (body: unknown) => http(`${gw.url}/api/proxy-call`, { body });
    assert.equal((await proxy({ ip: '300.1.1.1', method: 'GET', uri: '/api/node/status' })).body.error, 'invalid_ip');
    assert.equal((await proxy({ ip: 42, method: 'GET', uri: '/api/node/status' })).body.error, 'invalid_ip');
    assert.equal((await proxy({ ip: '10.0.0.1', method: 7, uri: '/api/node/status' })).body.error, 'invalid_method');
    assert.equal((await proxy({ ip: '10.0.0.1', method: 'GET' })).body.error, 'invalid_uri');
    assert.equal((await http(`${gw.url}/api/rollouts`, { body: { firmwareId: 5 } })).body.error, 'invalid_rollout');
    assert.equal((await http(`${gw.url}/api/tasks/status?ip=a&ip=b`)).body.error, 'invalid_ip');
    // An optional body may be left out.
    assert.equal((await fetch(`${gw.url}/api/test/websocket`, { method: 'POST' })).status, 200);
  });

  it('answers are not filtered through the documented schemas', async () => {
    const health = await http(`${gw.url}/api/health`);
    // The documented component shape has only `status`; the details the services report still come through.
    assert.equal(typeof health.body.components.udp.port, 'number');
    assert.ok(!('port' in doc.paths['/api/health'].get.responses['200'].content['application/json'].schema.properties.components.additionalProperties.properties));
  });

  it('serves the docs page and the document without a key, even with reads protected', async () => {
    gw.gateway.auth.update({ apiKeys: [{ name: 'ops', key: ADMIN, scope: 'admin' }], protectReads: true });
    try {
      assert.equal((await http(`${gw.url}/api/discovery/nodes`)).status, 401, 'reads are protected now');
      assert.equal((await http(`${gw.url}/api/openapi.json`)).status, 200);
      const page = await fetch(`${gw.url}/api/docs`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      const html = await page.text();
      assert.match(html, /swagger-ui/i);
      // Every script and stylesheet is the gateway's own: no CDN (the gateway may have no internet).
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.length >= 3, `assets: ${assets.join(', ')}`);
      for (const asset of assets) {
        assert.doesNotMatch(asset, /^(https?:)?\/\//, `${asset} is local`);
        const res = await fetch(new URL(asset, `${gw.url}/api/docs/`));
        assert.equal(res.status, 200, asset);
        await res.arrayBuffer();
      }
    } finally {
      gw.gateway.auth.update({ apiKeys: [], protectReads: false });
    }
  });

  it('the docs page renders every operation in a real browser', { skip: skipUnlessPeer('chromium', CHROMIUM !== undefined) }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on('request', (req) => {
        const url = new URL(req.url());
        if (!['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'data:') outside.push(req.url());
      });
      await page.goto(`${gw.url}/api/docs`);
      await page.waitForSelector('.opblock', { timeout: 60_000 });
      // Swagger UI lists an operation once under each of its tags.
      const listed = Object.values<any>(doc.paths)
        .flatMap((item) => Object.entries<any>(item).filter(([k]) => METHODS.includes(k)))
        .reduce((n, [, op]) => n + op.tags.length, 0);
      assert.equal(await page.locator('.opblock').count(), listed);
      assert.match(await page.locator('.title').first().innerText(), /SPORE Gateway API/);
      assert.deepEqual(outside, [], 'no request left the machine');
    } finally {
      await browser.close();
    }
  });
});

describe('route schemas: one zod schema, validated and documented (api/openapi/route-doc.ts)', () => {
  it('fields the service checks are documented with their type but left to the service', () => {
    const body = z.object({
      ip: checkedByService(z.string().describe('an address'), '400 invalid_ip'),
      name: z.string().min(1),
      value: z.union([z.string(), z.number()]).optional(),
    });
    const route = documented({ summary: 's', tags: ['nodes'], body, responses: { 200: { description: 'ok', schema: z.object({ ok: z.boolean() }) } } });
    const validation = route.schema.body as any;
    assert.deepEqual(validation.properties.ip, {}, 'Ajv accepts any ip: the service answers invalid_ip');
    assert.deepEqual(validation.required, ['name'], 'a missing ip also reaches the service');
    assert.deepEqual(validation.properties.value.anyOf, [{ type: 'string' }, { type: 'number' }], 'no union type for Ajv strict mode');
    assert.ok(!('$schema' in validation));
    const documentedBody = route.config.openapi.body as any;
    assert.equal(documentedBody.properties.ip.type, 'string');
    assert.match(documentedBody.properties.ip.description, /^an address\. Checked by the gateway itself: 400 invalid_ip\.$/);
    assert.deepEqual(documentedBody.required, ['ip', 'name']);
    assert.equal(route.config.openapi.validated, true);
    assert.deepEqual(route.config.openapi.responses()['200'], {
      description: 'ok',
      content: { 'application/json': { schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false } } },
    });
  });

  it('a body the service checks as a whole is documented only', () => {
    const route = documented({ summary: 's', tags: ['rollouts'], body: checkedByService(z.object({ a: z.string() }), '400 invalid_rollout'), responses: { 201: 'created' } });
    assert.equal(route.schema.body, undefined);
    assert.equal(route.config.openapi.validated, false);
    assert.deepEqual((route.config.openapi.body as any).required, ['a']);
  });
});
