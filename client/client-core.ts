// What every client (Producer, PullConsumer, Admin) shares: its endpoints, one connection per
// broker address, topic routes with a cache, and heartbeats. Runtimes differ only in the
// WebSocket constructor (see websocket-class.ts).
import { BrokerError, type Credentials, ErrorCode, type Push } from "../protocol/mod.ts";
import { nanoid } from "nanoid";
import { dialableAddress, normalizeEndpoints } from "./endpoints.ts";
import { type BrokerRoute, type TopicRoute, TopicPublishInfo } from "./topic-route.ts";
import { type Reply, Transport } from "./transport.ts";
import { resolveWebSocket, type TlsClientOptions, type WebSocketConstructor } from "./websocket-class.ts";
import { ClientEmitter, type ClientEvents, type ConnectionEvent, type Listener } from "./events.ts";
import { type ClientLog, clientLog, type Logger, type LogLevel, why } from "./client-log.ts";
import { optionNames, refuseUnknown } from "./options-check.ts";

export interface ReconnectOptions {
  /** The wait after a first failed attempt to connect. Default 100 ms. */
  initialDelayMs?: number;
  /** The wait doubles per failed attempt up to this. Default 5000 ms. */
  maxDelayMs?: number;
  /** Each wait is shortened at random by up to this fraction of it, so that the clients of a restarted broker do not all redial at once. 0..1, default 0.5. */
  jitter?: number;
}

export interface ClientOptions {
  /** One or more brokers or name servers: "host:port", "ws://host:port[/ws]", or a list (also "a:1;b:2"). */
  endpoints: string | string[];
  /** Time a request may take (a long-polling pull gets its poll time on top). Default 3000 ms. */
  requestTimeoutMs?: number;
  /** Another WebSocket implementation; by default the platform's, or `ws` on Node 20. */
  WebSocket?: WebSocketConstructor;
  /** This client's id in heartbeats; a random one by default. */
  clientId?: string;
  /** Where log lines go. Default: the console. */
  logger?: Logger;
  /** The least severe level logged: "debug", "info", "warn" (default), "error" or "silent". */
  logLevel?: LogLevel;
  /** How a lost connection is dialed again. */
  reconnect?: ReconnectOptions;
  /** An access key and secret key to sign in with, for brokers with --auth on (docs/SECURITY.md). */
  credentials?: Credentials;
  /** wss:// on Node and Deno: CAs to trust, a client certificate (docs/SECURITY.md). */
  tls?: TlsClientOptions;
}

export const CLIENT_OPTIONS = optionNames<ClientOptions>({ endpoints: true, requestTimeoutMs: true, WebSocket: true, clientId: true, logger: true, logLevel: true, reconnect: true, credentials: true, tls: true });

/** Routes are refreshed this often, as RocketMQ clients do. */
export const ROUTE_TTL_MS = 30_000;
/** A topic found missing is asked about again after this long. */
const MISSING_ROUTE_TTL_MS = 1_000;
export const HEARTBEAT_INTERVAL_MS = 30_000;

interface CachedRoute {
  info: TopicPublishInfo | null; // null: TOPIC_NOT_FOUND
  at: number;
  /** The route of a topic not created yet (the brokers that will create it): asked again soon. */
  provisional?: boolean;
}

export class ClientCore {
  readonly endpoints: string[];
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly log: ClientLog;
  readonly events: ClientEmitter;
  private readonly reconnect: Required<ReconnectOptions>;
  private readonly webSocket: Promise<WebSocketConstructor>;
  private readonly credentials: Credentials | undefined;
  private readonly transports = new Map<string, Transport>();
  private readonly routes = new Map<string, CachedRoute>();
  private readonly routeFetches = new Map<string, Promise<TopicPublishInfo | null>>();
  private current = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** What each heartbeat says, once started. */
  private heartbeatArgs: Record<string, unknown> | undefined;
  private closed = false;
  /** Broker pushes (frames without an id), with the address of the connection they came on. */
  onPush: ((push: Push, address: string) => void) | undefined;

  /** `name` prefixes the client's log lines ("Producer", "PushConsumer cg"). */
  constructor(options: ClientOptions, name = "client") {
    if (options === null || typeof options !== "object") throw new BrokerError(ErrorCode.BAD_REQUEST, "options { endpoints } are required");
    this.endpoints = normalizeEndpoints(options.endpoints);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    this.clientId = options.clientId ?? `actormq-${nanoid(12)}`;
    this.log = clientLog(options, name);
    this.events = new ClientEmitter(this.log);
    this.reconnect = reconnectSettings(options.reconnect);
    this.webSocket = options.WebSocket ? Promise.resolve(options.WebSocket) : resolveWebSocket(options.tls);
    this.credentials = options.credentials;
    this.webSocket.catch(() => {}); // reported by the first connect
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The endpoint in use: where requests without a broker of their own go. */
  get endpoint(): string {
    return this.endpoints[this.current];
  }

  /** Connects to the first endpoint that answers; rejects with the last failure if none does. */
  async connect(): Promise<void> {
    let last: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      try {
        await this.transport(this.endpoint).connect();
        return;
      } catch (e) {
        last = e;
        this.current = (this.current + 1) % this.endpoints.length;
      }
    }
    throw last;
  }

