import { z } from 'zod';
import { checkedByService } from './route-doc.js';

/**
 * What clients send, written once: Fastify's Ajv validates requests with these
 * (through `documented()`), and the OpenAPI document shows them. Path and
 * query values are strings on the wire. Fields marked `checkedByService` are
 * validated by the service behind the route, which answers with the
 * contract's own error codes (CONTRACT §4: invalid_ip, invalid_uri…).
 */

const NODE_IP_ERRORS = 'a malformed address answers 400 invalid_ip, a node the gateway has not discovered 404 node_not_found';

/** A node's address; NodeAccess checks it (the gateway is not an open proxy). */
export const nodeIp = (description: string) => checkedByService(z.string().meta({ description, examples: ['192.168.1.100'] }), NODE_IP_ERRORS);

export const NodeIpParams = z.object({ ip: nodeIp("A discovered node's IPv4 address, e.g. 192.168.1.100.") });

export const OptionalNodeIpQuery = z.object({
  ip: nodeIp("A discovered node's IPv4 address; without it, the primary node answers.").optional(),
});

export const IdParams = (what: string) => z.object({ id: z.string().min(1).describe(`The ${what}'s id.`) });

export const NodeUpdateQuery = z.object({
  ip: nodeIp("The node to update: a discovered node's IPv4 address."),
  bootTimeoutSec: checkedByService(
    z.number().int().min(1).max(3600).describe('How long to wait for the node to come back on the new image, seconds (default firmware.bootTimeoutSec).'),
    'anything but an integer 1-3600 answers 400 bad_request',
  ).optional(),
});

/** CONTRACT §4 `POST /api/proxy-call`. */
export const ProxyCallBody = z.object({
  ip: nodeIp("The node to call: a discovered node's IPv4 address."),
  method: checkedByService(z.string().meta({ description: 'GET, POST, PUT, PATCH or DELETE (any case).', examples: ['GET'] }), 'any other method answers 400 invalid_method'),
  uri: checkedByService(
    z.string().meta({ description: 'An absolute path on the node (a query string may follow).', examples: ['/api/node/status'] }),
    'a scheme, a host, a "." or ".." segment, CR/LF or whitespace answers 400 invalid_uri',
  ),
  params: z
    .array(
      z.object({
        name: z.string().min(1).describe('The parameter name.'),
        value: z.unknown().optional().describe('Sent as text; objects and arrays as JSON.'),
        location: z.enum(['query', 'body']).optional().describe('Where the parameter goes: the query string, or the form-urlencoded body (default).'),
      }),
    )
    .max(100)
    .nullable()
    .optional()
    .describe('At most 100 parameters.'),
});

/** CONTRACT §4 `POST /api/cluster/event`. */
export const ClusterEventBody = z.object({
  event: z.string().min(1).max(128).meta({ description: 'The event name, sent to every known node in a CLUSTER_EVENT datagram.', examples: ['ping'] }),
  data: z.unknown().optional().describe('Any JSON value (default null).'),
});

/** CONTRACT §4 `POST /api/test/websocket`: the body is optional. */
export const TestWebSocketBody = z
  .object({ message: z.string().optional().describe('The text to broadcast (default "Test message from SPORE Gateway").') })
  .nullable();

/** `POST /api/firmware` (multipart/form-data); the firmware store checks every field. */
export const FirmwareUploadForm = checkedByService(
  z.object({
    file: z.file().describe('The image: an ESP8266 application image (first byte 0xE9) unless force=true.'),
    name: z.string().describe('1-64 characters of letters, digits, ".", "_", "-".'),
    version: z.string().describe('1-64 characters of letters, digits, ".", "_", "-", "+".'),
    labels: z.string().optional().describe('A JSON object of strings, e.g. {"board":"esp01"}.'),
    force: z.enum(['true', 'false', '1', '0']).optional().describe('Store the file even if it does not look like an ESP8266 image.'),
    signature: z.string().optional().describe('Detached ed25519 signature of the file, base64 (or a 64-byte file part); required when firmware.signing.required.'),
    dryRun: z.enum(['true', 'false', '1', '0']).optional().describe('Only check the image (every check of an upload, name and version free) and answer 200 with what would be stored; nothing is stored.'),
  }),
  '400 missing_file, invalid_name, invalid_firmware, invalid_signature or bad_request; 413 payload_too_large over the upload limit',
);

/** CONTRACT §4 `POST /api/node/update` (multipart/form-data). */
export const NodeUpdateForm = checkedByService(
  z.object({ file: z.file().describe('The firmware, streamed as is to the node (field "file", same bytes).') }),
  '400 missing_file without the field "file"; 413 payload_too_large over the upload limit',
);

export const MqttMessagesQuery = z.object({
  topic: checkedByService(
    z.string().describe('An MQTT topic filter ("+" one level, "#" the rest; URL-encode "#" as %23). Default "#".'),
    'an invalid filter answers 400 invalid_topic_filter',
  ).optional(),
  limit: checkedByService(
    z.number().int().min(1).describe('How many of the newest messages (default mqtt.retention.defaultLimit, at most mqtt.retention.maxLimit).'),
    'anything else answers 400 bad_request',
  ).optional(),
});

export const RolloutListQuery = z.object({
  status: z.string().optional().describe('Only rollouts in these statuses, comma-separated: pending, running, paused, succeeded, failed, cancelled.'),
});

/** `POST /api/devices/{id}/write`. */
export const DeviceWriteBody = z.object({
  channel: z.string().min(1).describe("The name of one of the device's writable channels."),
  value: checkedByService(
    z.union([z.number(), z.string(), z.boolean()]).describe("The value in the channel's units; the channel's transforms are inverted before the write."),
    'a value that does not fit the channel answers 400 invalid_value or not_invertible',
  ),
});

export const ConnectorScanBody = z.object({
  from: checkedByService(z.number().int().describe('First primary address (M-Bus 0-250) or unit id (Modbus 1-247) to probe.'), 'out of range answers 400 bad_request'),
  to: checkedByService(z.number().int().describe('Last address to probe (inclusive); each silent one costs the connector\'s timeoutMs.'), 'out of range answers 400 bad_request'),
});
