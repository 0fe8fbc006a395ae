// One WebSocket connection to one broker: requests correlated with responses by id, a timeout per
// request, pushes handed to a listener, and reconnection on demand with exponential backoff and
// jitter (so the clients of a restarted broker do not all redial in the same millisecond).
// Every failure reaches the caller as a BrokerError with a code (TIMEOUT, CONNECTION_CLOSED, or
// the broker's own).
import { BrokerError, type Credentials, decode, encode, ErrorCode, type Push, signHandshake } from "../protocol/mod.ts";
import type { ConnectionEvent } from "./events.ts";
import { frameBytes, OPEN, type WebSocketConstructor, type WebSocketLike } from "./websocket-class.ts";

export interface TransportOptions {
  /** The constructor, or a promise of it (Node resolves `ws` with a dynamic import). */
  WebSocket: WebSocketConstructor | Promise<WebSocketConstructor>;
  /** Time allowed for the WebSocket handshake. */
  connectTimeoutMs?: number;
  /** First reconnect delay after a failed attempt; doubles per failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Each delay is shortened by up to this fraction of it, at random (0: none, the default; 1: anywhere from 0). */
  jitter?: number;
  /** Told when the connection opens, closes, or an attempt to open it fails. */
  onState?: (event: ConnectionEvent) => void;
  /** Frames without an id: broker pushes (and errors the broker could not attribute, id null). */
  onPush?: (push: Push) => void;
  /** Sign in on every new connection (hello, then auth); a broker with --auth off says so and is not asked. */
  credentials?: Credentials;
}

/** A successful response: `code` 0 and the op's result fields. */
export type Reply = Record<string, unknown> & { code: 0 };

