/**
 * The simulated hardware state of one SPORE node: what its HTTP API reports
 * (CONTRACT §3, seed 002) — resources with realistic jitter, the task
 * scheduler's tasks, and the two capabilities the emulator offers (an LED
 * strip and a relay).
 */
import type { ApiEndpoint, TaskInfo } from '../src/protocol/types.js';

/** The SDK string real SPORE nodes report (seed 002). */
export const SDK_VERSION = '2.2.2-dev(38a443e)';
export const FLASH_CHIP_SIZE = 1_048_576; // bytes: ESP-01 / ESP-01S (seed 002)
/** The running sketch an emulated node pretends to hold, bytes: what its free OTA room is computed from. */
export const SKETCH_BYTES = 460 * 1024;

/**
 * `ESP.getFreeSketchSpace()` of a node with this flash: 1 MB boards (layout 1M,
 * 64 KB FS) have a 940 KiB sketch area, so 480 KiB free next to a 460 KiB
 * sketch; bigger boards half their flash less the sketch.
 */
export function defaultFreeSketchSpace(flashChipSize: number): number {
  const area = flashChipSize <= FLASH_CHIP_SIZE ? flashChipSize - 84 * 1024 : flashChipSize / 2;
  return Math.max(0, area - SKETCH_BYTES);
}

/** A node's flash as its status reports it. */
export interface FlashSpec {
  flashChipSize: number;
  /** Reported as `freeSketchSpace`; null: not reported (older firmware), the gateway computes it. */
  freeSketchSpace: number | null;
}

/** The endpoints every emulated node registers, as its `api` array lists them. */
export const NODE_API: ApiEndpoint[] = [
  { uri: '/api/node/status', method: 'GET' },
  { uri: '/api/node/update', method: 'POST', params: [{ name: 'file', location: 'body', type: 'file', required: true }] },
  { uri: '/api/node/restart', method: 'POST' },
  { uri: '/api/cluster/members', method: 'GET' },
  { uri: '/api/tasks/status', method: 'GET' },
  {
    uri: '/api/tasks/control',
    method: 'POST',
    params: [
      { name: 'task', location: 'body', type: 'string', required: true },
      { name: 'action', location: 'body', type: 'string', required: true, values: ['enable', 'disable', 'start', 'stop', 'status'] },
    ],
  },
  { uri: '/api/led', method: 'GET' },
  {
    uri: '/api/led',
    method: 'POST',
    params: [
      { name: 'color', location: 'body', type: 'string', required: false },
      { name: 'brightness', location: 'body', type: 'number', required: false },
    ],
  },
  { uri: '/api/relay', method: 'GET' },
  { uri: '/api/relay', method: 'POST', params: [{ name: 'state', location: 'body', type: 'string', required: true, values: ['on', 'off', 'toggle'] }] },
];

/** The background tasks of SPORE's scheduler and their intervals, ms (seed 002 "Task Scheduling"). */
const DEFAULT_TASKS: ReadonlyArray<{ name: string; interval: number }> = [
  { name: 'discovery_send', interval: 1000 },
  { name: 'discovery_listen', interval: 100 },
  { name: 'status_update', interval: 1000 },
  { name: 'heartbeat', interval: 2000 },
  { name: 'member_info', interval: 10_000 },
  { name: 'debug_output', interval: 5000 },
];

export interface LedState {
  color: string;
  brightness: number;
  on: boolean;
}

/** A small seeded PRNG (mulberry32) so a node's jitter is reproducible per index. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class NodeModel {
  readonly chipId: number;
  readonly cpuFreqMHz: number;
  readonly tasks: TaskInfo[];
  led: LedState = { color: '#000000', brightness: 0, on: false };
  relay: 'on' | 'off' = 'off';
  private heapBaseline: number;
  private heap: number;
  private readonly random: () => number;

  constructor(
    index: number,
    readonly flash: FlashSpec = { flashChipSize: FLASH_CHIP_SIZE, freeSketchSpace: defaultFreeSketchSpace(FLASH_CHIP_SIZE) },
  ) {
    this.random = seededRandom(0x5b0e + index * 7919);
    this.chipId = 0x100000 + ((index * 2654435761) >>> 0) % 0xefffff;
    this.cpuFreqMHz = index % 4 === 3 ? 160 : 80;
    this.heapBaseline = 28_000 + Math.floor(this.random() * 16_000); // bytes; ESP8266 sketches keep 25-45 kB free
    this.heap = this.heapBaseline;
    this.tasks = DEFAULT_TASKS.map((t) => ({ name: t.name, interval: t.interval, enabled: true, running: true, autoStart: true }));
  }

  /** Free heap drifts like a real sketch's: small random walk, pulled back to its baseline. */
  freeHeap(): number {
    const step = Math.round((this.random() - 0.5) * 800);
    this.heap += step + Math.round((this.heapBaseline - this.heap) * 0.2);
    return Math.max(4096, this.heap);
  }

  /** A latency in [min, max] ms. */
  jitter(range: { min: number; max: number }): number {
    return range.min + this.random() * Math.max(0, range.max - range.min);
  }

  resources(): Record<string, unknown> {
    return {
      freeHeap: this.freeHeap(),
      chipId: this.chipId,
      sdkVersion: SDK_VERSION,
      cpuFreqMHz: this.cpuFreqMHz,
      flashChipSize: this.flash.flashChipSize,
      ...(this.flash.freeSketchSpace !== null ? { freeSketchSpace: this.flash.freeSketchSpace } : {}),
    };
  }

  task(name: string): TaskInfo | undefined {
    return this.tasks.find((t) => t.name === name);
  }

  /** After a reboot, every task is back to its auto-start state. */
  resetTasks(): void {
    for (const t of this.tasks) {
      t.enabled = t.autoStart;
      t.running = t.autoStart;
    }
    this.heap = this.heapBaseline;
  }
}
