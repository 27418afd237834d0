/**
 * M-Bus (EN 13757-2 link layer, EN 13757-3 application layer) frames and variable data records,
 * pure: no I/O. Shared by the gateway's mbus/mbus-tcp connectors and the emulated meters.
 *
 * Frames (EN 13757-2 §5): single character E5h (ACK); short frame 10h C A CS 16h; long frame
 * 68h L L 68h C A CI data CS 16h, L = 3 + data length, CS = sum of C..data mod 256.
 */

export const ACK = 0xe5;
export const C_SND_NKE = 0x40;
/** REQ_UD2 with FCB 0 / 1 (FCV set). */
export const C_REQ_UD2 = 0x5b;
export const C_REQ_UD2_FCB = 0x7b;
export const C_SND_UD = 0x53;
export const C_RSP_UD = 0x08;
/** CI of a selection for secondary addressing (EN 13757-3 §11). */
export const CI_SELECT = 0x52;
/** CI of a variable data response with the 12-byte long header. */
export const CI_RSP_VARIABLE = 0x72;
/** The primary address that talks to the meter selected by its secondary address. */
export const ADDRESS_SELECTED = 0xfd;
export const ADDRESS_BROADCAST = 0xff;

export type Frame =
  | { kind: 'ack' }
  | { kind: 'short'; c: number; a: number }
  | { kind: 'long'; c: number; a: number; ci: number; data: Buffer };

export class MbusFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MbusFrameError';
  }
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

export function encodeShort(c: number, a: number): Buffer {
  return Buffer.from([0x10, c, a, (c + a) & 0xff, 0x16]);
}

export function encodeLong(c: number, a: number, ci: number, data: Uint8Array): Buffer {
  if (data.length > 252) throw new RangeError(`M-Bus long frame data is at most 252 bytes, not ${data.length}`);
  const body = Buffer.concat([Buffer.from([c, a, ci]), data]);
  return Buffer.concat([Buffer.from([0x68, body.length, body.length, 0x68]), body, Buffer.from([checksum(body), 0x16])]);
}

/**
 * Finds the first complete frame in `buf`. Returns the frame (or a MbusFrameError for a frame
 * that is complete but wrong: bad checksum, bad stop byte) and how many bytes it used; bytes
 * before a start character are skipped. `undefined`: wait for more bytes.
 */
export function decodeFrame(buf: Buffer): { frame: Frame | MbusFrameError; used: number } | undefined {
  for (let i = 0; i < buf.length; i++) {
    const start = buf[i];
    if (start === ACK) return { frame: { kind: 'ack' }, used: i + 1 };
    if (start === 0x10) {
      if (buf.length < i + 5) return undefined;
      const [c, a, cs, stop] = [buf[i + 1]!, buf[i + 2]!, buf[i + 3]!, buf[i + 4]!];
      if (stop !== 0x16) return { frame: new MbusFrameError('short frame without its stop byte 16h'), used: i + 5 };
      if (((c + a) & 0xff) !== cs) return { frame: new MbusFrameError(`short frame checksum mismatch (${hex(cs)}, computed ${hex((c + a) & 0xff)})`), used: i + 5 };
      return { frame: { kind: 'short', c, a }, used: i + 5 };
    }
    if (start === 0x68) {
      if (buf.length < i + 4) return undefined;
      const l = buf[i + 1]!;
      if (buf[i + 2] !== l || buf[i + 3] !== 0x68 || l < 3) {
        // Not a frame header after all: line noise; look further.
        continue;
      }
      const total = l + 6;
      if (buf.length < i + total) return undefined;
      const body = buf.subarray(i + 4, i + 4 + l);
      const cs = buf[i + 4 + l]!;
      const used = i + total;
      if (buf[i + 5 + l] !== 0x16) return { frame: new MbusFrameError('long frame without its stop byte 16h'), used };
      if (checksum(body) !== cs) return { frame: new MbusFrameError(`long frame checksum mismatch (${hex(cs)}, computed ${hex(checksum(body))})`), used };
      return { frame: { kind: 'long', c: body[0]!, a: body[1]!, ci: body[2]!, data: Buffer.from(body.subarray(3)) }, used };
    }
  }
  return buf.length > 0 ? { frame: new MbusFrameError('noise'), used: buf.length } : undefined;
}

function hex(n: number): string {
  return `${n.toString(16).toUpperCase().padStart(2, '0')}h`;
}

// ---------------------------------------------------------------------------------------------
// Variable data structure (EN 13757-3 §6)

