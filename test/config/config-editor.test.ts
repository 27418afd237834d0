/**
 * Configuration from the API (issue 15 §1): sections read and replaced over
 * REST and JSON-RPC, validated by the start-up schema with every problem's
 * path, saved keeping the file's comments (atomically, previous file as .bak),
 * applied live where hot; API keys created (shown once) and revoked; a
 * remote-managed configuration is read-only; a gateway started without a file
 * saves to <dataDir>/config.yaml and uses it at the next start.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { applyToDocument, restoreMasked } from '../../src/config/config-editor.js';
import { MASK } from '../../src/config/mask-secrets.js';
import { loadYaml } from '../../src/config/yaml-lib.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewayYaml, startFileGateway, type FileGateway } from '../helpers/file-gateway.js';

const ADMIN = 'config-editor-admin-0123456789';

describe('configuration editing over the API (issue 15 §1)', () => {
  const started: FileGateway[] = [];
  after(async () => {
    for (const g of started) await g.destroy();
  });

  it('reads and replaces sections, keeps comments, writes a .bak, reports hot and restart sections', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-cfg15-'));
    const yaml = await gatewayYaml(dir, ['mqtt:', '  # the broker of the plant', '  url: mqtt://user:s3cret-pass@127.0.0.1:1', '  reconnectPeriodMs: 60000 # slow'].join('\n'));
    const g = await startFileGateway({ dir, yaml });
    started.push(g);

    const info = await http(`${g.url}/api/config`);
    assert.equal(info.status, 200);
    assert.equal(info.body.readOnly, false);
    assert.equal(info.body.file, g.file);
    assert.ok(info.body.sections.some((s: any) => s.name === 'pipeline' && s.hot === true));
    assert.ok(info.body.sections.some((s: any) => s.name === 'nodes' && s.hot === false));

    const mqtt = await http(`${g.url}/api/config/mqtt`);
    assert.equal(mqtt.status, 200);
    assert.equal(mqtt.body.document.url, `mqtt://${MASK}:${MASK}@127.0.0.1:1`, 'the URL user-info is masked (issue 12 item 7)');
    assert.ok(!mqtt.text.includes('s3cret-pass'));
    assert.equal(mqtt.body.value.keepaliveSeconds, 30, 'the value in force carries the defaults');

    // The masked URL sent back keeps the password; a changed field is saved.
    const put = await http(`${g.url}/api/config/mqtt`, { method: 'PUT', body: { ...mqtt.body.document, keepaliveSeconds: 45 } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.applied, ['mqtt']);
    const text = await readFile(g.file!, 'utf8');
    assert.match(text, /# SPORE gateway of a test/);
    assert.match(text, /# the broker of the plant/);
    assert.match(text, /reconnectPeriodMs: 60000 # slow/);
    assert.match(text, /s3cret-pass@127\.0\.0\.1/, 'the real password stays in the file');
    assert.equal(parseYaml(text).mqtt.keepaliveSeconds, 45);
    assert.equal(g.gateway.config.mqtt.keepaliveSeconds, 45, 'applied live');
    assert.ok(existsSync(`${g.file}.bak`), 'the previous file is kept');
    assert.doesNotMatch(await readFile(`${g.file}.bak`, 'utf8'), /keepaliveSeconds/);

    // A section that is not hot is saved and reported for the restart.
    const nodes = await http(`${g.url}/api/config/nodes`, { method: 'PUT', body: { port: 8080 } });
    assert.equal(nodes.status, 200, nodes.text);
    assert.deepEqual(nodes.body.needRestart, ['nodes']);
    assert.equal(g.gateway.config.nodes.port, 80, 'the running value stays until the restart');
    assert.equal(parseYaml(await readFile(g.file!, 'utf8')).nodes.port, 8080);
  });

  it('refuses invalid values with every problem and its path, and validates without saving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-cfg15-'));
    const g = await startFileGateway({ dir, yaml: await gatewayYaml(dir) });
    started.push(g);
    const before = await readFile(g.file!, 'utf8');
    const bad = await http(`${g.url}/api/config/pipeline`, {
      method: 'PUT',
      body: { connectors: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: 'x', devices: [] }, { id: 'w', type: 'nope' }] },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_config');
    const paths = bad.body.problems.map((p: any) => p.path);
    assert.ok(paths.includes('pipeline.connectors[0].port'), paths.join(', '));
    assert.ok(paths.some((p: string) => p.startsWith('pipeline.connectors[1]')), paths.join(', '));
    assert.equal(await readFile(g.file!, 'utf8'), before, 'nothing saved');

    const check = await http(`${g.url}/api/config/validate`, { method: 'POST', body: { section: 'log', value: { level: 'loud' } } });
    assert.equal(check.status, 200);
    assert.equal(check.body.valid, false);
    assert.equal(check.body.problems[0].path, 'log.level');
    const ok = await http(`${g.url}/api/config/validate`, { method: 'POST', body: { text: `${before}\nlog:\n  level: warn\n`.replace(/^log:\n  level: info\n/m, '') } });
    assert.equal(ok.body.valid, true, JSON.stringify(ok.body));
    const yamlBroken = await http(`${g.url}/api/config/validate`, { method: 'POST', body: { text: 'http: [unclosed' } });
    assert.equal(yamlBroken.body.valid, false);
    assert.equal(await readFile(g.file!, 'utf8'), before, 'validation saves nothing');

    assert.equal((await http(`${g.url}/api/config/udp`)).status, 404, 'not an editable section');
    // The raw editor: the whole file round-trips, comments and all.
    const raw = await http(`${g.url}/api/config/raw`);
    assert.equal(raw.status, 200);
    assert.equal(raw.body.text, before);
    const saved = await http(`${g.url}/api/config/raw`, { method: 'PUT', body: { text: raw.body.text.replace('level: info', 'level: warn # quieter') } });
    assert.equal(saved.status, 200, saved.text);
    assert.deepEqual(saved.body.applied, ['log']);
    assert.match(await readFile(g.file!, 'utf8'), /level: warn # quieter/);
  });

  it('creates an API key shown once (the file keeps its hash) and revokes it; JSON-RPC config.get/set/validate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-cfg15-'));
    const g = await startFileGateway({ dir, yaml: await gatewayYaml(dir, `auth:\n  apiKeys:\n    - name: ops # the operator\n      key: ${ADMIN}\n      scope: admin\n`) });
    started.push(g);
    const auth = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await http(`${g.url}/api/config`)).status, 401, 'admin scope');
    const created = await http(`${g.url}/api/config/auth/keys`, { method: 'POST', body: { name: 'dashboard', scope: 'read' }, headers: auth });
    assert.equal(created.status, 201, created.text);
    const secret = created.body.key as string;
    assert.ok(secret.length >= 32);
    const file = await readFile(g.file!, 'utf8');
    assert.ok(!file.includes(secret), 'the secret itself is not stored');
    assert.match(file, /name: dashboard\n\s+key: sha256:[0-9a-f]{64}/);
    assert.match(file, /# the operator/);
    assert.equal((await http(`${g.url}/api/config/auth`, { headers: auth })).body.document.apiKeys[0].key, MASK, 'keys are masked when read');
    // The new key works at once (auth is hot), with its scope.
    assert.equal((await http(`${g.url}/api/config`, { headers: { authorization: `Bearer ${secret}` } })).status, 403);
    assert.equal((await http(`${g.url}/api/config/auth/keys`, { method: 'POST', body: { name: 'dashboard' }, headers: auth })).status, 409);
    const revoked = await http(`${g.url}/api/config/auth/keys/dashboard`, { method: 'DELETE', headers: auth });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal((await http(`${g.url}/api/discovery/refresh`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } })).status, 401, 'revoked');
    // Re-saving the masked auth section keeps the real key.
    const section = (await http(`${g.url}/api/config/auth`, { headers: auth })).body.document;
    assert.equal((await http(`${g.url}/api/config/auth`, { method: 'PUT', body: section, headers: auth })).status, 200);
    assert.equal((await http(`${g.url}/api/config`, { headers: auth })).status, 200, 'the admin key survived a masked round-trip');

    const rpc = async (method: string, params: unknown) => (await http(`${g.url}/rpc`, { method: 'POST', body: { jsonrpc: '2.0', id: 1, method, params }, headers: auth })).body;
    assert.equal((await rpc('config.get', { section: 'log' })).result.value.level, 'info');
    assert.equal((await rpc('config.validate', { section: 'log', value: { level: 'nope' } })).result.valid, false);
    const set = await rpc('config.set', { section: 'log', value: { level: 'debug' } });
    assert.deepEqual(set.result.applied, ['log']);
    assert.equal(g.gateway.logger.level, 'debug');
    assert.equal((await rpc('config.set', { section: 'log', value: { level: 7 } })).error.data.error, 'invalid_config');
  });

  it('is read-only when the configuration is managed remotely', async () => {
    const remote = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ log: { level: 'warn' } }));
    });
    await new Promise<void>((r) => remote.listen(0, '127.0.0.1', () => r()));
    const port = (remote.address() as AddressInfo).port;
    try {
      const dir = await mkdtemp(join(tmpdir(), 'spore-cfg15-'));
      const g = await startFileGateway({ dir, yaml: await gatewayYaml(dir, `remoteConfig:\n  url: http://127.0.0.1:${port}/gw.json\n`) });
      started.push(g);
      const info = await http(`${g.url}/api/config`);
      assert.equal(info.body.readOnly, true);
      assert.equal(info.body.readOnlyReason, `managed remotely by 127.0.0.1:${port}`);
      const put = await http(`${g.url}/api/config/log`, { method: 'PUT', body: { level: 'debug' } });
      assert.equal(put.status, 409);
      assert.equal(put.body.error, 'config_read_only');
      assert.match(put.body.message, /managed remotely/);
    } finally {
      remote.close();
    }
  });

  it('without a file, saves to <dataDir>/config.yaml and starts from it next time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-cfg15-'));
    const env = { http: { port: 0, host: '127.0.0.1' }, udp: { port: 0, host: '127.0.0.1' }, dataDir: join(dir, 'data'), log: { level: 'error' } };
    const g = await startFileGateway({ dir, file: null, env });
    const put = await http(`${g.url}/api/config/history`, { method: 'PUT', body: { rawRetentionHours: 12 } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.saved, join(dir, 'data', 'config.yaml'));
    await g.stop();
    const again = await startFileGateway({ dir, file: null, env });
    started.push(again);
    assert.equal(again.gateway.config.history.rawRetentionHours, 12);
    assert.equal((await http(`${again.url}/api/config`)).body.file, join(dir, 'data', 'config.yaml'));
    await rm(join(dir, 'never'), { force: true });
  });

  it('changes a YAML document minimally; masked values sent back keep their secrets', async () => {
    await loadYaml(); // applyToDocument runs after the editor has loaded the library
    const doc = parseDocument('# top\na: 1 # one\nb:\n  c: [1, 2] # list\n  d: x\n');
    applyToDocument(doc, [], { a: 1, b: { c: [1, 3], e: true } });
    assert.equal(doc.toString(), '# top\na: 1 # one\nb:\n  c: [ 1, 3 ] # list\n  e: true\n');
    assert.deepEqual(
      restoreMasked({ apiKeys: [{ name: 'b', key: MASK }, { name: 'a', key: MASK }, { name: 'new', key: MASK }] }, { apiKeys: [{ name: 'a', key: 'A' }, { name: 'b', key: 'B' }] }),
      { apiKeys: [{ name: 'b', key: 'B' }, { name: 'a', key: 'A' }, { name: 'new', key: MASK }] },
    );
  });
});

describe('the schema the Settings forms are built from (issue 15 §1)', () => {
  type Node = { type?: string | string[]; enum?: unknown[]; const?: unknown; properties?: Record<string, Node>; description?: string; anyOf?: Node[] };
  /** The fields a Settings form shows (web/src/pages/settings-page.tsx scalarFields: scalars, two levels deep). */
  function formFields(s: Node, path: string[], depth: number, out: Array<{ path: string; description?: string }>): typeof out {
    for (const [name, raw] of Object.entries(s.properties ?? {})) {
      const inner = raw.anyOf?.every((x) => x.const !== undefined) ? { type: raw.anyOf[0]!.type, enum: [] } : (raw.anyOf?.find((x) => x.type !== 'null') ?? raw);
      const type = Array.isArray(inner.type) ? inner.type[0] : inner.type;
      if (inner.enum || ['string', 'number', 'integer', 'boolean'].includes(type ?? '')) out.push({ path: [...path, name].join('.'), description: raw.description ?? inner.description });
      else if (type === 'object' && inner.properties && depth < 1) formFields(inner, [...path, name], depth + 1, out);
    }
    return out;
  }

  it('describes every field a form shows (zod .describe(), served by GET /api/config/schema)', async () => {
    const { editableSectionSchemas } = await import('../../src/api/routes/config-routes.js');
    const fields = Object.entries(editableSectionSchemas()).flatMap(([name, s]) => formFields(s as Node, [name], 0, []));
    assert.ok(fields.length > 60, `${fields.length} fields`);
    assert.deepEqual(fields.filter((f) => !f.description).map((f) => f.path), [], 'fields without a description');
    const byPath = new Map(fields.map((f) => [f.path, f.description]));
    assert.match(byPath.get('nodes.requestTimeoutMs') ?? '', /Timeout of every call to a node, ms/);
    assert.match(byPath.get('mqtt.protocolVersion') ?? '', /MQTT 5\.0/);
  });
});
