import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import { C_REQ_UD2_FCB, C_SND_NKE, decodeVariableData, encodeShort, MbusFrameError, type MbusRecord } from '../../protocol/mbus-codec.js';
import { interFrameDelaySchema } from '../modbus/modbus-schema.js';
import { openSerial, openTcpLine, serialShape, tcpLineShape, type OpenLine } from '../serial/serial-line.js';
import { MbusLink } from './mbus-link.js';

/**
 * The M-Bus scan of the "add a connector" flow (issue 15 §1): before a connector exists, open
 * the line it would use, find the primary addresses that answer SND_NKE with E5h, read each
 * meter once (REQ_UD2 → RSP_UD) and list its identification and records, so the user picks
 * an address and a record index for the channel. The line is closed afterwards; nothing is
 * saved. (A running connector scans its own line with POST /api/connectors/{id}/scan.)
 */

const timing = {
  /** ms to wait for each answer; an address that stays silent costs this much. */
  timeoutMs: z.number().int().min(10).max(5000).default(500),
  /** ms of silence between two exchanges (EN 13757-2: at least 11 bit times). */
  interFrameDelayMs: interFrameDelaySchema.default(50),
};

// The line settings of an mbus / mbus-tcp connector; its other keys (id, pollMs, devices) are ignored.
const lineSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('mbus'), ...serialShape({ baudRate: 2400, parity: 'even' }), ...timing }),
  z.looseObject({ type: z.literal('mbus-tcp'), ...tcpLineShape(10001), ...timing }),
]);

const surveySchema = z
  .object({
    connector: lineSchema,
    /** First and last primary address to try (0-250; 251-255 are reserved, FDh selects, FFh broadcasts). */
    from: z.number().int().min(0).max(250).default(0),
    to: z.number().int().min(0).max(250).default(250),
  })
  .strict()
  .refine((b) => b.from <= b.to, { path: ['to'], message: 'to must not be below from' });

export interface SurveyedMeter {
  address: number;
  /** The 8-digit identification number (the secondary address); null when the readout failed. */
  id: string | null;
  manufacturer: string | null;
  medium: number | null;
  records: Array<Pick<MbusRecord, 'index' | 'quantity' | 'unit' | 'value' | 'function' | 'storage'>>;
  /** Why the readout failed, when the meter acknowledged SND_NKE but its RSP_UD could not be used. */
  error: string | null;
}

export interface SurveyResult {
  from: number;
  to: number;
  meters: SurveyedMeter[];
  tookMs: number;
}

/** Lines being surveyed now (path or host:port): a second survey of one line answers 409. */
const busy = new Set<string>();

export async function surveyMbus(input: unknown): Promise<SurveyResult> {
  const parsed = surveySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
    throw Object.assign(new GatewayError('invalid_config', `invalid scan: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`), { problems });
  }
  const { connector: c, from, to } = parsed.data;
  const where = c.type === 'mbus' ? c.path : `${c.host}:${c.port}`;
  if (busy.has(where)) throw new GatewayError('conflict', `a scan of ${where} is already running`);
  busy.add(where);
  const started = Date.now();
  let line: OpenLine | undefined;
  try {
    try {
      line = c.type === 'mbus' ? await openSerial(c, Math.max(c.timeoutMs, 2000)) : await openTcpLine(c.host, c.port, Math.max(c.timeoutMs, 2000));
    } catch (err) {
      // EBUSY: a running connector holds the port; its own scan is the way then.
      throw new GatewayError('device_unavailable', `cannot open ${where}: ${(err as Error).message}${c.type === 'mbus' ? ' (a connector using this port can scan it: POST /api/connectors/{id}/scan)' : ''}`);
    }
    line.stream.on('error', () => undefined); // reported as a closed line by MbusLink
    const link = new MbusLink(line.stream);
    const ask = async (frame: Buffer, what: string) => {
      await sleep(c.interFrameDelayMs);
      return link.request(frame, c.timeoutMs, what);
    };
    const meters: SurveyedMeter[] = [];
    for (let a = from; a <= to; a++) {
      let present = false;
      try {
        present = (await ask(encodeShort(C_SND_NKE, a), `SND_NKE to ${a}`)).kind === 'ack';
      } catch (err) {
        // A garbled answer is still a meter there (two meters answering at once collide); silence is no meter.
        if (err instanceof MbusFrameError) present = true;
        else if ((err as { code?: string }).code !== 'ETIMEDOUT') throw new GatewayError('device_unavailable', `${where}: ${(err as Error).message}`);
      }
      if (present) meters.push(await readOut(ask, a));
    }
    return { from, to, meters, tookMs: Date.now() - started };
  } finally {
    line?.close();
    busy.delete(where);
  }
}

/** One REQ_UD2 (FCB set: the first after SND_NKE, EN 13757-2 §5.4) and its decoded records. */
async function readOut(ask: (frame: Buffer, what: string) => Promise<import('../../protocol/mbus-codec.js').Frame>, a: number): Promise<SurveyedMeter> {
  const meter: SurveyedMeter = { address: a, id: null, manufacturer: null, medium: null, records: [], error: null };
  try {
    const answer = await ask(encodeShort(C_REQ_UD2_FCB, a), `REQ_UD2 to ${a}`);
    if (answer.kind !== 'long') throw new MbusFrameError(`expected an RSP_UD long frame, got ${answer.kind === 'ack' ? 'E5h' : 'a short frame'}`);
    const r = decodeVariableData(answer.ci, answer.data);
    meter.id = r.header.id;
    meter.manufacturer = r.header.manufacturer;
    meter.medium = r.header.medium;
    meter.records = r.records.map(({ index, quantity, unit, value, function: fn, storage }) => ({ index, quantity, unit, value, function: fn, storage }));
  } catch (err) {
    meter.error = (err as Error).message;
  }
  return meter;
}
