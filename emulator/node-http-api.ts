/**
 * The SPORE node HTTP API (CONTRACT §3, seed 002) as one emulated node serves
 * it. Hand-routed on node:http on purpose: the real thing is ESPAsyncWebServer,
 * a tiny server with fixed routes, form fields and short JSON answers.
 */
import { createHash } from 'node:crypto';
import { createGunzip, type Gunzip } from 'node:zlib';
import type http from 'node:http';
import { Busboy, type BusboyHeaders } from '@fastify/busboy';
import { TASK_ACTIONS, type ClusterMember, type TaskAction } from '../src/protocol/types.js';
import { ESP_IMAGE_MAGIC, VersionScanner } from './firmware-image.js';
import { defaultFreeSketchSpace, NODE_API } from './node-model.js';
import type { SimNode } from './sim-node.js';

/** SPORE's member ageing as a node sees its peers, ms (seed 002 "Node Status Tracking"). */
const MEMBER_ACTIVE_MS = 10_000;
const MEMBER_DEAD_MS = 60_000;
/** Largest form body a node reads, bytes (an ESP8266 has ~40 kB of heap). */
const MAX_FORM_BYTES = 8 * 1024;
/** Largest image it accepts: the OTA half of a 1 MB flash is ~500 kB, but we allow bigger test images. */
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readForm(req: http.IncomingMessage, url: URL): Promise<URLSearchParams> {
  const form = new URLSearchParams(url.search);
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    req.resume();
    return form;
  }
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) form.set(k, v);
  return form;
}

/** Everything the API handler needs from the cluster besides the node itself. */
export interface ClusterView {
  /** Every node of the simulated LAN, for `/api/cluster/members`. */
  readonly nodes: readonly SimNode[];
}

