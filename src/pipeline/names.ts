import { z } from 'zod';

/**
 * Device, channel, connector and sink names: 1-64 of [A-Za-z0-9._-], the same rule as SPORE
 * hostnames (CONTRACT §2). Such a name is safe in an MQTT topic level (no "/", "+", "#"),
 * in a URL path segment and in a WebSocket topic `telemetry/<device>`.
 */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const NAME_RULE = '1-64 of letters, digits, ".", "_" or "-"';

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export function nameSchema(what: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${what} is required (${NAME_RULE})` : `${what} must be a string (${NAME_RULE})`) })
    .regex(NAME_PATTERN, `${what} must be ${NAME_RULE}`);
}
