import { HELP_FLAG, parsers, type FlagSpec } from '../../src/cli/parse-flags.js';
import { isValidIpv4 } from '../../src/protocol/ip.js';
import type { Parity } from '../../src/pipeline/serial/serial-line.js';

/** A serial line's settings as `<baud>-<data bits><parity N|E|O><stop bits>`, e.g. 9600-8N1. */
export interface LineSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: Parity;
  stopBits: 1 | 2;
}

export function parseLine(raw: string): LineSettings | undefined {
  const m = /^(\d{2,7})-([78])([NEO])([12])$/.exec(raw);
  if (!m || Number(m[1]) < 50 || Number(m[1]) > 4_000_000) return undefined;
  const parity = ({ N: 'none', E: 'even', O: 'odd' } as const)[m[3] as 'N' | 'E' | 'O'];
  return { baudRate: Number(m[1]), dataBits: Number(m[2]) as 7 | 8, parity, stopBits: Number(m[4]) as 1 | 2 };
}

/** A list of distinct addresses within [min, max]: `1,2,3`, `1-10`, or both (`1-4,9`). */
export function parseAddressList(min: number, max: number) {
  return (raw: string): number[] | undefined => {
    const out = new Set<number>();
    for (const part of raw.split(',')) {
      const m = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(part);
      if (!m) return undefined;
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (from < min || to > max || from > to) return undefined;
      for (let a = from; a <= to; a++) out.add(a);
    }
    return out.size > 0 ? [...out].sort((a, b) => a - b) : undefined;
  };
}

const path = (raw: string) => (raw.length > 0 && !raw.startsWith('-') ? raw : undefined);

/** Every option of `spore-fieldbus-sim` (emulator/README.md lists them; test/docs checks it). */
export const FIELDBUS_SIM_FLAGS: FlagSpec[] = [
  { name: 'rtu-serial', description: 'serve the Modbus RTU slave set on this serial device (a port, or one end of a pty pair)', accepts: 'a device path, e.g. /dev/ttyUSB0' , parse: path },
  { name: 'rtu-tcp', description: 'serve the Modbus RTU slave set on this TCP port, RTU frames with CRC (as a serial device server forwards them); 0 picks a free port', accepts: 'an integer 0-65535', parse: parsers.port(0) },
  { name: 'rtu-units', description: 'unit ids that answer (any other is silent)', accepts: 'unit ids 1-247 as a list or ranges, e.g. 1,2,3 or 1-10', parse: parseAddressList(1, 247), defaultText: '1-3' },
  { name: 'rtu-line', description: 'serial settings of -rtu-serial', accepts: '<baud>-<data bits 7|8><parity N|E|O><stop bits 1|2>, e.g. 19200-8E1', parse: parseLine, defaultText: '9600-8N1' },
  { name: 'mbus-serial', description: 'serve the M-Bus meter set on this serial device', accepts: 'a device path, e.g. /dev/ttyUSB1', parse: path },
  { name: 'mbus-tcp', description: 'serve the M-Bus meter set on this TCP port (as a serial device server forwards it); 0 picks a free port', accepts: 'an integer 0-65535', parse: parsers.port(0) },
  { name: 'mbus-addresses', description: 'primary addresses of the heat meters (secondary address 1000xxxx, xxxx = primary)', accepts: 'addresses 0-250 as a list or ranges, e.g. 5,7', parse: parseAddressList(0, 250), defaultText: '5,7' },
  { name: 'mbus-line', description: 'serial settings of -mbus-serial', accepts: '<baud>-<data bits 7|8><parity N|E|O><stop bits 1|2>, e.g. 9600-8E1', parse: parseLine, defaultText: '2400-8E1' },
  { name: 'bind', description: 'address the TCP ports listen on', accepts: 'an IPv4 address', parse: (r) => (isValidIpv4(r) ? r : undefined), defaultText: '127.0.0.1' },
  { name: 'tick-ms', description: "how often the RTU meters' values change, ms", accepts: 'an integer 10-600000', parse: parsers.integer(10, 600_000), defaultText: '1000' },
  { name: 'quiet', description: 'print nothing but errors', accepts: 'no value', boolean: true, parse: parsers.boolean },
  HELP_FLAG,
];
