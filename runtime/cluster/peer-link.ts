// A broker's or name server's requests to another process of the cluster (registerBroker to a
// name server, createTopic forwarded to a broker): one WebSocket, dialed on the first request
// and again after it closes, requests correlated by id, a timeout each. Small on purpose: the
// client SDK's Transport (reconnect backoff, pushes) is for clients; this needs none of it,
// because its callers retry on their own schedule (every registration interval). With TLS trust
// and credentials (--tls-trust, --credentials) it dials wss:// and signs in before its first
// request, as clients do (docs/SECURITY.md).
import { BrokerError, type Credentials, decode, encode, ErrorCode, signHandshake } from "../../protocol/mod.ts";
import type { ClientSocket, Platform, TlsDialOptions } from "../../platform/platform.ts";

/** How a broker or name server dials its peers. */
export interface PeerDial {
  tls?: TlsDialOptions;
  credentials?: Credentials;
}

type Reply = Record<string, unknown>;

interface Waiting {
  resolve(reply: Reply): void;
  reject(err: BrokerError): void;
  timer: unknown;
}

export class PeerLink {
  private socket: Promise<ClientSocket> | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  constructor(
    readonly url: string,
    private readonly platform: Pick<Platform, "dial" | "clock">,
    private readonly connectTimeoutMs = 3000,
    private readonly peer: PeerDial = {},
  ) {}

  /** Sends `{ id, op, ...args }`; resolves with the answer when its code is 0, rejects with a BrokerError otherwise. */
  request(op: string, args: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    if (this.closed) return Promise.reject(this.error("the link is closed"));
    const id = ++this.nextId;
    const frame = encode({ id, op, ...args });
    const { clock } = this.platform;
    return new Promise<Reply>((resolve, reject) => {
      const timer = clock.setTimeout(() => this.settle(id)?.reject(new BrokerError(ErrorCode.TIMEOUT, `${op} to ${this.url}: no response in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.open().then(
        (socket) => {
          if (!this.waiting.has(id)) return; // timed out while dialing
          try {
            socket.send(frame);
          } catch (e) {
            this.settle(id)?.reject(this.error(`send failed: ${(e as Error).message}`));
          }
        },
        (e: Error) => this.settle(id)?.reject(this.error(e.message)),
      );
    });
  }

  close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    this.failAll("the link is closed");
    return socket ? socket.then((s) => s.close(), () => {}) : Promise.resolve();
  }

  private open(): Promise<ClientSocket> {
    if (!this.socket) {
      const dialing: Promise<ClientSocket> = this.platform.dial(this.url, {
        timeoutMs: this.connectTimeoutMs,
        tls: this.peer.tls,
        onMessage: (data) => this.receive(data),
        onClose: () => {
          if (this.socket === dialing) this.socket = null;
          this.failAll("the socket closed");
        },
      }).then((socket) => this.signIn(socket));
      this.socket = dialing;
      dialing.catch(() => {
        if (this.socket === dialing) this.socket = null; // the next request dials again
      });
    }
    return this.socket;
  }

  /** hello, then auth with the signed nonce, when this process has credentials and the peer asks. */
  private async signIn(socket: ClientSocket): Promise<ClientSocket> {
    const credentials = this.peer.credentials;
    if (!credentials) return socket;
    try {
      const hello = await this.exchange(socket, "hello", {});
      if (hello.auth === true) await this.exchange(socket, "auth", await signHandshake(credentials, String(hello.nonce), this.platform.clock.now()));
      return socket;
    } catch (e) {
      socket.close();
      throw new Error(`cannot sign in: ${e instanceof BrokerError ? `${e.code} ${e.message}` : (e as Error).message}`);
    }
  }

  private exchange(socket: ClientSocket, op: string, args: Record<string, unknown>): Promise<Reply> {
    const id = ++this.nextId;
    return new Promise<Reply>((resolve, reject) => {
      const timer = this.platform.clock.setTimeout(() => this.settle(id)?.reject(new BrokerError(ErrorCode.TIMEOUT, `${op} to ${this.url}: no response in ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      socket.send(encode({ id, op, ...args }));
    });
  }

  private receive(data: Uint8Array): void {
    let frame: Reply;
    try {
      frame = decode(data) as Reply;
    } catch {
      return;
    }
    if (frame === null || typeof frame !== "object" || typeof frame.id !== "number") return; // pushes are not for us
    const w = this.settle(frame.id);
    if (!w) return; // answered after its timeout
    if (frame.code === 0) w.resolve(frame);
    else w.reject(new BrokerError(String(frame.code ?? ErrorCode.INTERNAL_ERROR), String(frame.message ?? "")));
  }

  private settle(id: number): Waiting | undefined {
    const w = this.waiting.get(id);
    if (!w) return undefined;
    this.waiting.delete(id);
    this.platform.clock.clearTimeout(w.timer);
    return w;
  }

  private failAll(why: string): void {
    for (const id of [...this.waiting.keys()]) this.settle(id)?.reject(this.error(why));
  }

  private error(why: string): BrokerError {
    return new BrokerError(ErrorCode.CONNECTION_CLOSED, `${this.url}: ${why}`);
  }
}
