#!/usr/bin/env node
/**
 * `spore-fieldbus-sim`: emulated field devices without hardware — a Modbus RTU slave set
 * (energy meters) and an M-Bus meter set (heat meters) on a serial device and/or a TCP port.
 */
import { parseCommandLine } from '../../src/cli/parse-flags.js';
import { runMain } from '../../src/cli/run-main.js';
import { FieldBusSim } from '../fieldbus/field-bus-sim.js';
import { FIELDBUS_SIM_FLAGS, type LineSettings } from './fieldbus-sim-flags.js';

const USAGE = `Usage: spore-fieldbus-sim [options]

Runs emulated Modbus RTU slaves and M-Bus meters for the gateway's modbus-rtu, modbus-rtu-tcp,
mbus and mbus-tcp connectors. Give at least one of -rtu-serial, -rtu-tcp, -mbus-serial,
-mbus-tcp. For a serial line without hardware, make a pty pair first:
  socat pty,raw,echo=0,link=/tmp/ttyV0 pty,raw,echo=0,link=/tmp/ttyV1
  spore-fieldbus-sim -rtu-serial /tmp/ttyV1      # and the gateway's modbus-rtu on /tmp/ttyV0`;

const TARGETS = ['rtu-serial', 'rtu-tcp', 'mbus-serial', 'mbus-tcp'];

async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('spore-fieldbus-sim', argv, FIELDBUS_SIM_FLAGS, USAGE);
  if (typeof values === 'number') return values;
  if (!TARGETS.some((t) => values.has(t))) {
    process.stderr.write(`spore-fieldbus-sim: nothing to serve: give at least one of ${TARGETS.map((t) => `-${t}`).join(', ')}\n`);
    return 2;
  }
  const quiet = values.get('quiet') === true;
  const say = (text: string): void => {
    if (!quiet) process.stdout.write(`spore-fieldbus-sim: ${text}\n`);
  };
  const host = (values.get('bind') as string | undefined) ?? '127.0.0.1';
  const serial = (path: string | undefined, line: LineSettings | undefined, fallback: LineSettings) => (path === undefined ? undefined : { path, ...(line ?? fallback) });
  const tcp = (port: number | undefined) => (port === undefined ? undefined : { host, port });
  const rtu = values.has('rtu-serial') || values.has('rtu-tcp');
  const mbus = values.has('mbus-serial') || values.has('mbus-tcp');
  const sim = new FieldBusSim({
    rtu: rtu
      ? {
          units: (values.get('rtu-units') as number[] | undefined) ?? [1, 2, 3],
          serial: serial(values.get('rtu-serial') as string | undefined, values.get('rtu-line') as LineSettings | undefined, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }),
          tcp: tcp(values.get('rtu-tcp') as number | undefined),
        }
      : undefined,
    mbus: mbus
      ? {
          addresses: (values.get('mbus-addresses') as number[] | undefined) ?? [5, 7],
          serial: serial(values.get('mbus-serial') as string | undefined, values.get('mbus-line') as LineSettings | undefined, { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }),
          tcp: tcp(values.get('mbus-tcp') as number | undefined),
        }
      : undefined,
    tickMs: values.get('tick-ms') as number | undefined,
    log: say,
  });
  try {
    await sim.start();
  } catch (err) {
    process.stderr.write(`spore-fieldbus-sim: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  say('ready (SIGINT or SIGTERM to stop)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sim.stop();
  return 0;
}

runMain('spore-fieldbus-sim', main, { forceExit: true });
