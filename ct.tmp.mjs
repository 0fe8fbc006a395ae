// protocol/codec.ts
import { Encoder } from "cbor-x";
var codec = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, int64AsNumber: true });
function encode(value) {
  return codec.encode(value);
}
function decode(bytes) {
  return codec.decode(bytes);
}

// protocol/auth.ts
var AUTH_ALGORITHM = "ACTORMQ-HMAC-SHA256";
function stringToSign(accessKey, nonce, timestamp) {
  return `${AUTH_ALGORITHM}
${accessKey}
${nonce}
${timestamp}`;
}
var encoder = new TextEncoder();
function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new Error("signing needs Web Crypto (crypto.subtle), which browsers offer only to secure contexts: https:// pages or localhost");
  }
  return s;
}
function hmacKey(secretKey, hash = "SHA-256") {
  return subtle().importKey("raw", encoder.encode(secretKey), { name: "HMAC", hash }, false, ["sign", "verify"]);
}
async function signHandshake(credentials, nonce, timestamp) {
  const key = await hmacKey(credentials.secretKey);
  const mac = await subtle().sign("HMAC", key, encoder.encode(stringToSign(credentials.accessKey, nonce, timestamp)));
  return { accessKey: credentials.accessKey, timestamp, signature: toBase64(new Uint8Array(mac)) };
}
function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

// protocol/cbor-writer.ts
var textEncoder = new TextEncoder();

// protocol/errors.ts
var ErrorCode = {
  MALFORMED_FRAME: "MALFORMED_FRAME",
  // not CBOR, or not a map
  FRAME_TOO_LARGE: "FRAME_TOO_LARGE",
  // the socket is closed with this reason
  UNKNOWN_OP: "UNKNOWN_OP",
  MISSING_FIELD: "MISSING_FIELD",
  WRONG_TYPE: "WRONG_TYPE",
  BAD_REQUEST: "BAD_REQUEST",
  // a field is present and typed right but its value is not allowed
  MESSAGE_TOO_LARGE: "MESSAGE_TOO_LARGE",
  TOPIC_NOT_FOUND: "TOPIC_NOT_FOUND",
  QUEUE_NOT_FOUND: "QUEUE_NOT_FOUND",
  NO_PERMISSION: "NO_PERMISSION",
  // the topic's perm bits, or the ACL: the message names the resource and action
  AUTH_REQUIRED: "AUTH_REQUIRED",
  // --auth on and the connection has not signed in
  AUTH_FAILED: "AUTH_FAILED",
  // unknown access key, wrong signature, stale timestamp, no challenge to answer
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
  // a configured limit; the error's "limit" field names it
  FLUSH_TIMEOUT: "FLUSH_TIMEOUT",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  // shutting down
  DISK_FULL: "DISK_FULL",
  // writes refused: the disk is above --disk-full-ratio, or a write found no space; reads go on
  STORAGE_ERROR: "STORAGE_ERROR",
  // the store could not write this message (the message says why); nothing was stored
  INVALID_RECEIPT_HANDLE: "INVALID_RECEIPT_HANDLE",
  // POP: not a receipt handle of this group, or its message is visible again
  TIMEOUT: "TIMEOUT",
  // client side: no response in time
  CONNECTION_CLOSED: "CONNECTION_CLOSED",
  // client side: the socket went away with requests in flight
  INTERNAL_ERROR: "INTERNAL_ERROR"
};
var BrokerError = class extends Error {
  /** Extra fields for the error response, e.g. where a message was stored before a FLUSH_TIMEOUT. */
  constructor(code, message, details) {
    super(message);
    this.code = code;
    this.details = details;
    this.name = "BrokerError";
  }
};

// protocol/frame.ts
var MAX_FRAME_SIZE = 16 * 1024 * 1024;

// protocol/names.ts
var MAX_GROUP_LENGTH = 255;
var NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
function checkGroupName(group, what = "group") {
  if (typeof group !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `${what} must be a string`);
  if (group.length === 0 || group.length > MAX_GROUP_LENGTH || !NAME_PATTERN.test(group)) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `${what} "${group.slice(0, 40)}${group.length > 40 ? "..." : ""}" must be 1..${MAX_GROUP_LENGTH} characters of [%|a-zA-Z0-9_-]`);
  }
  return group;
}

// protocol/topics.ts
var RETRY_PREFIX = "%RETRY%";
var DLQ_PREFIX = "%DLQ%";

// protocol/message.ts
var MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
var MAX_TOPIC_LENGTH = 127;
function checkTopicName(topic) {
  if (typeof topic !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "topic must be a string");
  const prefix = topic.startsWith(RETRY_PREFIX) ? RETRY_PREFIX : topic.startsWith(DLQ_PREFIX) ? DLQ_PREFIX : "";
  const max = prefix ? prefix.length + MAX_GROUP_LENGTH : MAX_TOPIC_LENGTH;
  if (topic.length === prefix.length || topic.length > max || !NAME_PATTERN.test(topic)) {
    const shown = `${topic.slice(0, 40)}${topic.length > 40 ? "..." : ""}`;
    throw new BrokerError(
      ErrorCode.BAD_REQUEST,
      prefix ? `topic "${shown}" must be ${prefix} and a group name of 1..${MAX_GROUP_LENGTH} characters of [%|a-zA-Z0-9_-]` : `topic "${shown}" must be 1..${MAX_TOPIC_LENGTH} characters of [%|a-zA-Z0-9_-]`
    );
  }
  return topic;
}