  /** The connection to one broker, created on first use. */
  transport(address: string): Transport {
    let t = this.transports.get(address);
    if (!t) {
      t = new Transport(address, {
        WebSocket: this.webSocket,
        connectTimeoutMs: this.requestTimeoutMs,
        credentials: this.credentials,
        minBackoffMs: this.reconnect.initialDelayMs,
        maxBackoffMs: this.reconnect.maxDelayMs,
        jitter: this.reconnect.jitter,
        onPush: (p) => this.onPush?.(p, address),
        onState: (e) => this.connectionChanged(e),
      });
      this.transports.set(address, t);
      // A broker first reached after start (a queue's home, from a route) hears who this is
      // before the first request on the connection: it may need to check back with us.
      if (this.heartbeatArgs) this.beat(address);
    }
    return t;
  }

  /** A request to the endpoint in use; a connection failure moves later requests to the next endpoint. */
  async request(op: string, args: Record<string, unknown>, timeoutMs = this.requestTimeoutMs, signal?: AbortSignal): Promise<Reply> {
    if (this.closed) throw new BrokerError(ErrorCode.CONNECTION_CLOSED, "the client is shut down");
    const transport = this.transport(this.endpoint);
    try {
      return await transport.request(op, args, timeoutMs, signal);
    } catch (e) {
      if (e instanceof BrokerError && e.code === ErrorCode.CONNECTION_CLOSED && !transport.isOpen && this.endpoints.length > 1) {
        if (this.endpoint === transport.url) this.current = (this.current + 1) % this.endpoints.length;
      }
      throw e;
    }
  }

  /**
   * The cached route of a topic without waiting: undefined when none is cached yet, null when
   * the topic was not found. A stale entry is returned and refreshed in the background.
   */
  cachedRoute(topic: string): TopicPublishInfo | null | undefined {
    const c = this.routes.get(topic);
    if (!c) return undefined;
    if (Date.now() - c.at > (c.info && !c.provisional ? ROUTE_TTL_MS : MISSING_ROUTE_TTL_MS)) this.fetchRoute(topic).catch(() => {});
    return c.info;
  }

  /** The route of a topic, from the cache or the broker; null when the topic does not exist. */
  route(topic: string): Promise<TopicPublishInfo | null> {
    const cached = this.cachedRoute(topic);
    return cached !== undefined ? Promise.resolve(cached) : this.fetchRoute(topic);
  }

  /** Forgets a topic's route, so the next send asks again (after a failure that says it is stale). */
  invalidateRoute(topic: string): void {
    this.routes.delete(topic);
  }

  /** Asks for a topic's route again in the background (after a failed send); the cached one serves until then. */
  refreshRoute(topic: string): void {
    if (this.closed || !this.routes.has(topic)) return;
    this.fetchRoute(topic).catch(() => {});
  }

