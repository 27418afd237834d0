import type { FastifyError, FastifyInstance } from 'fastify';
import { GatewayError, isGatewayError, toErrorBody, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { RPC_ERRORS, rpcError } from './rpc/json-rpc.js';

/** Fastify's own error codes mapped onto the gateway's catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_FILES_LIMIT: 'bad_request',
  FST_PARTS_LIMIT: 'bad_request',
  FST_FIELDS_LIMIT: 'bad_request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
};

/** Converts anything thrown by a route into the one JSON error shape (CONTRACT §4). */
export function toGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  const e = err as FastifyError & { status?: number };
  if (e.code === 'FST_ERR_VALIDATION') return new GatewayError('bad_request', validationMessage(e));
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new GatewayError(mapped, e.message);
  // busboy's own refusals ("Multipart: Boundary not found", "Malformed part header"): the client's form is wrong.
  if (typeof e.message === 'string' && /^(Multipart: |Malformed part header|Unexpected end of multipart data)/.test(e.message)) {
    return new GatewayError('bad_request', `the multipart/form-data body cannot be read: ${e.message}; send a form with a boundary in its Content-Type`);
  }
  if (e instanceof SyntaxError) return new GatewayError('invalid_json', 'The request body is not valid JSON.');
  const status = e.statusCode ?? e.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new GatewayError('bad_request', e.message);
  return new GatewayError('internal');
}

const REQUEST_PARTS: Record<string, string> = { body: 'body field', querystring: 'query parameter', params: 'path parameter', headers: 'header' };

/**
 * A request the route's schema refused (Ajv, see api/openapi/route-doc.ts):
 * which field, what is wrong, where the shapes are documented.
 */
function validationMessage(e: FastifyError): string {
  const problem = e.validation?.[0];
  if (!problem) return e.message;
  const part = e.validationContext ?? 'body';
  const params = problem.params as Record<string, unknown>;
  // "/params/0/name" → "params[0].name"
  let path = problem.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
  let what: string;
  switch (problem.keyword) {
    case 'required':
      path = path ? `${path}.${String(params.missingProperty)}` : String(params.missingProperty);
      what = 'is required';
      break;
    case 'type':
      what = `must be of type ${String(params.type)}`;
      break;
    case 'enum':
      what = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      what = problem.message ?? 'is not accepted';
  }
  const subject = path ? `${REQUEST_PARTS[part] ?? part} "${path}"` : part === 'body' ? 'the request body' : `the ${part}`;
  return `${subject} ${what}; see the request schema at /api/docs (GET /api/openapi.json).`;
}

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err, req, reply) => {
    const gatewayError = toGatewayError(err);
    if (gatewayError.status >= 500 && gatewayError.code === 'internal') {
      logger.error({ err, method: req.method, url: req.url }, 'request failed');
    } else {
      logger.debug({ code: gatewayError.code, method: req.method, url: req.url, message: gatewayError.message }, 'request refused');
    }
    if (req.url.split('?')[0] === '/rpc') {
      // The JSON-RPC endpoint answers in JSON-RPC's shape, with the HTTP status kept (401, 403, 413…).
      const code = gatewayError.status === 401 ? RPC_ERRORS.unauthorized : gatewayError.status === 403 ? RPC_ERRORS.forbidden : RPC_ERRORS.invalidRequest;
      void reply.status(gatewayError.status).type('application/json').send(rpcError(null, code, gatewayError.message, toErrorBody(gatewayError)));
      return;
    }
    void reply.status(gatewayError.status).type('application/json').send(toErrorBody(gatewayError));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: 'not_found', message: `No route ${req.method} ${req.url.split('?')[0]}; see the API summary in the README.` });
  });
}
