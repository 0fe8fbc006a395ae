// The page's one WebSocket to the broker, through the SDK's Transport: an `inspect`
// subscription whose reply is the actor tree and whose pushes are the frames, plus ordinary
// requests (queryMessage). A watchdog re-subscribes whenever the socket is down, so the page
// comes back by itself after a broker restart.
import { Transport, type Reply } from "../client/transport.ts";
import type { WebSocketConstructor } from "../client/websocket-class.ts";
import type { Push } from "../protocol/mod.ts";
import { askCredentials, needsSignIn, storedCredentials } from "./signin.ts";

export type Status = "connecting" | "connected" | "reconnecting";

/** The reply to a request the peer does not serve (a name server asked for `inspect`). */
export function isUnknownOp(e: unknown): boolean {
  return (e as { code?: unknown })?.code === "UNKNOWN_OP";
}

export interface ConnectionEvents {
  onSnapshot(reply: Reply): void;
  onFrame(push: Push): void;
  onStatus(status: Status, detail?: string): void;
  /** The peer does not serve `inspect`: it is a name server, and the page shows the cluster. */
  onNotABroker?(): void;
}

const WATCH_EVERY_MS = 500;

export class InspectorConnection {
  private transport: Transport;
  private subscribing = false;
  private subscribed = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly url: string, private readonly events: ConnectionEvents) {
    this.transport = this.dial();
  }

  /** The socket to the broker, signing in with this tab's credentials if it has any (signin.ts). */
  private dial(): Transport {
    return new Transport(this.url, {
      WebSocket: (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket,
      minBackoffMs: 200,
      maxBackoffMs: 2000,
      credentials: storedCredentials(),
      onPush: (push) => {
        if (push.op === "inspect") this.events.onFrame(push);
      },
    });
  }

  start(): void {
    void this.subscribe();
    this.timer = setInterval(() => {
      if (this.subscribed && !this.transport.isOpen) {
        this.subscribed = false;
        this.events.onStatus("reconnecting", "the connection to the broker closed");
      }
      if (!this.subscribed) void this.subscribe();
    }, WATCH_EVERY_MS);
  }

  request(op: string, args: Record<string, unknown>): Promise<Reply> {
    return this.transport.request(op, args, 10_000);
  }

  private async subscribe(): Promise<void> {
    if (this.subscribing) return;
    this.subscribing = true;
    try {
      const reply = await this.transport.request("inspect", {}, 5000);
      this.subscribed = true;
      this.events.onStatus("connected");
      this.events.onSnapshot(reply);
    } catch (e) {
      if (isUnknownOp(e) && this.events.onNotABroker) {
        clearInterval(this.timer);
        this.events.onNotABroker();
        return;
      }
      // --auth on: ask who this is, then dial again signing in (the watchdog subscribes again).
      if (needsSignIn(e)) {
        this.events.onStatus("reconnecting", (e as Error).message);
        await askCredentials((e as Error).message);
        void this.transport.close();
        this.transport = this.dial();
        return;
      }
      this.events.onStatus("reconnecting", (e as Error).message);
    } finally {
      this.subscribing = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    void this.transport.close();
  }
}

/**
 * The broker's WebSocket URL, from the page's own address: the broker serves the page at
 * <prefix>/inspector/ and its socket at <prefix>/ws, so behind a reverse proxy that adds a path
 * prefix both move together. `?broker=ws://host:port/ws` points the page elsewhere.
 */
export function brokerUrl(location: { protocol: string; host: string; pathname: string; search: string }): string {
  const given = new URLSearchParams(location.search).get("broker");
  if (given) return given;
  const prefix = location.pathname.replace(/inspector\/?(index\.html)?$/, "").replace(/\/?$/, "/");
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${prefix}ws`;
}