export async function handleNodeRequest(node: SimNode, view: ClusterView, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  // A busy ESP8266 answers in a few ms to a few tens of ms; a "slow" node much later.
  const delay = node.model.jitter(node.latencyRange) + node.slowMs;
  if (delay > 0) await sleep(delay);
  if (!node.alive) {
    res.destroy();
    return;
  }
  const url = new URL(req.url ?? '/', 'http://node');
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '') || '/'}`;
  try {
    switch (route) {
      case 'GET /api/node/status':
        return sendJson(res, 200, nodeStatus(node));
      case 'GET /api/cluster/members':
        return sendJson(res, 200, { members: members(node, view) });
      case 'GET /api/tasks/status':
        return sendJson(res, 200, tasksStatus(node));
      case 'POST /api/tasks/control':
        return taskControl(node, await readForm(req, url), res);
      case 'POST /api/node/restart':
        res.once('finish', () => void node.restart());
        return sendJson(res, 200, { status: 'restarting' });
      case 'POST /api/node/update':
        return await receiveUpdate(node, req, res);
      case 'GET /api/led':
        return sendJson(res, 200, node.model.led);
      case 'POST /api/led':
        return setLed(node, await readForm(req, url), res);
      case 'GET /api/relay':
        return sendJson(res, 200, { state: node.model.relay });
      case 'POST /api/relay':
        return setRelay(node, await readForm(req, url), res);
      default:
        req.resume();
        return sendJson(res, 404, { error: 'Not found', uri: url.pathname });
    }
  } catch (err) {
    if (!res.headersSent) sendJson(res, 400, { status: 'FAIL', message: (err as Error).message });
    else res.destroy();
  }
}

function nodeStatus(node: SimNode): Record<string, unknown> {
  return {
    ...node.model.resources(),
    api: NODE_API,
    labels: node.labels,
    uptime: node.uptimeMs,
    version: node.version,
    hostname: node.hostname,
  };
}

/** The node's own view of the cluster: every peer it has heard, aged like SPORE does. */
function members(self: SimNode, view: ClusterView): ClusterMember[] {
  const now = Date.now();
  const out: ClusterMember[] = [];
  for (const peer of view.nodes) {
    const heard = peer === self ? now : peer.lastHeartbeatAt;
    if (heard === 0) continue;
    const age = now - heard;
    out.push({
      hostname: peer.hostname,
      ip: peer.ip,
      lastSeen: Math.floor(heard / 1000), // epoch seconds, as the firmware reports it
      latency: peer === self ? 0 : Math.round(self.model.jitter({ min: 2, max: 30 })),
      status: age <= MEMBER_ACTIVE_MS ? 'ACTIVE' : age <= MEMBER_DEAD_MS ? 'INACTIVE' : 'DEAD',
      resources: peer.model.resources(),
      api: NODE_API.map(({ uri, method }) => ({ uri, method })),
      labels: peer.labels,
    });
  }
  return out;
}

function tasksStatus(node: SimNode): Record<string, unknown> {
  const tasks = node.model.tasks.map((t) => ({ ...t }));
  return {
    summary: { totalTasks: tasks.length, activeTasks: tasks.filter((t) => t.enabled).length },
    tasks,
    system: { freeHeap: node.model.freeHeap(), uptime: node.uptimeMs },
  };
}

function taskControl(node: SimNode, form: URLSearchParams, res: http.ServerResponse): void {
  const name = form.get('task');
  const action = form.get('action');
  if (!name || !action) return sendJson(res, 400, { success: false, message: 'Missing parameters. Required: task, action' });
  if (!(TASK_ACTIONS as readonly string[]).includes(action)) {
    return sendJson(res, 400, { success: false, message: `Invalid action. Use: ${TASK_ACTIONS.join(', ')}` });
  }
  const task = node.model.task(name);
  if (!task) return sendJson(res, 404, { success: false, message: `Task not found: ${name}` });
  switch (action as TaskAction) {
    case 'enable':
      task.enabled = true;
      task.running = true;
      break;
    case 'disable':
      task.enabled = false;
      task.running = false;
      break;
    case 'start':
      task.running = task.enabled;
      break;
    case 'stop':
      task.running = false;
      break;
    case 'status':
      break;
  }
  sendJson(res, 200, { success: true, message: `Task ${action}: ${name}`, task: name, action, taskDetails: { ...task } });
}

function setLed(node: SimNode, form: URLSearchParams, res: http.ServerResponse): void {
  const color = form.get('color');
  const brightness = form.get('brightness');
  if (color !== null && !/^#[0-9a-fA-F]{6}$/.test(color)) {
    return sendJson(res, 400, { success: false, message: 'color must be #rrggbb' });
  }
  if (brightness !== null && !(/^\d{1,3}$/.test(brightness) && Number(brightness) <= 255)) {
    return sendJson(res, 400, { success: false, message: 'brightness must be an integer 0-255' });
  }
  const led = node.model.led;
  if (color !== null) led.color = color.toLowerCase();
  if (brightness !== null) led.brightness = Number(brightness);
  else if (color !== null && led.brightness === 0) led.brightness = 255;
  led.on = led.brightness > 0 && led.color !== '#000000';
  sendJson(res, 200, { success: true, ...led });
}

function setRelay(node: SimNode, form: URLSearchParams, res: http.ServerResponse): void {
  const state = form.get('state');
  if (state !== 'on' && state !== 'off' && state !== 'toggle') {
    return sendJson(res, 400, { success: false, message: 'state must be on, off or toggle' });
  }
  node.model.relay = state === 'toggle' ? (node.model.relay === 'on' ? 'off' : 'on') : state;
  sendJson(res, 200, { success: true, state: node.model.relay });
}

/**
 * OTA (CONTRACT §3 `POST /api/node/update`): the image arrives as multipart
 * field `file`; it is hashed and scanned for a version marker as it streams
 * (never held whole), written at `flashBytesPerSec`, then the node answers
 * `{"status":"OK"}` and reboots into the new version. A gzip image (`.bin.gz`)
 * is inflated on receipt, as the ESP8266 Arduino core's updater does: the
 * magic byte and the marker are read inside it. An image larger than the free
 * sketch space is refused like the updater refuses it ("Not Enough Space").
 */
interface ReceivedImage {
  size: number;
  sha256: string;
  version: string | null;
  firstByte: number | null;
  /** Inflated size, bytes (= size when not compressed). */
  imageBytes: number;
  compressed: boolean;
  inflateError: string | null;
}

async function receiveUpdate(node: SimNode, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) {
    req.resume();
    return sendJson(res, 400, { status: 'FAIL', message: 'Send multipart/form-data with the image in field "file"' });
  }
  const failure = node.pendingFailure;
  node.pendingFailure = null;
  const declared = Number(req.headers['content-length']);
  const image = await new Promise<ReceivedImage | 'stalled' | null>((resolve, reject) => {
    const busboy = new Busboy({ headers: req.headers as BusboyHeaders, limits: { files: 1, fileSize: MAX_IMAGE_BYTES } });
    let result: ReceivedImage | null = null;
    let pendingInflate: Promise<void> = Promise.resolve();
    busboy.on('file', (field: string, file: NodeJS.ReadableStream & { resume(): void; pause(): void }) => {
      if (field !== 'file') {
        file.resume();
        return;
      }
      const hash = createHash('sha256');
      const scanner = new VersionScanner();
      const started = Date.now();
      let size = 0;
      let inflated = 0;
      let firstByte: number | null = null;
      let gunzip: Gunzip | undefined;
      let decided = false;
      let inflateError: string | null = null;
      const inspect = (chunk: Buffer): void => {
        if (firstByte === null && chunk.length > 0) firstByte = chunk[0]!;
        inflated += chunk.length;
        scanner.push(chunk);
      };
      let stalled = false;
      file.on('data', (chunk: Buffer) => {
        if (stalled) {
          file.pause();
          return;
        }
        if (!decided) {
          decided = true;
          if (chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
            gunzip = createGunzip();
            gunzip.on('data', inspect);
            pendingInflate = new Promise<void>((done) => {
              gunzip!.on('end', done);
              gunzip!.on('error', (err) => {
                inflateError = err.message;
                done();
              });
            });
          }
        }
        size += chunk.length;
        hash.update(chunk);
        if (gunzip) gunzip.write(chunk);
        else inspect(chunk);
        if (failure === 'stall' && size >= (Number.isFinite(declared) ? declared / 2 : 16 * 1024)) {
          // Stuck mid-upload: stop reading for good and never answer (the client must give up).
          stalled = true;
          file.pause();
          req.socket.once('close', () => resolve('stalled'));
          return;
        }
        const rate = node.flashBytesPerSec;
        if (rate > 0) {
          // Flash writes are slower than Wi-Fi: hold the stream back to the configured rate.
          const ahead = (size / rate) * 1000 - (Date.now() - started);
          if (ahead > 5) {
            file.pause();
            setTimeout(() => {
              if (!stalled) file.resume();
            }, ahead);
          }
        }
      });
      file.on('end', () => {
        gunzip?.end();
        void pendingInflate.then(() => {
          result = { size, sha256: hash.digest('hex'), version: scanner.finish(), firstByte, imageBytes: gunzip ? inflated : size, compressed: gunzip !== undefined, inflateError };
        });
      });
    });
    busboy.on('finish', () => void pendingInflate.then(() => setImmediate(() => resolve(result))));
    busboy.on('error', reject);
    req.pipe(busboy);
  }).catch(() => null);

  if (image === 'stalled') {
    res.destroy();
    return;
  }
  if (!image) return sendJson(res, 400, { status: 'FAIL', message: 'No firmware in field "file"' });
  node.uploads.push({ size: image.size, sha256: image.sha256, version: image.version, at: Date.now() });
  if (image.size === 0) return sendJson(res, 400, { status: 'FAIL', message: 'Update error: empty image' });
  if (image.inflateError) return sendJson(res, 500, { status: 'FAIL', message: `Update error: the compressed image does not inflate (${image.inflateError})` });
  if (image.firstByte !== ESP_IMAGE_MAGIC) {
    // What the ESP8266 Updater says of an image that is not an application image.
    return sendJson(res, 500, { status: 'FAIL', message: `Magic byte is wrong, not 0x${ESP_IMAGE_MAGIC.toString(16).toUpperCase()}` });
  }
  const room = node.model.flash.freeSketchSpace ?? defaultFreeSketchSpace(node.model.flash.flashChipSize);
  if (image.imageBytes > room) {
    return sendJson(res, 500, { status: 'FAIL', message: `Update error: Not Enough Space (${image.imageBytes} bytes, ${room} free)` });
  }
  if (failure === 'refuse') {
    return sendJson(res, 500, { status: 'FAIL', message: 'Update error: flash write failed (injected fault)' });
  }
  node.flashedVersions.push(image.version);
  // Like SPORE's firmware, reboot once the answer is sent — or at once when the client is already
  // gone: a complete image is flashed either way, whether or not anyone hears the answer.
  const reboot = (): void => {
    void node.reboot({
      never: failure === 'never-return',
      version: failure === 'old-version' ? null : image.version,
    });
  };
  if (req.socket.destroyed || res.destroyed) setImmediate(reboot);
  else res.once('close', reboot);
  sendJson(res, 200, { status: 'OK', message: 'Update successful, rebooting', size: image.size, ...(image.compressed ? { inflated: image.imageBytes } : {}) });
}
