// Transparent batching of sends, as Kafka's producer does: the sends issued in one turn of the
// event loop leave in one frame. The first send of a turn schedules a flush; later ones join the
// batch until it holds maxMessages or maxBytes, which sends it at once. Each caller gets its own
// message's result, or its own message's error.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";

/** A stored message's place, as the broker answers each item of a sendBatch. */
export interface SendReceipt {
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
}

/** One message's outcome inside a sendBatch response. */
export type ItemOutcome = ({ code: 0 } & SendReceipt) | { code: string; message?: string };

/** A frame of messages to one broker. */
export interface OutgoingFrame {
  msgs: Uint8Array[];
  /** Present when every message names its queue; absent when the broker picks them all. */
  queueIds?: number[];
  /** Time the frame may take, from now. */
  timeoutMs: number;
}

/**
 * Sends one frame and resolves with one outcome per message, in order. Rejecting fails every
 * message of the frame with that error (a timeout, a closed socket, a frame-level error).
 */
export type FrameSink = (frame: OutgoingFrame) => Promise<ItemOutcome[]>;

export type FlushSchedule = "microtask" | "timer";

export interface CoalescerOptions {
  maxMessages: number;
  maxBytes: number;
  /** When a batch that did not fill up leaves: at the end of this microtask queue, or on a 0 ms timer. */
  schedule?: FlushSchedule;
}

interface Entry {
  bytes: Uint8Array;
  queueId: number | undefined;
  deadline: number;
  resolve(r: SendReceipt): void;
  reject(e: BrokerError): void;
}

export class SendCoalescer {
  private batch: Entry[] = [];
  private batchBytes = 0;
  private scheduled = false;
  private readonly schedule: (fn: () => void) => void;
  /** Frames handed to the sink: a figure for tests and tuning. */
  framesSent = 0;

  constructor(private readonly sink: FrameSink, private readonly options: CoalescerOptions) {
    this.schedule = options.schedule === "timer" ? (fn) => setTimeout(fn, 0) : (fn) => queueMicrotask(fn); // unbound, browsers throw "Illegal invocation"
  }

  /** Messages gathered and not yet handed to the sink. */
  get waiting(): number {
    return this.batch.length;
  }

  /** Queues one encoded message; `deadline` is the absolute time (Date.now()) its send must end by. */
  add(bytes: Uint8Array, queueId: number | undefined, deadline: number): Promise<SendReceipt> {
    return new Promise<SendReceipt>((resolve, reject) => {
      if (this.batch.length > 0 && this.batchBytes + bytes.length > this.options.maxBytes) this.flush();
      this.batch.push({ bytes, queueId, deadline, resolve, reject });
      this.batchBytes += bytes.length;
      if (this.batch.length >= this.options.maxMessages || this.batchBytes >= this.options.maxBytes) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Hands what is gathered to the sink now. */
  flush(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.batchBytes = 0;
    // queueIds is all-or-nothing per frame (PROTOCOL.md gives no "broker's choice" value for one
    // item), so a batch mixing both kinds leaves as two frames.
    const chosen = batch.filter((e) => e.queueId !== undefined);
    if (chosen.length === 0 || chosen.length === batch.length) this.emit(batch);
    else {
      this.emit(chosen);
      this.emit(batch.filter((e) => e.queueId === undefined));
    }
  }

  private emit(entries: Entry[]): void {
    let deadline = 0;
    for (const e of entries) deadline = Math.max(deadline, e.deadline);
    const frame: OutgoingFrame = {
      msgs: entries.map((e) => e.bytes),
      timeoutMs: Math.max(1, deadline - Date.now()),
    };
    if (entries[0].queueId !== undefined) frame.queueIds = entries.map((e) => e.queueId!);
    this.framesSent++;
    let sent: Promise<ItemOutcome[]>;
    try {
      sent = this.sink(frame);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      (outcomes) => {
        for (let i = 0; i < entries.length; i++) {
          const o = outcomes[i];
          if (o && o.code === 0) entries[i].resolve(o as SendReceipt);
          else if (o) entries[i].reject(new BrokerError(String(o.code), String((o as { message?: string }).message ?? "")));
          else entries[i].reject(new BrokerError(ErrorCode.INTERNAL_ERROR, `the broker answered ${outcomes.length} results for ${entries.length} messages`));
        }
      },
      (e: unknown) => {
        const err = e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String(e));
        for (const entry of entries) entry.reject(err);
      },
    );
  }
}
