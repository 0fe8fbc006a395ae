// The slave's side of replication (RocketMQ's HAClient): one WebSocket to the master, a
// haHandshake with this log's end and epochs, then the master's CommitLog bytes appended as they
// come (store.appendReplicated) and dispatched into this broker's own queues, index, timer and
// transactions (replica-apply.ts), each chunk acknowledged with haAck (after an fsync under
// --flush sync). A master that says the log diverged makes the node cut it and start again; a
// master silent for a while, or a lost socket, is dialled again with a fresh handshake.
import { BrokerError, decode, encode } from "../../protocol/mod.ts";
// The SDK's socket rather than platform.dial: it is `ws` on Deno too, with TCP_NODELAY; Deno's
// own client would hold each small haAck ~40 ms (Nagle), and sync sends wait for those acks.
import { frameBytes, resolveWebSocket, type WebSocketLike } from "../../client/websocket-class.ts";
import type { EpochEntry, EpochFile } from "../../storage/epoch-file.ts";
import type { ReplicaHost } from "./replica-host.ts";
import { applyReplicated, applyTopics } from "./replica-apply.ts";
import { signInSocket } from "../security/socket-sign-in.ts";

export interface HAClientOptions {
  /** The master's ws:// address. */
  master: string;
  brokerId: number;
  epochs: EpochFile;
  /** The master says this log agrees with its own only up to `offset`: cut it there and start again. */
  truncate(offset: number): void;
  log(line: string): void;
}

/** A master that has sent nothing (not even its idle beat) for this long is dialled again. */
const SILENCE_MS = 3000;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

export class HAClient {
  private socket: WebSocketLike | null = null;
  private streaming = false;
  private stopped = false;
  private failures = 0;
  private lastFrameAt = 0;
  private lastError = "";
  private masterEpochs: EpochEntry[] = [];
  private ackQueued = false;
  private watchdog: ReturnType<typeof setInterval>;
  private retry: ReturnType<typeof setTimeout> | undefined;
  /** The master's CommitLog end as last heard: the slave's lag is the distance to it. */
  masterMaxOffset = 0;

  constructor(private readonly broker: ReplicaHost, private readonly o: HAClientOptions) {
    this.watchdog = setInterval(() => {
      if (this.streaming && Date.now() - this.lastFrameAt > SILENCE_MS) {
        this.o.log(`master ${o.master} silent for ${SILENCE_MS} ms: reconnecting`);
        this.socket?.close();
      }
    }, 1000);
    void this.connect();
  }

  get master(): string {
    return this.o.master;
  }

  get connected(): boolean {
    return this.streaming;
  }

  /** Bytes the master has that this slave does not (as of the master's last frame). */
  get lagBytes(): number {
    return Math.max(0, this.masterMaxOffset - this.broker.store.maxCommitLogOffset);
  }