// protocol/properties.ts
var MessageProp = {
  /** Schedule records: the topic the message is delivered to when it is due. */
  REAL_TOPIC: "REAL_TOPIC",
  /** Schedule records: the queue of REAL_TOPIC it is delivered to (decimal text). */
  REAL_QID: "REAL_QID",
  /** Schedule records: the delay level (decimal text, 1-based). */
  DELAY: "DELAY",
  /** Schedule records: when the message is due, ms since the epoch (decimal text). */
  DELIVER_AT: "DELIVER_AT",
  /** "true" on a transactional (half) message: the broker holds it until it is committed (RocketMQ's name). */
  TRAN_MSG: "TRAN_MSG",
  /** A FIFO message's message group (RocketMQ 5's `message_group`, stored as RocketMQ's __SHARDINGKEY). */
  MESSAGE_GROUP: "__SHARDINGKEY",
  /** Retried and dead-lettered messages: the topic, id and queue they were first stored with. */
  ORIGIN_TOPIC: "ORIGIN_TOPIC",
  ORIGIN_MSG_ID: "ORIGIN_MSG_ID",
  ORIGIN_QUEUE_ID: "ORIGIN_QUEUE_ID"
};
var SCHEDULE_PROPS = [MessageProp.REAL_TOPIC, MessageProp.REAL_QID, MessageProp.DELAY, MessageProp.DELIVER_AT];

// client/client-core.ts
import { nanoid } from "nanoid";

// protocol/endpoint-url.ts
var DEFAULT_PORT = 9876;
function normalizeEndpoint(endpoint) {
  if (typeof endpoint !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "an endpoint must be a string");
  let s = endpoint.trim();
  if (/^https?:\/\//i.test(s)) s = s.replace(/^http/i, "ws");
  const bare = !/^wss?:\/\//i.test(s);
  if (bare) s = `ws://${s}`;
  let url2;
  try {
    url2 = new URL(s);
  } catch {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `endpoint "${endpoint}" is not host:port or a ws:// URL`);
  }
  if (url2.hostname === "") throw new BrokerError(ErrorCode.BAD_REQUEST, `endpoint "${endpoint}" names no host`);
  if (bare && url2.port === "") url2.port = String(DEFAULT_PORT);
  if (url2.pathname === "" || url2.pathname === "/") url2.pathname = "/ws";
  return url2.toString();
}

// client/endpoints.ts
function normalizeEndpoints(endpoints) {
  const list = (Array.isArray(endpoints) ? endpoints : [endpoints]).flatMap((e) => typeof e === "string" ? e.split(/[;,\s]+/) : [e]).filter((e) => e !== "");
  if (list.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "endpoints: give at least one broker address");
  return [...new Set(list.map(normalizeEndpoint))];
}
function dialableAddress(advertised, via) {
  try {
    const url2 = new URL(normalizeEndpoint(advertised));
    if (url2.hostname === "0.0.0.0" || url2.hostname === "[::]") url2.hostname = new URL(via).hostname;
    return url2.toString();
  } catch {
    return via;
  }
}

// client/topic-route.ts
var PERM_WRITE = 2;
var TopicPublishInfo = class {
  constructor(route, dial, start = Math.floor(Math.random() * 1024)) {
    this.route = route;
    this.queues = [];
    for (const b of route.brokers) {
      if ((b.perm & PERM_WRITE) === 0) continue;
      const address = dial(b.address);
      for (let q = 0; q < b.queues; q++) this.queues.push({ broker: b.name, address, topic: route.topic, queueId: q });
    }
    this.index = start;
  }
  /** The writable queues, broker by broker. */
  queues;
  /** A name server's auto-create route: the topic exists on no broker yet. */
  autoCreate = false;
  index;
  /** The next writable queue, round-robin; undefined when none is writable. */
  next() {
    if (this.queues.length === 0) return void 0;
    const q = this.queues[this.index % this.queues.length];
    this.index = (this.index + 1) % 1073741824;
    return q;
  }
  /** The same queue for the same key (while the queue count stays the same). */
  forKey(key) {
    if (this.queues.length === 0) return void 0;
    let h = 0;
    for (let i = 0; i < key.length; i++) h = Math.imul(h, 31) + key.charCodeAt(i) | 0;
    return this.queues[(h >>> 0) % this.queues.length];
  }
  /** A queue id the user chose: the first broker that has it (a standalone broker has them all). */
  byId(queueId) {
    return this.queues.find((q) => q.queueId === queueId);
  }
};

// client/websocket-class.ts
var OPEN = 1;
async function resolveWebSocket(tls) {
  const WS = await loadWs();
  if (WS) {
    return class extends WS {
      constructor(url2) {
        super(url2, { perMessageDeflate: false, ...tls });
      }
    };
  }
  const global = globalThis.WebSocket;
  if (typeof global === "function") return global;
  throw new BrokerError(ErrorCode.CONNECTION_CLOSED, "no WebSocket here: install the ws package, or pass options.WebSocket");
}
async function loadWs() {
  try {
    const ws = await import("ws");
    const WS = ws.default ?? ws;
    return typeof WS === "function" ? WS : null;
  } catch {
    return null;
  }
}
function frameBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data) && data.every((d) => d instanceof Uint8Array)) {
    const total = data.reduce((n, d) => n + d.length, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const d of data) {
      out.set(d, pos);
      pos += d.length;
    }
    return out;
  }
  return null;
}

