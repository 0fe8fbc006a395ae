// The events a client emits: `client.on("error", (e) => ...)` for every failure it meets (a
// handler's, or one in the background), `client.on("connection", (e) => ...)` for each
// connection's state. Listeners run synchronously; one that throws is logged, not propagated.
import type { MessageView } from "../protocol/mod.ts";
import type { ClientLog } from "./client-log.ts";

/** A queue, as events name it. */
export interface QueueName {
  broker: string;
  topic: string;
  queueId: number;
}

/** A failure, by what failed: `kind` says which fields come with it. */
export type ClientErrorEvent =
  /** A handler threw, or returned something other than "SUCCESS" or "RECONSUME_LATER" (once per message of the batch). */
  | { kind: "handler"; error: unknown; messageId: string; message: MessageView }
  /** A pull of a queue failed; the queue is pulled again after a pause. */
  | { kind: "pull"; error: unknown; queue: QueueName }
  /** Recording a queue's offset failed; it is recorded again with the next pull or persist. */
  | { kind: "commit"; error: unknown; queue: QueueName }
  /** A heartbeat to a broker failed; the next one follows at the heartbeat interval. */
  | { kind: "heartbeat"; error: unknown; address: string }
  /** A topic's queues could not be rebalanced; retried within a second. */
  | { kind: "rebalance"; error: unknown; topic: string }
  /** A failed message could not be sent back for a retry; it is consumed here again in 5 s. */
  | { kind: "sendBack"; error: unknown; messageId: string }
  /** A local transaction or a check threw or answered something else than COMMIT, ROLLBACK or UNKNOWN (taken as UNKNOWN), or a check's answer could not be delivered. */
  | { kind: "transaction"; error: unknown; messageId: string };

/** A connection to a broker (or name server) changed state. */
export interface ConnectionEvent {
  address: string;
  /** "connected": open (again, when `attempt` > 1); "disconnected": it closed; "reconnecting": an attempt failed and the next waits `delayMs`. */
  state: "connected" | "disconnected" | "reconnecting";
  /** Attempts since the connection was last open, this one included. */
  attempt: number;
  delayMs?: number;
  error?: unknown;
}

export interface ClientEvents {
  error: ClientErrorEvent;
  connection: ConnectionEvent;
}

export type Listener<K extends keyof ClientEvents> = (event: ClientEvents[K]) => void;

export class ClientEmitter {
  private readonly listeners: { [K in keyof ClientEvents]: Set<Listener<K>> } = { error: new Set(), connection: new Set() };

  constructor(private readonly log: ClientLog) {}

  /** Calls `listener` with every event of `type` from now on; returns a function that stops it. */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    const set = this.listeners[type] as Set<Listener<K>> | undefined;
    if (!set) throw new TypeError(`no event "${String(type)}" (events: ${Object.keys(this.listeners).join(", ")})`);
    if (typeof listener !== "function") throw new TypeError("a listener must be a function");
    set.add(listener);
    return () => this.off(type, listener);
  }

  off<K extends keyof ClientEvents>(type: K, listener: Listener<K>): void {
    (this.listeners[type] as Set<Listener<K>> | undefined)?.delete(listener);
  }

  emit<K extends keyof ClientEvents>(type: K, event: ClientEvents[K]): void {
    for (const listener of this.listeners[type] as Set<Listener<K>>) {
      try {
        listener(event);
      } catch (e) {
        this.log.error(`a "${type}" listener threw`, e);
      }
    }
  }
}