/** The 12-byte header of a variable data response (CI 72h). */
export interface MbusHeader {
  /** The 8-digit identification number (the secondary address), as printed on the meter. */
  id: string;
  /** Manufacturer, three letters (EN 62056-21 flag), e.g. "SPO". */
  manufacturer: string;
  version: number;
  /** Medium code: 04h heat, 07h water, 02h electricity … */
  medium: number;
  accessNumber: number;
  status: number;
}

export interface MbusRecord {
  /** Index among the data records of the response (what a channel's `record` selects). */
  index: number;
  /** What the VIF says it is: "energy", "volume", "flow temperature" … */
  quantity: string;
  /** The base unit the value is scaled to ("Wh", "m³", "W", "m³/h", "°C" …), null when none. */
  unit: string | null;
  /** The value in `unit`: the raw number times 10^exponent; dates as ISO strings. */
  value: number | string;
  /** DIF function: instantaneous, maximum, minimum, error. */
  function: 'instantaneous' | 'maximum' | 'minimum' | 'error';
  storage: number;
  tariff: number;
  subunit: number;
  /** The DIF's data coding. */
  coding: 'int' | 'bcd' | 'real' | 'date' | 'datetime' | 'text' | 'none';
}

export interface MbusResponse {
  header: MbusHeader;
  records: MbusRecord[];
}

const FUNCTIONS = ['instantaneous', 'maximum', 'minimum', 'error'] as const;

/** DIF data field (low nibble) → byte length and coding (EN 13757-3 table 4). */
const DATA_FIELD: Record<number, { length: number; coding: 'int' | 'bcd' | 'real' | 'none' | 'variable' }> = {
  0x0: { length: 0, coding: 'none' },
  0x1: { length: 1, coding: 'int' },
  0x2: { length: 2, coding: 'int' },
  0x3: { length: 3, coding: 'int' },
  0x4: { length: 4, coding: 'int' },
  0x5: { length: 4, coding: 'real' },
  0x6: { length: 6, coding: 'int' },
  0x7: { length: 8, coding: 'int' },
  0x9: { length: 1, coding: 'bcd' },
  0xa: { length: 2, coding: 'bcd' },
  0xb: { length: 3, coding: 'bcd' },
  0xc: { length: 4, coding: 'bcd' },
  0xd: { length: 0, coding: 'variable' },
  0xe: { length: 6, coding: 'bcd' },
};

interface VifMeaning {
  quantity: string;
  unit: string | null;
  /** Decimal exponent applied to the raw value (after any unit conversion factor). */
  exponent: number;
  /** Extra factor to the base unit (m³/min → m³/h: 60). */
  factor?: number;
  /** Time points and identifiers are not scaled. */
  kind?: 'date' | 'datetime' | 'id' | 'duration';
}

const DURATION_UNITS = [1, 60, 3600, 86400]; // s, min, h, days → s

/** The primary VIF table (EN 13757-3 table 10), bit 7 (extension) cleared. */
export function primaryVif(vif: number): VifMeaning | undefined {
  const n = vif & 0x07;
  const nn = vif & 0x03;
  if (vif <= 0x07) return { quantity: 'energy', unit: 'Wh', exponent: n - 3 };
  if (vif <= 0x0f) return { quantity: 'energy', unit: 'J', exponent: n };
  if (vif <= 0x17) return { quantity: 'volume', unit: 'm³', exponent: n - 6 };
  if (vif <= 0x1f) return { quantity: 'mass', unit: 'kg', exponent: n - 3 };
  if (vif <= 0x23) return { quantity: 'on time', unit: 's', exponent: 0, factor: DURATION_UNITS[nn], kind: 'duration' };
  if (vif <= 0x27) return { quantity: 'operating time', unit: 's', exponent: 0, factor: DURATION_UNITS[nn], kind: 'duration' };
  if (vif <= 0x2f) return { quantity: 'power', unit: 'W', exponent: n - 3 };
  if (vif <= 0x37) return { quantity: 'power', unit: 'J/h', exponent: n };
  if (vif <= 0x3f) return { quantity: 'volume flow', unit: 'm³/h', exponent: n - 6 };
  if (vif <= 0x47) return { quantity: 'volume flow', unit: 'm³/h', exponent: n - 7, factor: 60 };
  if (vif <= 0x4f) return { quantity: 'volume flow', unit: 'm³/h', exponent: n - 9, factor: 3600 };
  if (vif <= 0x57) return { quantity: 'mass flow', unit: 'kg/h', exponent: n - 3 };
  if (vif <= 0x5b) return { quantity: 'flow temperature', unit: '°C', exponent: nn - 3 };
  if (vif <= 0x5f) return { quantity: 'return temperature', unit: '°C', exponent: nn - 3 };
  if (vif <= 0x63) return { quantity: 'temperature difference', unit: 'K', exponent: nn - 3 };
  if (vif <= 0x67) return { quantity: 'external temperature', unit: '°C', exponent: nn - 3 };
  if (vif <= 0x6b) return { quantity: 'pressure', unit: 'bar', exponent: nn - 3 };
  if (vif === 0x6c) return { quantity: 'time point', unit: null, exponent: 0, kind: 'date' };
  if (vif === 0x6d) return { quantity: 'time point', unit: null, exponent: 0, kind: 'datetime' };
  if (vif === 0x6e) return { quantity: 'units for H.C.A.', unit: null, exponent: 0 };
  if (vif >= 0x70 && vif <= 0x73) return { quantity: 'averaging duration', unit: 's', exponent: 0, factor: DURATION_UNITS[nn], kind: 'duration' };
  if (vif >= 0x74 && vif <= 0x77) return { quantity: 'actuality duration', unit: 's', exponent: 0, factor: DURATION_UNITS[nn], kind: 'duration' };
  if (vif === 0x78) return { quantity: 'fabrication number', unit: null, exponent: 0, kind: 'id' };
  if (vif === 0x79) return { quantity: 'enhanced identification', unit: null, exponent: 0, kind: 'id' };
  if (vif === 0x7a) return { quantity: 'bus address', unit: null, exponent: 0, kind: 'id' };
  return undefined;
}

