/** The `zwave` connector's configuration. Schema only (config-schema.ts imports it); the implementation, zwave.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { nameSchema } from '../names.js';
import { ALWAYS, channelObject, deviceObject } from '../schema-util.js';

const channelSchema = channelObject({
  /** A command class by name ("Binary Switch", "Multilevel Sensor") or number (0x25 = 37). */
  commandClass: z.union([z.string().min(1), z.number().int().min(0).max(0xffff)], { error: 'commandClass is required: a name like "Binary Switch" or a number like 37' }),
  endpoint: z.number().int().min(0).max(127).default(0),
  /** The value's property, e.g. currentValue, or "Air temperature" for a Multilevel Sensor. */
  property: z.union([z.string().min(1), z.number().int()], { error: 'property is required, e.g. currentValue' }),
  propertyKey: z.union([z.string().min(1), z.number().int()]).optional(),
  /** The property written by /api/devices/{id}/write when it differs from the read one (Binary Switch: targetValue). */
  writeProperty: z.union([z.string().min(1), z.number().int()]).optional(),
  writable: z.boolean().optional(),
});

const deviceSchema = deviceObject(
  {
    node: z.number({ error: 'node is required: the Z-Wave node id (2-232)' }).int().min(2).max(4000),
    /** ms between two polls (refreshes) of this device's values, for devices that only answer polls; 0: listen only. */
    pollMs: z.number().int().min(0).default(0),
  },
  channelSchema,
);

const key = z.string().regex(/^[0-9a-fA-F]{32}$/, 'a security key is 16 bytes as 32 hex digits');

export const zwaveConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('zwave'),
    /** A serial port path (/dev/ttyACM0, /dev/serial/by-id/…) or tcp://host:port (ser2net, a remote stick). */
    port: z.string({ error: 'port is required: a serial port like /dev/ttyACM0 or tcp://host:port' }).regex(/^(\/|tcp:\/\/[^/\s]+:\d+$|COM\d+$)/, 'port must be a device path (/dev/ttyACM0) or tcp://host:port'),
    securityKeys: z.object({ S2_Unauthenticated: key, S2_Authenticated: key, S2_AccessControl: key, S0_Legacy: key }).partial().strict().default({}),
    reconnect: z
      .object({ initialMs: z.number().int().min(10).default(1000), maxMs: z.number().int().min(10).default(30_000) })
      .strict()
      .prefault({}),
    /** ms to wait for the driver to be ready (the controller answering) before starting over. */
    startTimeoutMs: z.number().int().min(1000).default(60_000),
    devices: z.array(deviceSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const nodes = new Map<number, number>();
    (Array.isArray(c.devices) ? c.devices : []).forEach((d, i) => {
      if (typeof d?.node !== 'number') return;
      if (nodes.has(d.node)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'node'], message: `node ${d.node} is already devices[${nodes.get(d.node)}]` });
      else nodes.set(d.node, i);
    });
  }, ALWAYS);

export type ZwaveConfig = z.infer<typeof zwaveConnectorSchema>;