  stop(): void {
    this.stopped = true;
    this.streaming = false;
    clearInterval(this.watchdog);
    clearTimeout(this.retry);
    const s = this.socket;
    this.socket = null;
    try {
      s?.close(1000, "replica stopped");
    } catch { /* closing already */ }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let socket: WebSocketLike;
    try {
      const WebSocket = await resolveWebSocket(this.broker.dial.tls); // the master's TLS, trusted as --tls-trust says
      if (this.stopped) return;
      socket = new WebSocket(this.o.master);
    } catch (e) {
      return this.failed(`cannot connect: ${(e as Error).message}`);
    }
    // `ws`'s own Buffers: "arraybuffer" would copy every frame that shares its read buffer.
    socket.binaryType = "nodebuffer";
    this.socket = socket;
    socket.onerror = () => {};
    socket.onopen = async () => {
      // With --auth on the master wants its slaves signed in (--credentials, ADMIN on Cluster).
      const credentials = this.broker.dial.credentials;
      if (credentials) {
        try {
          await signInSocket(socket, credentials, frameBytes, () => Date.now());
        } catch (e) {
          this.o.log(`master ${this.o.master}: cannot sign in: ${(e as Error).message}`);
          return socket.close(1008, "sign-in failed");
        }
      }
      if (this.socket !== socket) return;
      const { store, config } = this.broker;
      socket.send(encode({
        id: 1,
        op: "haHandshake",
        brokerName: config.brokerName,
        brokerId: this.o.brokerId,
        address: this.broker.address,
        maxOffset: store.maxCommitLogOffset,
        segmentSize: config.segmentSize,
        epochs: this.o.epochs.entries.map((e) => [e.epoch, e.startOffset]),
      }));
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const was = this.streaming;
      this.streaming = false;
      if (was) this.o.log(`replication from ${this.o.master} stopped (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
      this.failed(`closed (${ev.code})`);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      const bytes = frameBytes(ev.data);
      if (!bytes) return;
      try {
        this.receive(socket, decode(bytes) as Record<string, unknown>);
      } catch (e) {
        this.o.log(`replication from ${this.o.master} failed: ${(e as Error).message}; reconnecting`);
        socket.close(1011, "replication error");
      }
    };
  }

  private failed(why: string): void {
    if (this.stopped) return;
    this.failures++;
    if (why !== this.lastError && this.failures <= 2) this.o.log(`master ${this.o.master}: ${why}; retrying`);
    this.lastError = why;
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(this.failures - 1, 8));
    this.retry = setTimeout(() => void this.connect(), delay);
  }

  private receive(socket: WebSocketLike, f: Record<string, unknown>): void {
    this.lastFrameAt = Date.now();
    if (f.id === 1) return this.handshaken(socket, f);
    if (!this.streaming) return;
    if (f.op === "haData") {
      const { store } = this.broker;
      const offset = Number(f.offset);
      const data = f.data instanceof Uint8Array ? f.data : new Uint8Array(0);
      if (offset !== store.maxCommitLogOffset) throw new Error(`the master sent offset ${offset}, this log ends at ${store.maxCommitLogOffset}`);
      if (data.length > 0) {
        applyReplicated(this.broker, store.appendReplicated(offset, data));
        void this.o.epochs.follow(this.masterEpochs, store.maxCommitLogOffset)?.catch((e) => this.o.log(`epoch file: ${e}`));
      }
      this.masterMaxOffset = Math.max(this.masterMaxOffset, offset + data.length);
      const confirm = Number(f.confirm);
      // Only what every in-sync replica holds is read here too: the rest may yet be cut.
      if (Number.isSafeInteger(confirm)) store.readLimit = confirm;
      if (typeof f.timerCursor === "number") this.broker.timer.followCursor(f.timerCursor);
      this.queueAck();
    } else if (f.op === "haTopics" && f.topics && typeof f.topics === "object") {
      applyTopics(this.broker, f.topics as Record<string, { queues: number; perm: number }>);
    }
  }

  private handshaken(socket: WebSocketLike, f: Record<string, unknown>): void {
    if (f.code !== 0) {
      const e = new BrokerError(String(f.code), String(f.message ?? ""));
      socket.close(1000, "handshake refused");
      if (this.socket === socket) this.socket = null;
      return this.failed(`handshake refused: ${e.code} ${e.message}`);
    }
    const truncateTo = Number(f.truncateTo);
    if (truncateTo >= 0) {
      this.o.log(`master ${this.o.master} (epoch ${f.masterEpoch}) agrees with this log up to ${truncateTo} of ${this.broker.store.maxCommitLogOffset}: cutting the rest`);
      this.stop();
      this.o.truncate(truncateTo);
      return;
    }
    this.masterEpochs = Array.isArray(f.epochs) ? (f.epochs as [number, number][]).map(([epoch, startOffset]) => ({ epoch, startOffset })) : [];
    this.masterMaxOffset = Number(f.maxOffset) || 0;
    if (f.topics && typeof f.topics === "object") applyTopics(this.broker, f.topics as Record<string, { queues: number; perm: number }>);
    void this.o.epochs.follow(this.masterEpochs, this.broker.store.maxCommitLogOffset)?.catch((e) => this.o.log(`epoch file: ${e}`));
    this.streaming = true;
    this.failures = 0;
    this.lastError = "";
    this.o.log(`replicating from master ${this.o.master} (epoch ${f.masterEpoch}) at offset ${this.broker.store.maxCommitLogOffset}, ${this.lagBytes} bytes behind`);
    this.queueAck();
  }

  /** One haAck per turn, for everything appended in it (fsynced first under --flush sync). */
  private queueAck(): void {
    if (this.ackQueued) return;
    this.ackQueued = true;
    this.broker.platform.afterTurn(() => {
      this.ackQueued = false;
      const socket = this.socket;
      if (!socket || !this.streaming) return;
      const { store, config } = this.broker;
      const offset = store.maxCommitLogOffset;
      const send = () => {
        if (this.socket === socket && this.streaming) socket.send(encode({ id: 0, op: "haAck", offset }));
      };
      if (config.flush === "sync") store.syncCommitLog(offset).then(send, (e) => this.o.log(`fsync failed: ${e}`));
      else send();
    });
  }
}