// client/transport.ts
var Transport = class {
  constructor(url2, options) {
    this.url = url2;
    this.options = options;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3e3;
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5e3;
    this.jitter = options.jitter ?? 0;
  }
  socket = null;
  connecting = null;
  inFlight = /* @__PURE__ */ new Map();
  nextId = 0;
  failures = 0;
  /** When the next attempt may start (after a failure). */
  retryAt = 0;
  closed = false;
  /** The socket signing in (not yet `socket`), and how to fail its sign-in if it closes. */
  signingIn;
  connectTimeoutMs;
  minBackoffMs;
  maxBackoffMs;
  jitter;
  get isOpen() {
    return this.socket !== null && this.socket.readyState === OPEN;
  }
  /** Requests sent and not yet answered. */
  get pending() {
    return this.inFlight.size;
  }
  /** Opens the socket if it is not open; waits out the backoff after a recent failure. */
  connect() {
    return this.open().then(() => {
    });
  }
  /**
   * Sends `{ id, op, ...args }` and resolves with the response when its code is 0; rejects with
   * a BrokerError carrying the broker's code otherwise, TIMEOUT after `timeoutMs` (counted from
   * now, connecting included) or CONNECTION_CLOSED if the socket goes away first; with the
   * signal's reason when `signal` aborts first (the request may still have reached the broker).
   */
  request(op, args, timeoutMs, signal) {
    if (this.closed) return Promise.reject(closedError(this.url, "the client is shut down"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = ++this.nextId;
    let frame;
    try {
      frame = encode({ id, op, ...args });
    } catch (e) {
      return Promise.reject(new BrokerError(ErrorCode.WRONG_TYPE, `${op}: cannot encode the request: ${e.message}`));
    }
    return new Promise((resolveOnce, rejectOnce) => {
      let resolve = resolveOnce;
      let reject = rejectOnce;
      const timer = setTimeout(() => {
        if (this.inFlight.delete(id)) {
          reject(new BrokerError(ErrorCode.TIMEOUT, `${op} to ${this.url}: no response in ${timeoutMs} ms`));
        }
      }, timeoutMs);
      if (signal) {
        const abort = () => this.settle(id)?.reject(signal.reason);
        signal.addEventListener("abort", abort, { once: true });
        const done = () => signal.removeEventListener("abort", abort);
        resolve = (r) => (done(), resolveOnce(r));
        reject = (e) => (done(), rejectOnce(e));
      }
      this.inFlight.set(id, { resolve, reject, timer });
      if (this.isOpen) return this.write(id, frame);
      this.open().then(
        () => this.write(id, frame),
        (e) => this.settle(id)?.reject(e)
      );
    });
  }
  /** Closes the socket for good; requests in flight fail with CONNECTION_CLOSED. */
  close() {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    this.signingIn?.socket.close(1e3, "client shutdown");
    this.failAll(closedError(this.url, "the client is shut down"));
    if (!socket || socket.readyState > OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1e3);
      socket.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onmessage = null;
      try {
        socket.close(1e3, "client shutdown");
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
  write(id, frame) {
    if (!this.inFlight.has(id)) return;
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      this.settle(id)?.reject(closedError(this.url, "the socket closed before the request was sent"));
      return;
    }
    try {
      socket.send(frame);
    } catch (e) {
      this.settle(id)?.reject(closedError(this.url, `send failed: ${e.message}`));
    }
  }
  open() {
    if (this.closed) return Promise.reject(closedError(this.url, "the client is shut down"));
    if (this.socket && this.socket.readyState === OPEN) return Promise.resolve(this.socket);
    this.connecting ??= this.dial().finally(() => this.connecting = null);
    return this.connecting;
  }
  async dial() {
    const wait = this.retryAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.closed) throw closedError(this.url, "the client is shut down");
    try {
      const socket = await this.handshake(await this.options.WebSocket);
      if (this.options.credentials) await this.signIn(socket, this.options.credentials);
      this.socket = socket;
      const attempt = this.failures + 1;
      this.failures = 0;
      this.options.onState?.({ address: this.url, state: "connected", attempt });
      return socket;
    } catch (e) {
      const err = e instanceof BrokerError ? e : closedError(this.url, `cannot connect: ${e.message ?? e}`);
      this.failures++;
      const delay = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** (this.failures - 1)) * (1 - this.jitter * Math.random());
      this.retryAt = Date.now() + delay;
      if (!this.closed) this.options.onState?.({ address: this.url, state: "reconnecting", attempt: this.failures, delayMs: Math.round(delay), error: err });
      throw err;
    }
  }
  handshake(Ctor) {
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new Ctor(this.url);
      } catch (e) {
        return reject(closedError(this.url, `cannot connect: ${e.message}`));
      }
      socket.binaryType = "arraybuffer";
      let settled = false;
      const fail = (why2) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.onopen = socket.onclose = socket.onmessage = null;
        socket.onerror = () => {
        };
        try {
          socket.close();
        } catch {
        }
        reject(closedError(this.url, `cannot connect: ${why2}`));
      };
      const timer = setTimeout(() => fail(`no handshake in ${this.connectTimeoutMs} ms`), this.connectTimeoutMs);
      socket.onerror = () => fail("connection refused or reset");
      socket.onclose = (ev) => fail(`closed during the handshake (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.closed) {
          socket.close(1e3, "client shutdown");
          return reject(closedError(this.url, "the client is shut down"));
        }
        this.attach(socket);
        resolve(socket);
      };
    });
  }
  /** hello, then auth with the signed nonce; the socket becomes this transport's only once signed in. */
  async signIn(socket, credentials) {
    const ids = [];
    const closed = new Promise((_, reject) => this.signingIn = { socket, ids, fail: reject });
    const steps = async () => {
      const hello = await this.exchange(socket, ids, "hello", {}).catch((e) => {
        if (e instanceof BrokerError && e.code === ErrorCode.UNKNOWN_OP) return { code: 0 };
        throw e;
      });
      if (hello.auth !== true) return;
      await this.exchange(socket, ids, "auth", await signHandshake(credentials, String(hello.nonce), Date.now()));
    };
    try {
      await Promise.race([steps(), closed]);
    } catch (e) {
      try {
        socket.close(1e3, "sign-in failed");
      } catch {
      }
      throw e instanceof BrokerError ? e : closedError(this.url, `cannot sign in: ${e.message ?? e}`);
    } finally {
      for (const id of ids) this.settle(id);
      this.signingIn = void 0;
    }
  }
  exchange(socket, ids, op, args) {
    const id = ++this.nextId;
    ids.push(id);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id)?.reject(closedError(this.url, `cannot sign in: no answer to ${op} in ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      this.inFlight.set(id, { resolve, reject, timer });
      socket.send(encode({ id, op, ...args }));
    });
  }
  attach(socket) {
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => {
    };
    socket.onclose = (ev) => {
      if (this.signingIn?.socket === socket) this.signingIn.fail(closedError(this.url, `closed while signing in (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`));
      if (this.socket !== socket) return;
      this.socket = null;
      this.failures = 0;
      const err = closedError(this.url, `the socket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
      if (!this.closed) this.options.onState?.({ address: this.url, state: "disconnected", attempt: 0, error: err });
      this.failAll(err);
    };
  }
  receive(data) {
    const bytes = frameBytes(data);
    if (!bytes) return;
    let frame;
    try {
      frame = decode(bytes);
    } catch {
      return;
    }
    if (frame === null || typeof frame !== "object") return;
    const id = frame.id;
    if (typeof id !== "number") {
      this.options.onPush?.(frame);
      return;
    }
    const entry = this.settle(id);
    if (!entry) return;
    if (frame.code === 0) entry.resolve(frame);
    else entry.reject(new BrokerError(String(frame.code ?? ErrorCode.INTERNAL_ERROR), String(frame.message ?? "")));
  }
  settle(id) {
    const entry = this.inFlight.get(id);
    if (!entry) return void 0;
    this.inFlight.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }
  failAll(err) {
    const entries = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const e of entries) {
      clearTimeout(e.timer);
      e.reject(err);
    }
  }
};
function closedError(url2, why2) {
  return new BrokerError(ErrorCode.CONNECTION_CLOSED, `${url2}: ${why2}`);
}

// client/events.ts
var ClientEmitter = class {
  constructor(log) {
    this.log = log;
  }
  listeners = { error: /* @__PURE__ */ new Set(), connection: /* @__PURE__ */ new Set() };
  /** Calls `listener` with every event of `type` from now on; returns a function that stops it. */
  on(type, listener) {
    const set = this.listeners[type];
    if (!set) throw new TypeError(`no event "${String(type)}" (events: ${Object.keys(this.listeners).join(", ")})`);
    if (typeof listener !== "function") throw new TypeError("a listener must be a function");
    set.add(listener);
    return () => this.off(type, listener);
  }
  off(type, listener) {
    this.listeners[type]?.delete(listener);
  }
  emit(type, event) {
    for (const listener of this.listeners[type]) {
      try {
        listener(event);
      } catch (e) {
        this.log.error(`a "${type}" listener threw`, e);
      }
    }
  }
};

// client/client-log.ts
var RANK = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
var ClientLog = class {
  constructor(logger, level, prefix) {
    this.logger = logger;
    this.prefix = prefix;
    this.rank = RANK[level];
  }
  rank;
  /** Keys of failures logged as started and not yet as ended. */
  failingKeys = /* @__PURE__ */ new Set();
  debug(message, ...details) {
    if (this.rank <= 0) this.logger.debug(this.prefix + message, ...details);
  }
  info(message, ...details) {
    if (this.rank <= 1) this.logger.info(this.prefix + message, ...details);
  }
  warn(message, ...details) {
    if (this.rank <= 2) this.logger.warn(this.prefix + message, ...details);
  }
  error(message, ...details) {
    if (this.rank <= 3) this.logger.error(this.prefix + message, ...details);
  }
  /** A failure of something that keeps trying (`key` names it): a warning the first time in a row, debug after. */
  failing(key, message) {
    if (this.failingKeys.has(key)) return this.debug(message);
    this.failingKeys.add(key);
    this.warn(message);
  }
  /** It worked: if it was failing, say so, at the level its failure was logged. */
  recovered(key, message) {
    if (this.failingKeys.delete(key)) this.warn(message);
  }
};
function clientLog(options, name) {
  const level = options.logLevel ?? "warn";
  if (!(level in RANK)) throw new BrokerError(ErrorCode.BAD_REQUEST, `logLevel must be one of ${Object.keys(RANK).join(", ")}, not ${JSON.stringify(level)}`);
  const logger = options.logger ?? console;
  for (const m of ["debug", "info", "warn", "error"]) {
    if (typeof logger?.[m] !== "function") throw new BrokerError(ErrorCode.WRONG_TYPE, `logger must have debug, info, warn and error methods (console has them); ${m} is missing`);
  }
  return new ClientLog(logger, level, `[actormq] ${name}: `);
}
function why(e) {
  if (e instanceof Error) return e.code ? `${e.code}: ${e.message}` : e.message;
  return String(e);
}

// client/options-check.ts
function optionNames(names) {
  return Object.keys(names);
}
function refuseUnknown(options, known, what) {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new BrokerError(ErrorCode.BAD_REQUEST, `${what}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ` (options: ${known.join(", ")})`}`);
  }
}
function nearest(name, known) {
  let best;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}
function distance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

// client/client-core.ts
var CLIENT_OPTIONS = optionNames({ endpoints: true, requestTimeoutMs: true, WebSocket: true, clientId: true, logger: true, logLevel: true, reconnect: true, credentials: true, tls: true });
var ROUTE_TTL_MS = 3e4;
var MISSING_ROUTE_TTL_MS = 1e3;
var HEARTBEAT_INTERVAL_MS = 3e4;
var ClientCore = class {
  endpoints;
  clientId;
  requestTimeoutMs;
  log;
  events;
  reconnect;
  webSocket;
  credentials;
  transports = /* @__PURE__ */ new Map();
  routes = /* @__PURE__ */ new Map();
  routeFetches = /* @__PURE__ */ new Map();
  current = 0;
  heartbeatTimer;
  /** What each heartbeat says, once started. */
  heartbeatArgs;
  closed = false;
  /** Broker pushes (frames without an id), with the address of the connection they came on. */
  onPush;
  /** `name` prefixes the client's log lines ("Producer", "PushConsumer cg"). */
  constructor(options, name = "client") {
    if (options === null || typeof options !== "object") throw new BrokerError(ErrorCode.BAD_REQUEST, "options { endpoints } are required");
    this.endpoints = normalizeEndpoints(options.endpoints);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3e3;
    this.clientId = options.clientId ?? `actormq-${nanoid(12)}`;
    this.log = clientLog(options, name);
    this.events = new ClientEmitter(this.log);
    this.reconnect = reconnectSettings(options.reconnect);
    this.webSocket = options.WebSocket ? Promise.resolve(options.WebSocket) : resolveWebSocket(options.tls);
    this.credentials = options.credentials;
    this.webSocket.catch(() => {
    });
  }
  get isClosed() {
    return this.closed;
  }
  /** The endpoint in use: where requests without a broker of their own go. */
  get endpoint() {
    return this.endpoints[this.current];
  }
  /** Connects to the first endpoint that answers; rejects with the last failure if none does. */
  async connect() {
    let last;
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
  transport(address) {
    let t2 = this.transports.get(address);
    if (!t2) {
      t2 = new Transport(address, {
        WebSocket: this.webSocket,
        connectTimeoutMs: this.requestTimeoutMs,
        credentials: this.credentials,
        minBackoffMs: this.reconnect.initialDelayMs,
        maxBackoffMs: this.reconnect.maxDelayMs,
        jitter: this.reconnect.jitter,
        onPush: (p) => this.onPush?.(p, address),
        onState: (e) => this.connectionChanged(e)
      });
      this.transports.set(address, t2);
      if (this.heartbeatArgs) this.beat(address);
    }
    return t2;
  }
  /** A request to the endpoint in use; a connection failure moves later requests to the next endpoint. */
  async request(op, args, timeoutMs = this.requestTimeoutMs, signal) {
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
  cachedRoute(topic) {
    const c = this.routes.get(topic);
    if (!c) return void 0;
    if (Date.now() - c.at > (c.info && !c.provisional ? ROUTE_TTL_MS : MISSING_ROUTE_TTL_MS)) this.fetchRoute(topic).catch(() => {
    });
    return c.info;
  }
  /** The route of a topic, from the cache or the broker; null when the topic does not exist. */
  route(topic) {
    const cached = this.cachedRoute(topic);
    return cached !== void 0 ? Promise.resolve(cached) : this.fetchRoute(topic);
  }
  /** Forgets a topic's route, so the next send asks again (after a failure that says it is stale). */
  invalidateRoute(topic) {
    this.routes.delete(topic);
  }
  /** Asks for a topic's route again in the background (after a failed send); the cached one serves until then. */
  refreshRoute(topic) {
    if (this.closed || !this.routes.has(topic)) return;
    this.fetchRoute(topic).catch(() => {
    });
  }
  /**
   * A request to whichever endpoint answers: the one in use, then the next ones in turn when it
   * cannot be reached (a dead name server, or broker, is passed over). Errors the endpoint
   * answered with are final.
   */
  async requestAny(op, args) {
    let last;
    for (let i = 0; i < this.endpoints.length; i++) {
      const via = this.endpoint;
      try {
        return { reply: await this.request(op, args), via };
      } catch (e) {
        last = e;
        if (!(e instanceof BrokerError) || e.code !== ErrorCode.CONNECTION_CLOSED && e.code !== ErrorCode.TIMEOUT) throw e;
        if (this.endpoint === via) this.current = (this.current + 1) % this.endpoints.length;
      }
    }
    throw last;
  }
  /** A topic's route from any name server (or broker) that answers, with the endpoint that gave it; null when the topic does not exist. */
  async queryRoute(topic) {
    try {
      const { reply, via } = await this.requestAny("queryRoute", { topic });
      return { route: routeOf(topic, reply), via };
    } catch (e) {
      if (e instanceof BrokerError && e.code === ErrorCode.TOPIC_NOT_FOUND) return null;
      throw e;
    }
  }
  /** Forgets that a topic was not found: a send has just created it. */
  forgetMissingRoute(topic) {
    if (this.routes.get(topic)?.info === null) this.routes.delete(topic);
  }
  fetchRoute(topic) {
    let p = this.routeFetches.get(topic);
    if (p) return p;
    let provisional = false;
    p = this.requestAny("queryRoute", { topic, autoCreate: true }).then(
      ({ reply, via }) => {
        provisional = reply.autoCreate === true;
        const info = new TopicPublishInfo(routeOf(topic, reply), (advertised) => dialableAddress(advertised, via));
        info.autoCreate = provisional;
        return info;
      },
      (e) => {
        if (e instanceof BrokerError && (e.code === ErrorCode.TOPIC_NOT_FOUND || e.code === ErrorCode.UNKNOWN_OP)) return null;
        throw e;
      }
    ).then((info) => {
      this.routes.set(topic, provisional ? { info, at: Date.now(), provisional } : { info, at: Date.now() });
      return info;
    }).finally(() => this.routeFetches.delete(topic));
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
  startHeartbeat(producerGroups = [], intervalMs = HEARTBEAT_INTERVAL_MS) {
    this.heartbeatArgs = { clientId: this.clientId, producerGroups };
    const beatAll = () => {
      for (const address of /* @__PURE__ */ new Set([this.endpoint, ...this.transports.keys()])) this.beat(address);
    };
    beatAll();
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(beatAll, intervalMs);
  }
  beat(address) {
    if (this.closed || !this.heartbeatArgs) return;
    this.transport(address).request("heartbeat", this.heartbeatArgs, this.requestTimeoutMs).then(
      () => this.log.recovered(`heartbeat ${address}`, `heartbeats to ${address} work again`),
      (e) => this.failed({ kind: "heartbeat", error: e, address }, `heartbeat ${address}`, `heartbeat to ${address} failed: ${why(e)}; the next at the heartbeat interval`)
    );
  }
  /** Listens to the client's events: "error" (every failure it meets) and "connection". */
  on(type, listener) {
    return this.events.on(type, listener);
  }
  /**
   * A failure in the background: an "error" event, and a log line the first time in a row that
   * `key` fails (while the client is open; failures of a client shutting down are expected).
   */
  failed(event, key, message) {
    if (this.closed) return;
    this.events.emit("error", event);
    this.log.failing(key, message);
  }
  connectionChanged(e) {
    if (this.closed) return;
    this.events.emit("connection", e);
    const key = `connection ${e.address}`;
    if (e.state === "connected") this.log.recovered(key, `connected to ${e.address} again`);
    else if (e.state === "disconnected") this.log.failing(key, `connection to ${e.address} lost: ${why(e.error)}`);
    else this.log.failing(key, `cannot connect to ${e.address}: ${why(e.error)}; next attempt in ${e.delayMs} ms`);
  }
  /** Closes every connection; requests in flight fail with CONNECTION_CLOSED. */
  async close() {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    await Promise.all([...this.transports.values()].map((t2) => t2.close()));
  }
};
function routeOf(topic, reply) {
  const brokers = Array.isArray(reply.brokers) ? reply.brokers : [];
  return {
    topic,
    brokers: brokers.filter(
      (b) => b !== null && typeof b === "object" && typeof b.name === "string" && typeof b.address === "string" && typeof b.queues === "number" && typeof b.perm === "number"
    )
  };
}
function reconnectSettings(r) {
  if (r !== void 0 && (r === null || typeof r !== "object")) throw new BrokerError(ErrorCode.WRONG_TYPE, "reconnect must be { initialDelayMs, maxDelayMs, jitter }");
  if (r) refuseUnknown(r, ["initialDelayMs", "maxDelayMs", "jitter"], "reconnect");
  const initialDelayMs = r?.initialDelayMs ?? 100;
  const maxDelayMs = r?.maxDelayMs ?? 5e3;
  const jitter = r?.jitter ?? 0.5;
  if (!(initialDelayMs >= 0) || !(maxDelayMs >= initialDelayMs)) throw new BrokerError(ErrorCode.BAD_REQUEST, "reconnect: 0 <= initialDelayMs <= maxDelayMs");
  if (!(jitter >= 0 && jitter <= 1)) throw new BrokerError(ErrorCode.BAD_REQUEST, "reconnect.jitter must be 0..1");
  return { initialDelayMs, maxDelayMs, jitter };
}

// client/outgoing-message.ts
import { customAlphabet } from "nanoid";
var newMessageId = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 22);

// client/producer.ts
var PRODUCER_OPTIONS = [
  ...CLIENT_OPTIONS.filter((o) => o !== "requestTimeoutMs"),
  ...optionNames({
    group: true,
    sendTimeoutMs: true,
    retryTimesWhenSendFailed: true,
    maxBatchMessages: true,
    maxBatchBytes: true,
    flushSchedule: true,
    sendLatencyFaultEnable: true,
    latencyMax: true,
    notAvailableDuration: true
  })
];
var RETRYABLE = /* @__PURE__ */ new Set([ErrorCode.CONNECTION_CLOSED, ErrorCode.TIMEOUT, ErrorCode.SERVICE_UNAVAILABLE, "NOT_MASTER"]);
var STALE_ROUTE = /* @__PURE__ */ new Set([ErrorCode.TOPIC_NOT_FOUND, ErrorCode.QUEUE_NOT_FOUND, ErrorCode.NO_PERMISSION, "NOT_MASTER"]);

// client/transaction-producer.ts
var RETRYABLE2 = /* @__PURE__ */ new Set([ErrorCode.CONNECTION_CLOSED, ErrorCode.TIMEOUT, ErrorCode.SERVICE_UNAVAILABLE]);

// client/message-view.ts
function fromQueryItem(item) {
  if (!Array.isArray(item) || item.length < 8) throw malformed("a queryMessage item must be an array of 8");
  return view(item[7], item[1], item[2], item[3], item[4], item[5]);
}
function view(message, queueId, queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes) {
  if (message === null || typeof message !== "object" || Array.isArray(message) || message instanceof Uint8Array) {
    throw malformed("a stored message must be a map");
  }
  for (const n of [queueId, queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes]) {
    if (typeof n !== "number") throw malformed("message metadata must be numbers");
  }
  const m = message;
  m.queueId = queueId;
  m.queueOffset = queueOffset;
  m.commitLogOffset = commitLogOffset;
  m.storeTimestamp = storeTimestamp;
  m.reconsumeTimes = reconsumeTimes;
  return m;
}
function malformed(why2) {
  return new BrokerError(ErrorCode.MALFORMED_FRAME, `unexpected response from the broker: ${why2}`);
}

// client/consume-concurrently-service.ts
var ABANDONED = Symbol("abandoned");

// client/push-options.ts
var PUSH_OPTIONS = [
  ...CLIENT_OPTIONS,
  ...optionNames({
    group: true,
    subscriptions: true,
    model: true,
    allocate: true,
    handler: true,
    batchHandler: true,
    concurrency: true,
    batchSize: true,
    pullBatchSize: true,
    pullThresholdForQueue: true,
    pullThresholdSizeForQueue: true,
    consumeConcurrentlyMaxSpan: true,
    maxReconsumeTimes: true,
    heartbeatIntervalMs: true,
    rebalanceIntervalMs: true,
    persistOffsetIntervalMs: true,
    pollMs: true,
    consumeFrom: true,
    offsetStore: true,
    orderly: true,
    suspendCurrentQueueTimeMillis: true,
    lockIntervalMs: true,
    lockMaxLiveTimeMs: true
  })
];

// client/admin.ts
var Admin = class {
  core;
  constructor(options) {
    if (options !== null && typeof options === "object") refuseUnknown(options, CLIENT_OPTIONS, "Admin");
    this.core = new ClientCore(options, "Admin");
  }
  /** Listens to the client's events: "error" and "connection" (see ClientEvents). */
  on(type, listener) {
    return this.core.on(type, listener);
  }
  async start() {
    await this.core.connect();
  }
  /**
   * Creates a topic, or adds queues to an existing one (never removes any). Through a name
   * server it is created on every live broker, or on the ones named in `brokers`; the result's
   * `brokers` then says, per broker, what happened.
   */
  async createTopic(topic, queues, perm, brokers) {
    const args = { topic: checkTopicName(topic), queues };
    if (perm !== void 0) args.perm = perm;
    if (brokers !== void 0) args.brokers = brokers;
    const r = await this.core.request("createTopic", args);
    const out = { topic: String(r.topic), queues: Number(r.queues), perm: Number(r.perm) };
    if (Array.isArray(r.brokers)) out.brokers = r.brokers;
    return out;
  }
  /**
   * RocketMQ's deleteTopic: the topic's queues, queue actors, routes and every group's offsets of
   * it go, and its messages are never served again (retention reclaims their bytes); a topic
   * created again with the name starts afresh. Through a name server it is deleted on every
   * broker that holds it, or on the ones named in `brokers`; `brokers` then says what each did.
   */
  async deleteTopic(topic, brokers) {
    const args = { topic: checkTopicName(topic) };
    if (brokers !== void 0) args.brokers = brokers;
    const r = await this.core.request("deleteTopic", args);
    return { topic: String(r.topic), ...Array.isArray(r.brokers) ? { brokers: r.brokers } : {} };
  }
  /**
   * RocketMQ's deleteSubGroup: the group's actors, committed offsets, POP state and settings go,
   * and its %RETRY% and %DLQ% topics with them unless `keepRetryTopics`. Members still running
   * make it anew with their next heartbeat. Through a name server: on every live broker.
   */
  async deleteSubGroup(group, options = {}) {
    const args = { group: checkGroupName(group) };
    if (options.keepRetryTopics !== void 0) args.keepRetryTopics = options.keepRetryTopics;
    if (options.brokers !== void 0) args.brokers = options.brokers;
    const r = await this.core.request("deleteSubGroup", args);
    return {
      group: String(r.group),
      topicsDeleted: Array.isArray(r.topicsDeleted) ? r.topicsDeleted : [],
      ...Array.isArray(r.brokers) ? { brokers: r.brokers } : {}
    };
  }
  /** The topics; system topics too with `{ system: true }`. */
  async topicList(options = {}) {
    const r = await this.core.request("topicList", options.system ? { system: true } : {});
    return Array.isArray(r.topics) ? r.topics : [];
  }
  /** Each queue's offsets and last store time. */
  async topicStatus(topic) {
    const r = await this.core.request("topicStatus", { topic: checkTopicName(topic) });
    return { topic: String(r.topic), queues: Array.isArray(r.queues) ? r.queues : [] };
  }
  /** Messages by unique id, or by topic and business key, through the broker's IndexFile. */
  async queryMessage(query) {
    if (query === null || typeof query !== "object") throw new BrokerError(ErrorCode.WRONG_TYPE, "queryMessage takes { msgId } or { topic, key }");
    const args = {};
    if ("msgId" in query && query.msgId !== void 0) args.msgId = query.msgId;
    else if ("key" in query) {
      args.topic = checkTopicName(query.topic);
      args.key = query.key;
    } else throw new BrokerError(ErrorCode.MISSING_FIELD, "queryMessage needs msgId, or topic and key");
    if (query.max !== void 0) args.max = query.max;
    const r = await this.core.request("queryMessage", args);
    return (Array.isArray(r.msgs) ? r.msgs : []).map(fromQueryItem);
  }
  /** Per queue of every topic the group consumes: broker offset, committed offset and lag; and the members. */
  async consumerProgress(group) {
    const r = await this.core.request("consumerProgress", { group: checkGroupName(group) });
    return {
      group: String(r.group),
      totalLag: Number(r.totalLag),
      queues: Array.isArray(r.queues) ? r.queues : [],
      members: Array.isArray(r.members) ? r.members : []
    };
  }
  /**
   * Moves a group, on every queue of a topic, to the first message stored at or after
   * `timestamp` (ms since the epoch); members drop what they hold and pull from there.
   * Resolves with the new offset per queue id.
   */
  async resetOffset(group, topic, timestamp) {
    const ts = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    const r = await this.core.request("resetOffset", { group: checkGroupName(group), topic: checkTopicName(topic), timestamp: ts });
    const out = {};
    for (const [q, o] of Object.entries(r.offsets ?? {})) out[Number(q)] = o;
    return out;
  }
  /** Sets a subscription group's settings (those given; the others keep their values). Resolves with all of them. */
  async updateSubscriptionGroup(group, settings) {
    const r = await this.core.request("updateSubscriptionGroup", { ...settings, group: checkGroupName(group) });
    return { orderly: r.orderly, maxReconsumeTimes: Number(r.maxReconsumeTimes), retryPolicy: r.retryPolicy };
  }
  /** A subscription group's settings (the defaults for a group never updated). */
  async getSubscriptionGroup(group) {
    const r = await this.core.request("getSubscriptionGroup", { group: checkGroupName(group) });
    return { orderly: r.orderly, maxReconsumeTimes: Number(r.maxReconsumeTimes), retryPolicy: r.retryPolicy };
  }
  /** The brokers of the cluster; a standalone broker lists itself. */
  /** RocketMQ's deleteExpiredCommitLog: the broker runs a retention pass now. */
  async deleteExpiredCommitLog() {
    const r = await this.core.request("deleteExpiredCommitLog", {});
    return {
      deletedSegments: Number(r.deletedSegments),
      deletedBytes: Number(r.deletedBytes),
      minCommitLogOffset: Number(r.minCommitLogOffset),
      queuesTruncated: Number(r.queuesTruncated),
      heldBy: typeof r.heldBy === "string" ? r.heldBy : null,
      holdOffset: Number(r.holdOffset)
    };
  }
  async clusterList() {
    const r = await this.core.request("clusterList", {});
    return { mode: String(r.mode), brokers: Array.isArray(r.brokers) ? r.brokers : [] };
  }
  // Users and ACLs (docs/SECURITY.md): a user with ADMIN on Cluster changes the broker's ACL file.
  async createUser(user) {
    await this.core.request("createUser", { ...user });
  }
  /** Changes a user's secret key, super or disabled flag (the fields given). */
  async updateUser(user) {
    await this.core.request("updateUser", { ...user });
  }
  async deleteUser(accessKey) {
    await this.core.request("deleteUser", { accessKey });
  }
  /** The users, without their secret keys. */
  async listUsers() {
    const r = await this.core.request("listUser", {});
    return Array.isArray(r.users) ? r.users : [];
  }
  /** Adds entries to a user's ACL (an entry for a resource it already has one for is refused: use updateAcl). */
  async createAcl(user, entries) {
    await this.core.request("createAcl", { user, entries });
  }
  /** Replaces the user's entries for the resources named, adds the others. */
  async updateAcl(user, entries) {
    await this.core.request("updateAcl", { user, entries });
  }
  /** Deletes a user's entries: all, or the one for a resource. */
  async deleteAcl(user, resource) {
    await this.core.request("deleteAcl", resource === void 0 ? { user } : { user, resource });
  }
  async listAcls(user) {
    const r = await this.core.request("listAcl", user === void 0 ? {} : { user });
    return Array.isArray(r.acls) ? r.acls : [];
  }
  shutdown() {
    return this.core.close();
  }
};

// ct.tmp.ts
var url = process.argv[2];
var admin = new Admin({ endpoints: url });
await admin.start();
var core = new ClientCore({ endpoints: url });
var N = Number(process.argv[3] ?? 500);
var t = performance.now();
for (let i = 0; i < N; i++) {
  await admin.createTopic(`S${i}`, 8);
  await core.request("heartbeat", { clientId: core.clientId, consumerGroups: [{ group: `G${i}`, model: "clustering", subscriptions: { [`S${i}`]: "*" } }] });
}
console.log(`${N} pairs in ${(performance.now() - t).toFixed(0)} ms`);
await admin.shutdown();
await core.close();
