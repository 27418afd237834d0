import type { z } from 'zod';
import type { Identity, Requirement } from '../../auth/api-keys.js';
import { isGatewayError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/**
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over the gateway's
 * services, at `POST /rpc` and over the WebSocket. Methods are adapters like
 * routes: they validate their params with a zod schema and call a service.
 */

export const RPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** A service refused the call (a GatewayError); `data` carries its code and HTTP status. */
  serverError: -32000,
  /** No valid API key (HTTP 401 on `POST /rpc`). */
  unauthorized: -32001,
  /** A valid key whose scope is too small (HTTP 403 on `POST /rpc`). */
  forbidden: -32003,
} as const;

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcResponse {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: unknown;
  error?: RpcError;
}

export interface RpcContext {
  identity: Identity | null;
  /** False when the gateway has no API keys: every method is open. */
  authEnabled: boolean;
}

export interface RpcMethod<P = unknown> {
  description: string;
  /** Scope needed when API keys are configured (issue 7: JSON-RPC needs an admin key). */
  requires: Requirement;
  params: z.ZodType<P>;
  handler: (params: P, context: RpcContext) => Promise<unknown> | unknown;
}

/** A method as the server keeps it (its params type checked where it was made: `adminMethod`). */
export type RegisteredMethod = RpcMethod<never>;

/**
 * A method that needs an admin key when keys are configured (issue 7: every JSON-RPC method does
 * today). The params schema types the handler's params.
 */
export function adminMethod<P>(description: string, params: z.ZodType<P>, handler: RpcMethod<P>['handler']): RegisteredMethod {
  return { description, requires: 'admin', params, handler } as unknown as RegisteredMethod;
}

/** Largest batch served, calls: one request must not monopolise the gateway. */
const MAX_BATCH = 100;
/**
 * Largest batch answer, bytes of JSON: 100 × `cluster.nodes` of a large
 * registry answered 384 MB. Calls run one after the other; once the answers
 * reach this, the rest of the batch is answered with an error and not run.
 */
export const MAX_BATCH_ANSWER_BYTES = 8 * 1024 * 1024;

const response = (id: RpcResponse['id'], body: { result: unknown } | { error: RpcError }): RpcResponse => ({ jsonrpc: '2.0', id, ...body });

export function rpcError(id: RpcResponse['id'], code: number, message: string, data?: unknown): RpcResponse {
  return response(id, { error: { code, message, ...(data === undefined ? {} : { data }) } });
}

function validId(id: unknown): id is string | number | null {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

export class JsonRpcServer {
  private readonly methods = new Map<string, RpcMethod<never>>();

  constructor(private readonly logger: Logger) {}

  register<P>(name: string, method: RpcMethod<P>): void {
    this.methods.set(name, method as unknown as RpcMethod<never>);
  }

  /** A table of methods by name (each file of `api/rpc/` registers one). */
  registerAll(methods: Record<string, RegisteredMethod>): void {
    for (const [name, method] of Object.entries(methods)) this.methods.set(name, method);
  }

  /** Registered methods, for documentation. */
  list(): Array<{ name: string; description: string; requires: Requirement; params: z.ZodType }> {
    return [...this.methods].map(([name, m]) => ({ name, description: m.description, requires: m.requires, params: m.params }));
  }

  /**
   * Handles one JSON-RPC payload (text as received). Returns the response,
   * an array for a batch, or null when there is nothing to answer
   * (notifications only).
   */
  async handleText(text: string, context: RpcContext): Promise<RpcResponse | RpcResponse[] | null> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return rpcError(null, RPC_ERRORS.parseError, 'Parse error: the body is not valid JSON');
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0) return rpcError(null, RPC_ERRORS.invalidRequest, 'Invalid Request: empty batch');
      if (payload.length > MAX_BATCH) return rpcError(null, RPC_ERRORS.invalidRequest, `Invalid Request: a batch may hold at most ${MAX_BATCH} calls`);
      const present: RpcResponse[] = [];
      let bytes = 2;
      for (const call of payload) {
        if (bytes > MAX_BATCH_ANSWER_BYTES) {
          const id = typeof call === 'object' && call !== null && 'id' in call && validId((call as { id: unknown }).id) ? (call as { id: RpcResponse['id'] }).id : null;
          if (typeof call === 'object' && call !== null && !('id' in call)) continue; // a notification gets no answer
          present.push(rpcError(id, RPC_ERRORS.serverError, `Batch answer too large: the answers reached ${MAX_BATCH_ANSWER_BYTES} bytes; this call was not run, send it in another request`, { error: 'payload_too_large', status: 413 }));
          continue;
        }
        const answer = await this.handleCall(call, context);
        if (answer === null) continue;
        bytes += JSON.stringify(answer).length + 1;
        present.push(answer);
      }
      return present.length ? present : null;
    }
    return this.handleCall(payload, context);
  }

  private async handleCall(call: unknown, context: RpcContext): Promise<RpcResponse | null> {
    if (typeof call !== 'object' || call === null || Array.isArray(call)) {
      return rpcError(null, RPC_ERRORS.invalidRequest, 'Invalid Request: expected an object {"jsonrpc":"2.0","method","params","id"}');
    }
    const { jsonrpc, method, params, id } = call as Record<string, unknown>;
    const isNotification = !('id' in call);
    const replyId = validId(id) ? id : null;
    if (jsonrpc !== '2.0' || typeof method !== 'string' || (!isNotification && !validId(id))) {
      return rpcError(replyId, RPC_ERRORS.invalidRequest, 'Invalid Request: "jsonrpc" must be "2.0", "method" a string, "id" a string, number or null');
    }
    if (params !== undefined && (typeof params !== 'object' || params === null)) {
      return rpcError(replyId, RPC_ERRORS.invalidRequest, 'Invalid Request: "params" must be an object or an array');
    }
    const answer = await this.invoke(method, params, context, replyId);
    return isNotification ? null : answer;
  }

  private async invoke(name: string, params: unknown, context: RpcContext, id: RpcResponse['id']): Promise<RpcResponse> {
    const method = this.methods.get(name);
    if (!method) return rpcError(id, RPC_ERRORS.methodNotFound, `Method not found: ${name.slice(0, 64)}`, { methods: [...this.methods.keys()] });
    if (context.authEnabled && method.requires !== 'none') {
      if (!context.identity) return rpcError(id, RPC_ERRORS.unauthorized, 'Unauthorized: send an API key', { error: 'unauthorized' });
      if (method.requires === 'admin' && context.identity.scope !== 'admin') {
        return rpcError(id, RPC_ERRORS.forbidden, `Forbidden: ${name} needs an admin key`, { error: 'forbidden' });
      }
    }
    const parsed = method.params.safeParse(Array.isArray(params) ? params[0] ?? {} : params ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'params'}: ${i.message}`);
      return rpcError(id, RPC_ERRORS.invalidParams, `Invalid params: ${problems.join('; ')}`, { problems });
    }
    try {
      return response(id, { result: (await method.handler(parsed.data as never, context)) ?? null });
    } catch (err) {
      if (isGatewayError(err)) {
        return rpcError(id, RPC_ERRORS.serverError, err.message, { error: err.code, status: err.status });
      }
      this.logger.error({ err, method: name }, 'JSON-RPC method failed');
      return rpcError(id, RPC_ERRORS.internalError, 'Internal error; see the gateway log');
    }
  }
}