interface InFlight {
  resolve(reply: Reply): void;
  /** A BrokerError, or an abort signal's reason. */
  reject(err: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Transport {
  private socket: WebSocketLike | null = null;
  private connecting: Promise<WebSocketLike> | null = null;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 0;
  private failures = 0;
  /** When the next attempt may start (after a failure). */
  private retryAt = 0;
  private closed = false;
  /** The socket signing in (not yet `socket`), and how to fail its sign-in if it closes. */
  private signingIn: { socket: WebSocketLike; ids: number[]; fail(e: BrokerError): void } | undefined;
  private readonly connectTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly jitter: number;

  constructor(readonly url: string, private readonly options: TransportOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.jitter = options.jitter ?? 0;
  }

  get isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Opens the socket if it is not open; waits out the backoff after a recent failure. */
  connect(): Promise<void> {
    return this.open().then(() => {});
  }

  /**
   * Sends `{ id, op, ...args }` and resolves with the response when its code is 0; rejects with
   * a BrokerError carrying the broker's code otherwise, TIMEOUT after `timeoutMs` (counted from
   * now, connecting included) or CONNECTION_CLOSED if the socket goes away first; with the
   * signal's reason when `signal` aborts first (the request may still have reached the broker).
   */
  request(op: string, args: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
    return this.requestFrame(op, (id) => encode({ id, op, ...args }), timeoutMs, signal);
  }

  /**
   * request(), with the frame written by the caller: `writeFrame(id)` gives the whole request, its id
   * included (sendBatch writes its messages' encoded bytes in as they are).
   */
  requestFrame(op: string, writeFrame: (id: number) => Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
    if (this.closed) return Promise.reject(closedError(this.url, "the client is shut down"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = ++this.nextId;
    let frame: Uint8Array;
    try {
      frame = writeFrame(id);
    } catch (e) {
      return Promise.reject(new BrokerError(ErrorCode.WRONG_TYPE, `${op}: cannot encode the request: ${(e as Error).message}`));
    }
    return new Promise<Reply>((resolveOnce, rejectOnce) => {
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
        (e: BrokerError) => this.settle(id)?.reject(e),
      );
    });
  }

  /** Closes the socket for good; requests in flight fail with CONNECTION_CLOSED. */
  close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    this.signingIn?.socket.close(1000, "client shutdown");
    this.failAll(closedError(this.url, "the client is shut down"));
    if (!socket || socket.readyState > OPEN) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Resolve on the close handshake, or after a second if the peer never answers it.
      const timer = setTimeout(resolve, 1000);
      socket.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onmessage = null;
      try {
        socket.close(1000, "client shutdown");
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private write(id: number, frame: Uint8Array): void {
    if (!this.inFlight.has(id)) return; // timed out while connecting
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      this.settle(id)?.reject(closedError(this.url, "the socket closed before the request was sent"));
      return;
    }
    try {
      socket.send(frame);
    } catch (e) {
      this.settle(id)?.reject(closedError(this.url, `send failed: ${(e as Error).message}`));
    }
  }

  private open(): Promise<WebSocketLike> {
    if (this.closed) return Promise.reject(closedError(this.url, "the client is shut down"));
    if (this.socket && this.socket.readyState === OPEN) return Promise.resolve(this.socket);
    this.connecting ??= this.dial().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async dial(): Promise<WebSocketLike> {
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
      const err = e instanceof BrokerError ? e : closedError(this.url, `cannot connect: ${(e as Error).message ?? e}`);
      this.failures++;
      const delay = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** (this.failures - 1)) * (1 - this.jitter * Math.random());
      this.retryAt = Date.now() + delay;
      if (!this.closed) this.options.onState?.({ address: this.url, state: "reconnecting", attempt: this.failures, delayMs: Math.round(delay), error: err });
      throw err;
    }
  }

  private handshake(Ctor: WebSocketConstructor): Promise<WebSocketLike> {
    return new Promise<WebSocketLike>((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new Ctor(this.url);
      } catch (e) {
        return reject(closedError(this.url, `cannot connect: ${(e as Error).message}`));
      }
      socket.binaryType = "arraybuffer";
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.onopen = socket.onclose = socket.onmessage = null;
        // Not null: closing a socket still connecting makes `ws` emit an error, which with no
        // listener is thrown as an uncaught exception (seen after a handshake timeout on Deno).
        socket.onerror = () => {};
        try {
          socket.close();
        } catch { /* already closing */ }
        reject(closedError(this.url, `cannot connect: ${why}`));
      };
      const timer = setTimeout(() => fail(`no handshake in ${this.connectTimeoutMs} ms`), this.connectTimeoutMs);
      socket.onerror = () => fail("connection refused or reset");
      socket.onclose = (ev) => fail(`closed during the handshake (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.closed) {
          socket.close(1000, "client shutdown");
          return reject(closedError(this.url, "the client is shut down"));
        }
        this.attach(socket);
        resolve(socket);
      };
    });
  }

  /** hello, then auth with the signed nonce; the socket becomes this transport's only once signed in. */
  private async signIn(socket: WebSocketLike, credentials: Credentials): Promise<void> {
    const ids: number[] = [];
    const closed = new Promise<never>((_, reject) => (this.signingIn = { socket, ids, fail: reject }));
    const steps = async () => {
      const hello = await this.exchange(socket, ids, "hello", {}).catch((e) => {
        if (e instanceof BrokerError && e.code === ErrorCode.UNKNOWN_OP) return { code: 0 } as Reply; // a broker from before auth
        throw e;
      });
      if (hello.auth !== true) return; // the broker does not ask (--auth off)
      await this.exchange(socket, ids, "auth", await signHandshake(credentials, String(hello.nonce), Date.now()));
    };
    try {
      await Promise.race([steps(), closed]);
    } catch (e) {
      try {
        socket.close(1000, "sign-in failed");
      } catch { /* closing already */ }
      throw e instanceof BrokerError ? e : closedError(this.url, `cannot sign in: ${(e as Error).message ?? e}`);
    } finally {
      for (const id of ids) this.settle(id);
      this.signingIn = undefined;
    }
  }

  private exchange(socket: WebSocketLike, ids: number[], op: string, args: Record<string, unknown>): Promise<Reply> {
    const id = ++this.nextId;
    ids.push(id);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id)?.reject(closedError(this.url, `cannot sign in: no answer to ${op} in ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      this.inFlight.set(id, { resolve, reject, timer });
      socket.send(encode({ id, op, ...args }));
    });
  }

  private attach(socket: WebSocketLike): void {
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => {}; // a close event follows; it does the bookkeeping
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

  private receive(data: unknown): void {
    const bytes = frameBytes(data);
    if (!bytes) return; // text frames are not part of the protocol
    let frame: Record<string, unknown>;
    try {
      frame = decode(bytes) as Record<string, unknown>;
    } catch {
      return;
    }
    if (frame === null || typeof frame !== "object") return;
    const id = frame.id;
    if (typeof id !== "number") {
      // No id: a push. id null: an error about a frame the broker could not read.
      this.options.onPush?.(frame as Push);
      return;
    }
    const entry = this.settle(id);
    if (!entry) return; // answered after its timeout
    if (frame.code === 0) entry.resolve(frame as Reply);
    else entry.reject(new BrokerError(String(frame.code ?? ErrorCode.INTERNAL_ERROR), String(frame.message ?? "")));
  }

  private settle(id: number): InFlight | undefined {
    const entry = this.inFlight.get(id);
    if (!entry) return undefined;
    this.inFlight.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }

  private failAll(err: BrokerError): void {
    const entries = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const e of entries) {
      clearTimeout(e.timer);
      e.reject(err);
    }
  }

}

function closedError(url: string, why: string): BrokerError {
  return new BrokerError(ErrorCode.CONNECTION_CLOSED, `${url}: ${why}`);
}
