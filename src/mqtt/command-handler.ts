import { isUtf8 } from 'node:buffer';
import type { IPublishPacket } from 'mqtt';
import type { NodeAccess } from '../cluster/node-access.js';
import type { NodeRegistry } from '../cluster/node-registry.js';
import { GatewayError, isGatewayError, toErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClusterTopics } from './cluster-topics.js';
import type { QoS } from './connection.js';
import { compileFilter, isValidTopicName, topicMatches } from './topic-filter.js';

export interface CommandPublisher {
  publish(topic: string, payload: string, opts: { qos: QoS; retain: boolean; properties?: IPublishPacket['properties'] }): boolean;
}

export interface CommandHandlerOptions {
  qos: QoS;
  /** Commands run at once at most. */
  concurrency: number;
  /** Commands waiting beyond the running ones; more are refused with `busy`. */
  queueLimit: number;
  /** MQTT 5 response topics allowed besides `<prefix>/…` (`mqtt.commands.allowResponseTopics`). */
  allowResponseTopics?: string[];
}

export interface CommandStats {
  received: number;
  succeeded: number;
  /** Refused by the safety rules or malformed (an error answer was sent). */
  refused: number;
  /** The node failed (unreachable, timeout, bad answer). */
  failed: number;
  /** Retained command messages, which are never executed. */
  ignoredRetained: number;
  running: number;
  queued: number;
}

/** Largest command accepted, bytes. */
const MAX_COMMAND_BYTES = 64 * 1024;

/**
 * Commands from MQTT (issue 3): a JSON `{method, uri, params, id}` on
 * `<prefix>/nodes/<hostname>/command` becomes a proxy call through the same
 * NodeAccess safety rules as `POST /api/proxy-call`. The answer goes to
 * `<prefix>/nodes/<hostname>/command/response`, or to the MQTT 5 response
 * topic with its correlation data. Errors are the gateway's `{error, message}`.
 */
export class CommandHandler {
  private running = 0;
  private readonly queue: Array<() => Promise<void>> = [];
  private readonly counters = { received: 0, succeeded: 0, refused: 0, failed: 0, ignoredRetained: 0 };
  private readonly allowedResponse: Array<(topic: string) => boolean>;

  constructor(
    private readonly options: CommandHandlerOptions,
    private readonly topics: ClusterTopics,
    private readonly registry: NodeRegistry,
    private readonly access: NodeAccess,
    private readonly mqtt: CommandPublisher,
    private readonly logger: Logger,
  ) {
    this.allowedResponse = [compileFilter(`${topics.prefix}/#`), ...(options.allowResponseTopics ?? []).map((f) => compileFilter(f))];
  }

  stats(): CommandStats {
    return { ...this.counters, running: this.running, queued: this.queue.length };
  }

  /** Entry point for every message on the command filter. */
  handle(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const hostname = this.topics.commandHostname(topic);
    if (hostname === undefined) return;
    // A retained command would run again on every reconnection: never execute one.
    if (packet.retain) {
      this.counters.ignoredRetained++;
      this.logger.warn({ topic }, 'ignored a retained MQTT command; publish commands without the retain flag');
      return;
    }
    this.counters.received++;
    const { reply, refusal } = this.replyTarget(hostname, packet);
    let request: Record<string, unknown>;
    try {
      request = parseCommand(payload);
    } catch (err) {
      this.answerError(reply, undefined, err);
      return;
    }
    if (refusal !== undefined) {
      this.answerError(reply, request.id, refusal);
      return;
    }
    const id = request.id;
    const task = async (): Promise<void> => {
      try {
        const node = this.registry.getByHostname(hostname);
        if (!node) {
          throw new GatewayError('node_not_found', `no discovered node has hostname "${hostname.slice(0, 64)}"; see GET /api/discovery/nodes or ${this.topics.prefix}/cluster`);
        }
        const res = await this.access.proxyCall({ ip: node.ip, method: request.method, uri: request.uri, params: request.params });
        const answer: Record<string, unknown> = {};
        if (id !== undefined) answer.id = id;
        answer.status = res.status;
        answer.contentType = res.contentType ?? null;
        answer.latencyMs = res.latencyMs;
        Object.assign(answer, bodyOf(res.body, res.contentType));
        this.counters.succeeded++;
        this.send(reply, JSON.stringify(answer));
      } catch (err) {
        this.answerError(reply, id, err);
      }
    };
    if (this.running < this.options.concurrency) void this.run(task);
    else if (this.queue.length < this.options.queueLimit) this.queue.push(task);
    else this.answerError(reply, id, new GatewayError('busy', `${this.running} commands are running and ${this.queue.length} waiting; try again shortly`));
  }

