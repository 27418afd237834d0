/**
 * The one error catalogue of the gateway, by HTTP status: every code with the advice shown when the
 * thrower gives no detail. Services throw `GatewayError`s with a code from here; every adapter
 * (HTTP, WebSocket, MQTT commands, CLI) maps them to its own shape in one place (HTTP:
 * `api/error-handler.ts`).
 */
const CODES_BY_STATUS = {
  400: {
    bad_request: 'The request is malformed; check the documented request shape.',
    invalid_json: 'The request body is not valid JSON.',
    invalid_ip: 'Give a node IPv4 address in dotted-quad form, e.g. 192.168.1.100.',
    invalid_uri: 'The uri must be an absolute path beginning with "/" with no scheme, host, ".." segment or CR/LF.',
    invalid_method: 'The method must be one of GET, POST, PUT, PATCH, DELETE.',
    missing_file: 'Send the firmware as multipart/form-data in the field "file".',
    invalid_firmware: 'Send an ESP8266 application image (first byte 0xE9); to store another image anyway, use force (the API field force=true).',
    invalid_name: 'Names and versions are 1-64 characters of letters, digits, ".", "_", "-" (versions also "+"), starting with a letter or digit, without "..".',
    invalid_signature: 'Send a detached ed25519 signature of the image (form field "signature") that verifies with a trusted, unrevoked key (firmware.signing).',
    invalid_rollout: 'Check the rollout request: see docs/firmware.md for the accepted fields and values.',
    channel_not_writable: 'This channel is read-only; mark it writable in the pipeline configuration.',
    invalid_value: 'The value does not fit the channel; see docs/pipeline.md for the channel types.',
    not_invertible: "The channel's transforms cannot be inverted for this value, so it cannot be written.",
    not_supported: 'This connector type does not offer this operation (browse: opcua; nodes, include, exclude: zwave).',
    invalid_topic_filter: 'Give an MQTT topic filter: levels separated by "/", "+" for one whole level, "#" only as the last level (URL-encode "#" as %23).',
    invalid_config: 'The configuration is not valid; every problem is listed with its path.',
    invalid_backup: 'Send a backup archive made by GET /api/backup (tar.gz).',
  },
  401: {
    unauthorized: 'Send a valid API key (Authorization: Bearer <key> or X-API-Key).',
  },
  403: {
    forbidden: 'This API key does not have the scope this call needs.',
  },
  404: {
    node_not_found: 'The gateway has not discovered this node; see GET /api/discovery/nodes for the known nodes.',
    not_found: 'No such resource.',
    firmware_not_found: 'No such firmware; see GET /api/firmware for the stored images.',
    rollout_not_found: 'No such rollout; see GET /api/rollouts.',
    device_not_found: 'No such pipeline device; see GET /api/devices for the known devices.',
    channel_not_found: 'The device has no such channel; see GET /api/devices/{id} for its channels.',
    connector_not_found: 'No such pipeline connector; see GET /api/pipeline/stats for the configured connectors.',
  },
  409: {
    conflict: 'The request conflicts with the current state.',
    config_read_only: 'The configuration cannot be changed here: it is managed remotely or fixed at start (docs/configuration.md).',
  },
  413: {
    payload_too_large: 'The upload exceeds the configured size limit.',
  },
  415: {
    unsupported_media_type: 'Use the documented content type.',
  },
  429: {
    busy: 'Too many requests are waiting; try again shortly.',
  },
  500: {
    internal: 'Unexpected gateway error; see the gateway log.',
  },
  502: {
    node_unreachable: 'The node did not answer; check that it is powered and on the network.',
    node_bad_response: 'The node answered with something that is not the expected JSON.',
    device_write_failed: 'The device refused or failed the write.',
    connector_request_failed: 'The connector could not carry out the request on its device or server.',
  },
  503: {
    no_active_node: 'No ACTIVE node is known; check that nodes send heartbeats to the gateway UDP port.',
    no_primary: 'No reachable primary node; check the nodes or pick one with POST /api/discovery/primary/{ip}.',
    pipeline_disabled: 'No data pipeline is configured; add a "pipeline" section to the configuration file (docs/pipeline.md).',
    device_unavailable: "The device's connector is not connected right now; retry once it is (see GET /api/pipeline/stats).",
    mqtt_disabled: 'The MQTT bridge is off; start the gateway with -mqtt <url> or -mqtt embedded.',
    history_disabled: 'History is switched off; set history.enabled: true in the configuration (docs/history.md).',
  },
  504: {
    node_timeout: 'The node did not answer in time; it may be busy or rebooting.',
  },
} as const satisfies Record<number, Record<string, string>>;

type ByStatus = typeof CODES_BY_STATUS;
export type ErrorCode = { [S in keyof ByStatus]: keyof ByStatus[S] }[keyof ByStatus];

/** Every code with its HTTP status and advice (the catalogue read by code). */
export const ERROR_CATALOGUE = Object.fromEntries(
  Object.entries(CODES_BY_STATUS).flatMap(([status, codes]) => Object.entries(codes).map(([code, message]) => [code, { status: Number(status), message }])),
) as Record<ErrorCode, { status: number; message: string }>;

/**
 * A refusal the caller may override with an option of the request (issue 12 §18): today only
 * `force` (storing an image that is not an ESP8266 application image). Each adapter says how:
 * the HTTP message names the API field, the UI its checkbox, the CLI `-force`.
 */
export type ErrorOverride = 'force';

/** How an API (HTTP, JSON-RPC) caller overrides a refusal; appended to `reason` to make `message`. */
const API_OVERRIDE_TEXT: Record<ErrorOverride, string> = { force: 'send force=true to store it anyway' };

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string;
  /** The refusal without any adapter's wording (the message names the API's way to override). */
  readonly reason: string;
  readonly override?: ErrorOverride;

  /** `detail` is shown as the error's `message`; the catalogue's text is the fallback. */
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; override?: ErrorOverride }) {
    const reason = detail ?? ERROR_CATALOGUE[code].message;
    super(options?.override ? `${reason}; ${API_OVERRIDE_TEXT[options.override]}` : reason, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.hint = ERROR_CATALOGUE[code].message;
    this.reason = reason;
    if (options?.override) this.override = options.override;
  }
}

/** The JSON body every HTTP error answer has (CONTRACT §4). */
export interface ErrorBody {
  error: string;
  message: string;
  /** `invalid_config`: every problem with its path (issue 15 §1), for the UI to show next to its field. */
  problems?: Array<{ path: string; message: string }>;
  /** A refusal an option of the request overrides (`force`): UI and CLI show `reason` with their own way to set it. */
  override?: ErrorOverride;
  reason?: string;
}

export function toErrorBody(err: GatewayError): ErrorBody {
  const problems = (err as GatewayError & { problems?: ErrorBody['problems'] }).problems;
  const body: ErrorBody = { error: err.code, message: err.message };
  if (problems) body.problems = problems;
  if (err.override) {
    body.override = err.override;
    body.reason = err.reason;
  }
  return body;
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
