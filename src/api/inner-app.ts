import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify';

/** Headers of the inner app's answer that the gateway's own reply sets itself. */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/**
 * A Fastify instance that is never listened on, built at its first use and asked through
 * `inject()` from a gateway route (issue 16 §3: what it loads stays out of start-up). The
 * gateway's own hooks (access, CORS, headers) still apply to the reply the answer is sent on.
 */
export class InnerApp {
  private app: Promise<FastifyInstance> | undefined;

  constructor(private readonly build: () => Promise<FastifyInstance>) {}

  /** The instance, built on the first call. */
  instance(): Promise<FastifyInstance> {
    return (this.app ??= this.build());
  }

  /** What the inner app answers to `req` (at `url`, by default the request's own). */
  async ask(req: FastifyRequest, url: string = req.url): Promise<LightMyRequestResponse> {
    return (await this.instance()).inject({ method: req.method as 'GET', url, headers: req.headers });
  }
}

/** Sends the inner app's answer on the gateway's reply: status, its headers, the bytes. */
export function sendAnswer(reply: FastifyReply, res: LightMyRequestResponse): FastifyReply {
  for (const [name, value] of Object.entries(res.headers)) if (!HOP_HEADERS.has(name) && value !== undefined) reply.header(name, value);
  return reply.code(res.statusCode).send(res.rawPayload);
}