  private async run(task: () => Promise<void>): Promise<void> {
    this.running++;
    try {
      await task();
    } finally {
      this.running--;
      const next = this.queue.shift();
      if (next) void this.run(next);
    }
  }

  /**
   * Where the answer goes: the MQTT 5 response topic when it is under the gateway's prefix or
   * matches `mqtt.commands.allowResponseTopics`, else `<prefix>/nodes/<hostname>/command/response`.
   * A command naming any other response topic is refused, not run (issue 12: an answer published
   * on `victim/lamp/set` would be a command to someone else), and told so on the default topic.
   */
  private replyTarget(hostname: string, packet: IPublishPacket): { reply: { topic: string; correlationData?: Buffer }; refusal?: GatewayError } {
    const props = packet.properties;
    const responseTopic = props?.responseTopic;
    const withCorrelation = (topic: string): { topic: string; correlationData?: Buffer } =>
      props?.correlationData !== undefined ? { topic, correlationData: props.correlationData } : { topic };
    const fallback = withCorrelation(this.topics.commandResponse(hostname));
    if (responseTopic === undefined) return { reply: fallback };
    // Never answer onto a command topic: that would make the gateway command itself.
    if (!isValidTopicName(responseTopic) || topicMatches(this.topics.commandFilter, responseTopic)) {
      return { reply: fallback, refusal: new GatewayError('bad_request', 'the response topic is not a topic the gateway may answer on (a wildcard, or a command topic)') };
    }
    if (!this.allowedResponse.some((allowed) => allowed(responseTopic))) {
      return {
        reply: fallback,
        refusal: new GatewayError('forbidden', `answers go under ${this.topics.prefix}/ only; the response topic "${responseTopic.slice(0, 128)}" is not listed in mqtt.commands.allowResponseTopics`),
      };
    }
    return { reply: withCorrelation(responseTopic) };
  }

  private answerError(reply: { topic: string; correlationData?: Buffer }, id: unknown, err: unknown): void {
    const gatewayError = isGatewayError(err) ? err : new GatewayError('internal');
    if (!isGatewayError(err)) this.logger.error({ err }, 'MQTT command failed unexpectedly');
    if (gatewayError.status >= 500) this.counters.failed++;
    else this.counters.refused++;
    const body: Record<string, unknown> = id !== undefined ? { id, ...toErrorBody(gatewayError) } : { ...toErrorBody(gatewayError) };
    this.logger.debug({ topic: reply.topic, error: gatewayError.code, message: gatewayError.message }, 'MQTT command answered with an error');
    this.send(reply, JSON.stringify(body));
  }

  private send(reply: { topic: string; correlationData?: Buffer }, payload: string): void {
    const opts: { qos: QoS; retain: boolean; properties?: IPublishPacket['properties'] } = { qos: this.options.qos, retain: false };
    if (reply.correlationData !== undefined) opts.properties = { correlationData: reply.correlationData, contentType: 'application/json' };
    if (!this.mqtt.publish(reply.topic, payload, opts)) {
      this.logger.warn({ topic: reply.topic }, 'could not answer an MQTT command: the broker is not connected');
    }
  }
}

/** `{method, uri, params?, id?}`; anything else is refused with a clear error. */
function parseCommand(payload: Buffer): Record<string, unknown> {
  if (payload.length > MAX_COMMAND_BYTES) throw new GatewayError('payload_too_large', `a command may be at most ${MAX_COMMAND_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new GatewayError('invalid_json', 'the command is not valid JSON; send {"method":"GET","uri":"/api/node/status","params":[]}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('bad_request', 'the command must be a JSON object {"method","uri","params","id"}');
  }
  return value as Record<string, unknown>;
}

/** The node's body: parsed JSON when it is JSON, text when UTF-8, base64 otherwise. */
function bodyOf(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (body.length === 0) return { body: null };
  if (isUtf8(body)) {
    const text = body.toString('utf8');
    if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
      try {
        return { body: JSON.parse(text) as unknown };
      } catch {
        // not JSON after all: send it as text
      }
    }
    return { body: text };
  }
  return { body: body.toString('base64'), encoding: 'base64' };
}