/** The main VIFE table after FDh (EN 13757-3 table 12), the electrical quantities. */
function fdVif(vife: number): VifMeaning | undefined {
  const code = vife & 0x7f;
  if (code >= 0x40 && code <= 0x4f) return { quantity: 'voltage', unit: 'V', exponent: (code & 0x0f) - 9 };
  if (code >= 0x50 && code <= 0x5f) return { quantity: 'current', unit: 'A', exponent: (code & 0x0f) - 12 };
  if (code === 0x0e) return { quantity: 'firmware version', unit: null, exponent: 0, kind: 'id' };
  if (code === 0x0c) return { quantity: 'model version', unit: null, exponent: 0, kind: 'id' };
  return undefined;
}

/** Scales to the base unit without binary noise: 12345 × 10^-3 is 12.345, not 12.344999…. */
function scale(raw: number, exponent: number, factor = 1): number {
  const v = exponent >= 0 ? raw * 10 ** exponent * factor : (raw * factor) / 10 ** -exponent;
  return Number.parseFloat(v.toPrecision(15));
}

function readInt(b: Buffer): number {
  if (b.length === 8) return Number(b.readBigInt64LE(0));
  return b.length === 0 ? 0 : b.readIntLE(0, b.length);
}

/** BCD, least significant byte first; an F in the top nibble marks a negative value (EN 13757-3 annex B). */
function readBcd(b: Buffer): number {
  let value = 0;
  let negative = false;
  for (let i = b.length - 1; i >= 0; i--) {
    let hi = b[i]! >> 4;
    const lo = b[i]! & 0x0f;
    if (i === b.length - 1 && hi === 0x0f) {
      negative = true;
      hi = 0;
    }
    if (hi > 9 || lo > 9) throw new MbusFrameError(`invalid BCD digit in ${b.toString('hex')}`);
    value = value * 100 + hi * 10 + lo;
  }
  return negative ? -value : value;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Date type G (2 bytes) → YYYY-MM-DD. */
function dateG(b: Buffer): string {
  const day = b[0]! & 0x1f;
  const month = b[1]! & 0x0f;
  const year = 2000 + (((b[0]! & 0xe0) >> 5) | ((b[1]! & 0xf0) >> 1));
  return `${year}-${pad(month)}-${pad(day)}`;
}

/** Date and time type F (4 bytes) → YYYY-MM-DDTHH:MM. */
function dateTimeF(b: Buffer): string {
  const minute = b[0]! & 0x3f;
  const hour = b[1]! & 0x1f;
  const day = b[2]! & 0x1f;
  const month = b[3]! & 0x0f;
  const year = 2000 + (((b[2]! & 0xe0) >> 5) | ((b[3]! & 0xf0) >> 1));
  return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}`;
}

function decodeHeader(d: Buffer): MbusHeader {
  const m = d.readUInt16LE(4);
  const letter = (shift: number) => String.fromCharCode(((m >> shift) & 0x1f) + 64);
  return {
    id: readBcd(d.subarray(0, 4)).toString().padStart(8, '0'),
    manufacturer: letter(10) + letter(5) + letter(0),
    version: d[6]!,
    medium: d[7]!,
    accessNumber: d[8]!,
    status: d[9]!,
  };
}

/**
 * Decodes the data of an RSP_UD with CI 72h: the header and every data record. Throws
 * MbusFrameError naming the offset for a record that runs past the end or cannot be read.
 */
export function decodeVariableData(ci: number, data: Buffer): MbusResponse {
  if (ci !== CI_RSP_VARIABLE) throw new MbusFrameError(`CI ${hex(ci)} is not a variable data response (72h)`);
  if (data.length < 12) throw new MbusFrameError(`variable data header is 12 bytes, got ${data.length}`);
  const header = decodeHeader(data);
  const records: MbusRecord[] = [];
  let i = 12;
  while (i < data.length) {
    const at = i;
    const dif = data[i++]!;
    if (dif === 0x2f) continue; // idle filler
    if (dif === 0x0f || dif === 0x1f) break; // manufacturer specific data to the end
    let storage = (dif >> 6) & 0x01;
    let tariff = 0;
    let subunit = 0;
    let ext = dif & 0x80;
    let shift = 1;
    let tshift = 0;
    while (ext) {
      if (i >= data.length) throw new MbusFrameError(`record at byte ${at}: DIFE past the end`);
      const dife = data[i++]!;
      storage |= (dife & 0x0f) << shift;
      tariff |= ((dife >> 4) & 0x03) << tshift;
      subunit |= ((dife >> 6) & 0x01) << (shift - 1) / 4;
      shift += 4;
      tshift += 2;
      ext = dife & 0x80;
    }
    if (i >= data.length) throw new MbusFrameError(`record at byte ${at}: VIF past the end`);
    const vif = data[i++]!;
    let meaning: VifMeaning | undefined;
    let vifExt = vif & 0x80;
    const code = vif & 0x7f;
    if (code === 0x7c) {
      // Plain text VIF: a length and that many characters (reversed); the unit is the text.
      const len = data[i++] ?? 0;
      const text = Buffer.from(data.subarray(i, i + len)).reverse().toString('latin1');
      i += len;
      meaning = { quantity: text, unit: text, exponent: 0 };
    } else if (code === 0x7d || code === 0x7b) {
      const vife = data[i++];
      if (vife === undefined) throw new MbusFrameError(`record at byte ${at}: VIFE past the end`);
      meaning = code === 0x7d ? fdVif(vife) : undefined;
      vifExt = vife & 0x80;
    } else {
      meaning = primaryVif(code);
    }
    // Further VIFEs (orthogonal extensions): skipped; the first VIF decides quantity and unit.
    while (vifExt) {
      if (i >= data.length) throw new MbusFrameError(`record at byte ${at}: VIFE past the end`);
      vifExt = data[i++]! & 0x80;
    }
    const field = DATA_FIELD[dif & 0x0f];
    if (!field) throw new MbusFrameError(`record at byte ${at}: DIF ${hex(dif)} has no data field we can read`);
    let length = field.length;
    let coding: MbusRecord['coding'] = field.coding === 'variable' ? 'text' : field.coding;
    if (field.coding === 'variable') {
      const lvar = data[i++];
      if (lvar === undefined || lvar > 0xbf) throw new MbusFrameError(`record at byte ${at}: variable-length data LVAR ${lvar === undefined ? 'missing' : hex(lvar)} not supported`);
      length = lvar;
    }
    if (i + length > data.length) throw new MbusFrameError(`record at byte ${at}: ${length} data bytes run past the end`);
    const raw = data.subarray(i, i + length);
    i += length;
    let value: number | string;
    if (coding === 'text') value = Buffer.from(raw).reverse().toString('latin1');
    else if (coding === 'none') value = 0;
    else if (meaning?.kind === 'date' && length === 2) {
      value = dateG(raw);
      coding = 'date';
    } else if (meaning?.kind === 'datetime' && length === 4) {
      value = dateTimeF(raw);
      coding = 'datetime';
    } else {
      const n = coding === 'real' ? raw.readFloatLE(0) : coding === 'bcd' ? readBcd(raw) : readInt(raw);
      value = meaning && meaning.kind !== 'id' ? scale(n, meaning.exponent, meaning.factor) : n;
    }
    records.push({
      index: records.length,
      quantity: meaning?.quantity ?? `VIF ${hex(vif)}`,
      unit: meaning?.unit ?? null,
      value,
      function: FUNCTIONS[(dif >> 4) & 0x03]!,
      storage,
      tariff,
      subunit,
      coding,
    });
  }
  return { header, records };
}

// ---------------------------------------------------------------------------------------------
// Encoding (the emulated meters, and tests)

export interface RecordSpec {
  /** DIF data field: 1-4, 6, 7 integers of that many bytes (6, 8), 5 real, 9-C, E BCD. */
  dif: number;
  /** The VIF byte (primary table), or [FDh, VIFE]. */
  vif: number | [number, number];
  /** The raw value (before the VIF's exponent), or a Date for time points. */
  raw: number | Date;
  storage?: number;
}

function encodeBcd(value: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let v = Math.abs(Math.round(value));
  for (let i = 0; i < bytes; i++) {
    const lo = v % 10;
    v = Math.floor(v / 10);
    const hi = v % 10;
    v = Math.floor(v / 10);
    out[i] = (hi << 4) | lo;
  }
  if (value < 0) out[bytes - 1] = (out[bytes - 1]! & 0x0f) | 0xf0;
  return out;
}

function encodeData(spec: RecordSpec): Buffer {
  const df = spec.dif & 0x0f;
  const field = DATA_FIELD[df];
  if (!field || field.coding === 'variable' || field.coding === 'none') throw new RangeError(`cannot encode DIF data field ${df}`);
  const raw = spec.raw;
  if (raw instanceof Date) {
    const y = raw.getUTCFullYear() - 2000;
    if (field.length === 2) return Buffer.from([(raw.getUTCDate() & 0x1f) | ((y & 0x07) << 5), ((raw.getUTCMonth() + 1) & 0x0f) | ((y & 0x78) << 1)]);
    return Buffer.from([raw.getUTCMinutes() & 0x3f, raw.getUTCHours() & 0x1f, (raw.getUTCDate() & 0x1f) | ((y & 0x07) << 5), ((raw.getUTCMonth() + 1) & 0x0f) | ((y & 0x78) << 1)]);
  }
  const b = Buffer.alloc(field.length);
  if (field.coding === 'real') b.writeFloatLE(raw, 0);
  else if (field.coding === 'bcd') return encodeBcd(raw, field.length);
  else if (field.length === 8) b.writeBigInt64LE(BigInt(Math.round(raw)), 0);
  else b.writeIntLE(Math.round(raw), 0, field.length);
  return b;
}

export function encodeVariableData(header: Omit<MbusHeader, 'manufacturer'> & { manufacturer: string }, records: RecordSpec[]): Buffer {
  const h = Buffer.alloc(12);
  encodeBcd(Number(header.id), 4).copy(h, 0);
  const m = header.manufacturer.toUpperCase();
  h.writeUInt16LE(((m.charCodeAt(0) - 64) << 10) | ((m.charCodeAt(1) - 64) << 5) | (m.charCodeAt(2) - 64), 4);
  h[6] = header.version;
  h[7] = header.medium;
  h[8] = header.accessNumber & 0xff;
  h[9] = header.status;
  const parts: Buffer[] = [h];
  for (const r of records) {
    const storage = r.storage ?? 0;
    const difs = [(r.dif & 0x0f) | ((storage & 1) << 6) | (storage > 1 ? 0x80 : 0)];
    if (storage > 1) difs.push((storage >> 1) & 0x0f);
    parts.push(Buffer.from(difs), Buffer.from(Array.isArray(r.vif) ? r.vif : [r.vif]), encodeData(r));
  }
  return Buffer.concat(parts);
}

/** The data of a secondary address selection: identification, then wildcards for manufacturer, version, medium. */
export function encodeSelection(id: string): Buffer {
  return Buffer.concat([encodeBcd(Number(id), 4), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
}

/** Whether a selection (CI 52h data) matches a meter; F nibbles and FFh bytes are wildcards. */
export function selectionMatches(selection: Buffer, header: { id: string; manufacturer: string; version: number; medium: number }): boolean {
  if (selection.length < 8) return false;
  const id = header.id.padStart(8, '0');
  for (let i = 0; i < 4; i++) {
    const byte = selection[i]!;
    const digitsHi = Number(id[6 - 2 * i]);
    const digitsLo = Number(id[7 - 2 * i]);
    if ((byte >> 4) !== 0x0f && byte >> 4 !== digitsHi) return false;
    if ((byte & 0x0f) !== 0x0f && (byte & 0x0f) !== digitsLo) return false;
  }
  const m = header.manufacturer.toUpperCase();
  const code = ((m.charCodeAt(0) - 64) << 10) | ((m.charCodeAt(1) - 64) << 5) | (m.charCodeAt(2) - 64);
  const sm = selection.readUInt16LE(4);
  if (sm !== 0xffff && sm !== code) return false;
  if (selection[6] !== 0xff && selection[6] !== header.version) return false;
  if (selection[7] !== 0xff && selection[7] !== header.medium) return false;
  return true;
}
