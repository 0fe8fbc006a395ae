// Consumption as an async iterator, for people used to nats.js: `for await (const msg of
// consumer)`. The consumer's handler slots feed a queue of messages; the loop takes them one
// at a time, and a message counts as consumed (SUCCESS) when the loop asks for the next one.
// Leaving the loop (break, return, or a throw) shuts the consumer down: the message the loop was
// on and those still queued are left unconsumed, so their offsets are not committed and the
// group reads them again (this member's next start, or another member), RocketMQ's
// at-least-once.
import type { MessageView } from "../protocol/mod.ts";
import { ABANDONED } from "./consume-concurrently-service.ts";

interface Waiting {
  msg: MessageView;
  /** Finishes the handler call that delivered `msg`. */
  settle(result: "SUCCESS" | typeof ABANDONED): void;
}

export class MessageIterator implements AsyncIterableIterator<MessageView> {
  private readonly queue: Waiting[] = [];
  /** The message the loop is on: consumed when it asks for the next. */
  private current: Waiting | null = null;
  /** A `next()` waiting for a message. */
  private wanted: ((r: IteratorResult<MessageView>) => void) | null = null;
  private ended = false;
  /** Messages the loop takes before the iteration ends by itself (and the consumer stops). */
  private left = Infinity;

  /** @param stop shuts the consumer down when the loop is left (after this iterator ended). */
  constructor(private readonly stop: () => Promise<void>) {}

  /** Ends the iteration after `max` messages, each consumed: the loop then finishes as an iteration does. */
  limit(max: number): void {
    this.left = max;
  }

  /** The consumer's handler in iterator mode: answers once the loop is done with `msg`. */
  readonly handler = (msg: MessageView): Promise<"SUCCESS" | typeof ABANDONED> =>
    new Promise((settle) => {
      if (this.ended) return settle(ABANDONED);
      const w = { msg, settle };
      if (this.wanted) {
        const wanted = this.wanted;
        this.wanted = null;
        wanted(this.give(w));
      } else this.queue.push(w);
    });

  next(): Promise<IteratorResult<MessageView>> {
    this.current?.settle("SUCCESS");
    this.current = null;
    if (this.left <= 0 && !this.ended) return this.return(); // all it asked for: consumed, and done
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    const w = this.queue.shift();
    if (w) return Promise.resolve(this.give(w));
    return new Promise((resolve) => (this.wanted = resolve));
  }

  private give(w: Waiting): IteratorResult<MessageView> {
    this.current = w;
    this.left--;
    return { value: w.msg, done: false };
  }

  /** The loop was left: stop the consumer, leaving what was not consumed for the group to read again. */
  async return(): Promise<IteratorResult<MessageView>> {
    if (!this.ended) {
      this.ended = true;
      // Pulling stops at once (the consumer drops its queues synchronously), then the handler
      // calls waiting here finish, unconsumed, and the shutdown commits what was consumed.
      const stopping = this.stop();
      this.current?.settle(ABANDONED);
      this.current = null;
      for (const w of this.queue.splice(0)) w.settle(ABANDONED);
      await stopping;
    }
    return { value: undefined, done: true };
  }

  /** The consumer stopped (shutdown or kill): a waiting loop ends. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.queue.splice(0)) w.settle(ABANDONED);
    this.current?.settle(ABANDONED);
    this.current = null;
    this.wanted?.({ value: undefined, done: true });
    this.wanted = null;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