  /**
   * A request to whichever endpoint answers: the one in use, then the next ones in turn when it
   * cannot be reached (a dead name server, or broker, is passed over). Errors the endpoint
   * answered with are final.
   */
  async requestAny(op: string, args: Record<string, unknown>): Promise<{ reply: Reply; via: string }> {
    let last: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const via = this.endpoint;
      try {
        return { reply: await this.request(op, args), via };
      } catch (e) {
        last = e;
        if (!(e instanceof BrokerError) || (e.code !== ErrorCode.CONNECTION_CLOSED && e.code !== ErrorCode.TIMEOUT)) throw e;
        if (this.endpoint === via) this.current = (this.current + 1) % this.endpoints.length;
      }
    }
    throw last;
  }

  /** A topic's route from any name server (or broker) that answers, with the endpoint that gave it; null when the topic does not exist. */
  async queryRoute(topic: string): Promise<{ route: TopicRoute; via: string } | null> {
    try {
      const { reply, via } = await this.requestAny("queryRoute", { topic });
      return { route: routeOf(topic, reply), via };
    } catch (e) {
      if (e instanceof BrokerError && e.code === ErrorCode.TOPIC_NOT_FOUND) return null;
      throw e;
    }
  }

  /** Forgets that a topic was not found: a send has just created it. */
  forgetMissingRoute(topic: string): void {
    if (this.routes.get(topic)?.info === null) this.routes.delete(topic);
  }

  private fetchRoute(topic: string): Promise<TopicPublishInfo | null> {
    let p = this.routeFetches.get(topic);
    if (p) return p;
    let provisional = false;
    // autoCreate: a name server answers a topic no broker holds with the brokers that would
    // create it on a first send (RocketMQ's TBW102 route), so sends to a new topic work in a cluster.
    p = this.requestAny("queryRoute", { topic, autoCreate: true })
      .then(
        ({ reply, via }) => {
          provisional = reply.autoCreate === true;
          const info = new TopicPublishInfo(routeOf(topic, reply), (advertised) => dialableAddress(advertised, via));
          info.autoCreate = provisional;
          return info;
        },
        (e) => {
          // Not found: the producer sends anyway and the broker creates the topic. A broker
          // without routes (UNKNOWN_OP) is treated the same: it picks the queues itself.
          if (e instanceof BrokerError && (e.code === ErrorCode.TOPIC_NOT_FOUND || e.code === ErrorCode.UNKNOWN_OP)) return null;
          throw e;
        },
      )
      .then((info) => {
        this.routes.set(topic, provisional ? { info, at: Date.now(), provisional } : { info, at: Date.now() });
        return info;
      })
      .finally(() => this.routeFetches.delete(topic));
    this.routeFetches.set(topic, p);
    return p;
  }

  /**
   * Says who this client is now and every 30 s, to the endpoint and to every broker it has a
   * connection to (RocketMQ's sendHeartbeatToAllBroker): a broker holding a transaction's half
   * message checks back only with producers of its group that heartbeat to it. A broker (or
   * name server) that does not listen is no error. Consumer-group membership is the
   * PushConsumer's own heartbeat: a PullConsumer reads the queues it names and takes no share
   * of a group's queues.
   */
  startHeartbeat(producerGroups: string[] = [], intervalMs = HEARTBEAT_INTERVAL_MS): void {
    this.heartbeatArgs = { clientId: this.clientId, producerGroups };
    const beatAll = () => {
      for (const address of new Set([this.endpoint, ...this.transports.keys()])) this.beat(address);
    };
    beatAll();
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(beatAll, intervalMs);
  }

  private beat(address: string): void {
    if (this.closed || !this.heartbeatArgs) return;
    this.transport(address).request("heartbeat", this.heartbeatArgs, this.requestTimeoutMs).then(
      () => this.log.recovered(`heartbeat ${address}`, `heartbeats to ${address} work again`),
      (e) => this.failed({ kind: "heartbeat", error: e, address }, `heartbeat ${address}`, `heartbeat to ${address} failed: ${why(e)}; the next at the heartbeat interval`),
    );
  }

  /** Listens to the client's events: "error" (every failure it meets) and "connection". */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.events.on(type, listener);
  }

  /**
   * A failure in the background: an "error" event, and a log line the first time in a row that
   * `key` fails (while the client is open; failures of a client shutting down are expected).
   */
  failed(event: ClientEvents["error"], key: string, message: string): void {
    if (this.closed) return;
    this.events.emit("error", event);
    this.log.failing(key, message);
  }

  private connectionChanged(e: ConnectionEvent): void {
    if (this.closed) return;
    this.events.emit("connection", e);
    const key = `connection ${e.address}`;
    if (e.state === "connected") this.log.recovered(key, `connected to ${e.address} again`);
    else if (e.state === "disconnected") this.log.failing(key, `connection to ${e.address} lost: ${why(e.error)}`);
    else this.log.failing(key, `cannot connect to ${e.address}: ${why(e.error)}; next attempt in ${e.delayMs} ms`);
  }

  /** Closes every connection; requests in flight fail with CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }
}

export function routeOf(topic: string, reply: Reply): TopicRoute {
  const brokers = Array.isArray(reply.brokers) ? reply.brokers : [];
  return {
    topic,
    brokers: brokers.filter((b): b is BrokerRoute =>
      b !== null && typeof b === "object" && typeof b.name === "string" && typeof b.address === "string" &&
      typeof b.queues === "number" && typeof b.perm === "number"
    ),
  };
}

function reconnectSettings(r: ReconnectOptions | undefined): Required<ReconnectOptions> {
  if (r !== undefined && (r === null || typeof r !== "object")) throw new BrokerError(ErrorCode.WRONG_TYPE, "reconnect must be { initialDelayMs, maxDelayMs, jitter }");
  if (r) refuseUnknown(r, ["initialDelayMs", "maxDelayMs", "jitter"], "reconnect");
  const initialDelayMs = r?.initialDelayMs ?? 100;
  const maxDelayMs = r?.maxDelayMs ?? 5000;
  const jitter = r?.jitter ?? 0.5;
  if (!(initialDelayMs >= 0) || !(maxDelayMs >= initialDelayMs)) throw new BrokerError(ErrorCode.BAD_REQUEST, "reconnect: 0 <= initialDelayMs <= maxDelayMs");
  if (!(jitter >= 0 && jitter <= 1)) throw new BrokerError(ErrorCode.BAD_REQUEST, "reconnect.jitter must be 0..1");
  return { initialDelayMs, maxDelayMs, jitter };
}
