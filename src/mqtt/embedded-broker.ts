import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';

export interface EmbeddedBrokerOptions {
  host: string;
  /** MQTT over TCP; 0 picks a free port. */
  port: number;
  /** MQTT over WebSocket (any path, subprotocol "mqtt"); off when undefined. */
  wsPort?: number;
  /** When both are set, clients must give them (the gateway's MQTT_USER / MQTT_PASSWORD). */
  username?: string;
  password?: string;
  /** Log every connection and publication at info (the stand-alone `npm run mqtt:broker -verbose`). */
  logTraffic?: boolean;
}

export interface EmbeddedBrokerStats {
  host: string;
  port: number;
  wsPort: number | null;
  clients: number;
  authentication: boolean;
}

/**
 * The broker built into the gateway (`-mqtt embedded`, issue 3): an
 * in-process aedes broker on TCP and, optionally, WebSocket, so the bridge
 * works on a machine with nothing installed. aedes speaks MQTT 3.1/3.1.1.
 */
export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private tcp: TcpServer | undefined;
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private boundWsPort: number | null = null;

  constructor(
    private readonly options: EmbeddedBrokerOptions,
    private readonly logger: Logger,
  ) {}

  /** The TCP port actually bound (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  get wsPort(): number | null {
    return this.boundWsPort;
  }

  /** Where the gateway's own bridge connects. */
  get localUrl(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker({
      // A subscriber that stops reading is disconnected instead of stalling delivery to everyone.
      drainTimeout: 10_000, // ms
      concurrency: 1000,
      heartbeatInterval: 60_000, // ms, $SYS heartbeat
    });
    this.broker = broker;
    const { username, password } = this.options;
    if (username !== undefined && password !== undefined) {
      broker.authenticate = (_client, user, pass, done) => {
        const ok = user === username && pass !== undefined && pass.toString() === password;
        if (ok) done(null, true);
        else {
          const err = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
          done(err as never, false);
        }
      };
    }
    broker.on('clientError', (client, err) => this.logger.debug({ clientId: client?.id, err: err.message }, 'embedded broker: client error'));
    if (this.options.logTraffic) {
      broker.on('client', (client) => this.logger.info({ clientId: client.id }, 'client connected'));
      broker.on('clientDisconnect', (client) => this.logger.info({ clientId: client.id }, 'client disconnected'));
      broker.on('publish', (packet, client) => {
        if (client) this.logger.info({ clientId: client.id, topic: packet.topic, bytes: packet.payload.length, qos: packet.qos, retain: packet.retain }, 'publish');
      });
    }
    broker.on('connectionError', (client, err) => this.logger.debug({ clientId: client?.id, err: err.message }, 'embedded broker: connection error'));

    this.tcp = createTcpServer((socket) => {
      this.track(socket);
      broker.handle(socket);
    });
    this.boundPort = await listen(this.tcp, this.options.port, this.options.host);

    if (this.options.wsPort !== undefined) {
      this.http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the "mqtt" subprotocol\n');
      });
      this.http.on('connection', (socket) => this.track(socket));
      this.wss = new WebSocketServer({
        server: this.http,
        perMessageDeflate: false,
        handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
      });
      this.wss.on('connection', (ws, req) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        broker.handle(stream, req);
      });
      this.boundWsPort = await listen(this.http, this.options.wsPort, this.options.host);
    }
    this.logger.info({ host: this.options.host, port: this.boundPort, wsPort: this.boundWsPort, authentication: username !== undefined && password !== undefined }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    if (this.wss) {
      for (const ws of this.wss.clients) ws.terminate();
      closing.push(new Promise((r) => this.wss!.close(() => r())));
    }
    for (const s of this.sockets) s.destroy();
    if (this.http) closing.push(new Promise((r) => this.http!.close(() => r())));
    if (this.tcp) closing.push(new Promise((r) => this.tcp!.close(() => r())));
    await Promise.all(closing);
    if (this.broker) await new Promise<void>((r) => this.broker!.close(() => r()));
    this.broker = undefined;
    this.tcp = undefined;
    this.http = undefined;
    this.wss = undefined;
  }

  stats(): EmbeddedBrokerStats {
    return {
      host: this.options.host,
      port: this.boundPort,
      wsPort: this.boundWsPort,
      clients: this.broker?.connectedClients ?? 0,
      authentication: this.options.username !== undefined && this.options.password !== undefined,
    };
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

function listen(server: TcpServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
