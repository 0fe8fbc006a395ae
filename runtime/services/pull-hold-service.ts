// Long polling (RocketMQ's PullRequestHoldService): a pull with nothing to return and pollMs > 0
// becomes a Hold, plain data in its queue actor's context, until an APPENDED wakes it or its
// deadline passes; the actor then calls `release`, which reads again and answers. Reads answer
// with the stored message bytes spliced into the response as they are.
//
// A write answers the holds it reaches before the queue actor takes its APPENDED (`wake`, from
// the append path's dispatcher): the actor's step cost ~10 us a queue on the way from a send to
// its consumer. The actor then releases the same holds; `answered` makes that a no-op, so the
// actor alone (no wake) answers exactly as before.
import { CborWriter, matchesCode, parseSubscription, PullStatus, type RequestId, type Subscription } from "../../protocol/mod.ts";
import type { Hold } from "../../actors/queue.machine.ts";
import type { GetResult } from "../../storage/message-store.ts";
import type { Actors, Clock, MessageStore, PullHolds, Sessions } from "../context.ts";
import type { Session } from "../session.ts";

export interface PullHoldDeps {
  clock: Clock;
  store: Pick<MessageStore, "getMessages">;
  actors: Actors;
  sessions: Pick<Sessions, "get">;
  /** Counts what a pull answer delivers (Metrics.delivered). */
  delivered(topic: string, messages: number, bytes: number): void;
  /**
   * A replicated group's member: which member the consumer should pull this queue from next,
   * given where this answer's last message ends (undefined: it has none). See
   * runtime/ha/read-suggestion.ts. A standalone broker suggests nothing.
   */
  suggest?(queueId: number, pulledTo: number | undefined): number | undefined;
}

export class PullHoldService implements PullHolds {
  private subscriptions = new Map<string, Subscription>();
  /** Holds answered or being answered: each is answered once, whoever releases it first. */
  private readonly answered = new WeakSet<Hold>();

  constructor(private readonly deps: PullHoldDeps) {}

  checkExpression(expression: string): void {
    this.subscription(expression);
  }

  /** Straight to the queue actor: a pull per message at low rates makes a root hop measurable. */
  hold(topic: string, queueId: number, hold: Hold): void {
    const { actors } = this.deps;
    if (!actors.sendToQueue(topic, queueId, { type: "PULL", hold })) actors.send({ type: "PULL", topic, queueId, hold }); // the root knows what to do
  }

  wake(topic: string, queueId: number, maxOffset: number): void {
    const holds = this.deps.actors.queueHolds(topic, queueId);
    if (holds.length > 0) this.release(topic, queueId, holds.filter((h) => h.offset < maxOffset), "wake");
  }

  /** Called by a queue actor (and by wake): answer held pulls. */
  release(topic: string, queueId: number, holds: readonly Hold[], reason: "wake" | "timeout"): void {
    const now = this.deps.clock.now();
    for (const hold of holds) {
      if (this.answered.has(hold)) continue;
      this.answered.add(hold);
      const session = this.deps.sessions.get(hold.sessionId);
      if (!session?.open) continue; // the client left; nothing to answer
      const serve = () => {
        if (!session.open) return;
        const result = this.read(topic, queueId, hold);
        // Woken, but every new message was filtered out: keep waiting from past them.
        if (reason === "wake" && result.status === PullStatus.NO_MATCHED_MSG && hold.deadline > now) {
          this.hold(topic, queueId, { ...hold, offset: result.nextOffset });
          return;
        }
        if (session.limits) session.limits.heldPulls--;
        this.answer(session, hold.reqId, result, topic, queueId);
      };
      // A client whose replies back up gets its answer once they drain: the queue is read only then.
      if (session.limits) session.limits.whenWritable(serve);
      else serve();
    }
  }

  read(topic: string, queueId: number, hold: Hold): GetResult {
    const sub = this.subscription(hold.expression);
    const match = sub.codes === null ? undefined : (code: number) => matchesCode(sub, code);
    return this.deps.store.getMessages(topic, queueId, hold.offset, hold.maxCount, hold.maxBytes, match);
  }

  /** Writes the response around the stored bytes: no decode, no re-encode of any message. */
  answer(session: Session, id: RequestId, r: GetResult, topic: string, queueId: number): void {
    if (!session.open) return;
    let size = 160;
    for (const rec of r.records) size += rec.message.length + 48;
    this.deps.delivered(topic, r.records.length, size - 160 - 48 * r.records.length);
    const last = r.records[r.records.length - 1];
    const suggest = this.deps.suggest?.(queueId, last && last.commitLogOffset + last.size);
    const w = new CborWriter(size);
    w.map(suggest === undefined ? 7 : 8).text("id").value(id).text("code").int(0).text("status").text(r.status)
      .text("nextOffset").int(r.nextOffset).text("minOffset").int(r.minOffset).text("maxOffset").int(r.maxOffset);
    if (suggest !== undefined) w.text("suggestWhichBrokerId").int(suggest);
    w.text("msgs").array(r.records.length);
    for (const rec of r.records) {
      w.array(6).int(rec.queueOffset).int(rec.commitLogOffset).int(rec.storeTimestamp).int(rec.reconsumeTimes).int(rec.flags).raw(rec.message);
    }
    session.replyEncoded(w.bytes());
  }

  private subscription(expression: string): Subscription {
    let sub = this.subscriptions.get(expression);
    if (!sub) {
      sub = parseSubscription(expression);
      if (this.subscriptions.size > 10_000) this.subscriptions.clear(); // bounded cache
      this.subscriptions.set(expression, sub);
    }
    return sub;
  }
}
