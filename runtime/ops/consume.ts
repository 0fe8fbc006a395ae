// pull: read a queue from the store and answer with the stored message bytes spliced into the
// response as they are. With nothing to return and pollMs > 0, the queue actor holds the pull
// until an APPENDED wakes it or its deadline passes.
import { CborWriter, ErrorCode, BrokerError, matchesCode, parseSubscription, PullStatus, type Request, type RequestId, type Subscription } from "../../protocol/mod.ts";
import { PERM_READ, queueActorId } from "../../actors/broker.machine.ts";
import type { Hold } from "../../actors/queue.machine.ts";
import type { GetResult } from "../../storage/message-store.ts";
import { optional, required } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";
import { commitOffset } from "./offsets.ts";

const DEFAULT_MAX_COUNT = 32;
const MAX_COUNT_CAP = 1000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

export class PullService {
  private subscriptions = new Map<string, Subscription>();

  constructor(private broker: Broker) {}

  handle(conn: Connection, req: Request): void {
    const topic = required<string>(req, "topic", "string");
    const queueId = required<number>(req, "queueId", "uint");
    const offset = required<number>(req, "offset", "uint");
    const maxCount = Math.min(MAX_COUNT_CAP, Math.max(1, optional(req, "maxCount", "uint", DEFAULT_MAX_COUNT)));
    const maxBytes = Math.max(1, optional(req, "maxBytes", "uint", DEFAULT_MAX_BYTES));
    const expression = optional(req, "expression", "string", "*");
    const pollMs = Math.min(this.broker.config.maxPollMs, optional(req, "pollMs", "uint", 0));
    const t = this.broker.topicForRead(topic, queueId);
    if ((t.perm & PERM_READ) === 0) throw new BrokerError(ErrorCode.NO_PERMISSION, `topic "${topic}" is not readable`);
    this.subscription(expression); // a bad expression fails now, not when the hold wakes
    const group = optional<string | undefined>(req, "group", "string", undefined);
    const commit = optional<number | undefined>(req, "commitOffset", "uint", undefined);
    if (group !== undefined && commit !== undefined) commitOffset(this.broker, group, topic, queueId, commit, () => {});

    const hold: Hold = { connId: conn.id, reqId: req.id, offset, maxCount, maxBytes, expression, deadline: 0 };
    const result = this.read(topic, queueId, hold);
    if (result.status === PullStatus.NO_NEW_MSG && pollMs > 0) {
      hold.deadline = this.broker.platform.clock.now() + pollMs;
      this.hold(topic, queueId, hold);
      return;
    }
    this.answer(conn, req.id, result, topic);
  }

  /** Called by a queue actor: answer held pulls. */
  release(topic: string, queueId: number, holds: Hold[], reason: "wake" | "timeout"): void {
    const now = this.broker.platform.clock.now();
    for (const hold of holds) {
      const conn = this.broker.connections.get(hold.connId);
      if (!conn?.open) continue; // the client left; nothing to answer
      const result = this.read(topic, queueId, hold);
      // Woken, but every new message was filtered out: keep waiting from past them.
      if (reason === "wake" && result.status === PullStatus.NO_MATCHED_MSG && hold.deadline > now) {
        this.hold(topic, queueId, { ...hold, offset: result.nextOffset });
        continue;
      }
      this.answer(conn, hold.reqId, result, topic);
    }
  }

  /** Straight to the queue actor: a pull per message at low rates makes a root hop measurable. */
  private hold(topic: string, queueId: number, hold: Hold): void {
    const queue = this.broker.root.system.get(queueActorId(topic, queueId));
    if (queue) queue.send({ type: "PULL", hold });
    else this.broker.send({ type: "PULL", topic, queueId, hold }); // the root knows what to do
  }

  private read(topic: string, queueId: number, hold: Hold): GetResult {
    const sub = this.subscription(hold.expression);
    const match = sub.codes === null ? undefined : (code: number) => matchesCode(sub, code);
    return this.broker.store.getMessages(topic, queueId, hold.offset, hold.maxCount, hold.maxBytes, match);
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

  /** Writes the response around the stored bytes: no decode, no re-encode of any message. */
  private answer(conn: Connection, id: RequestId, r: GetResult, topic: string): void {
    if (!conn.open) return;
    let size = 128;
    for (const rec of r.records) size += rec.message.length + 48;
    this.broker.metrics.delivered(topic, r.records.length, size - 128 - 48 * r.records.length);
    const w = new CborWriter(size);
    w.map(7).text("id").value(id).text("code").int(0).text("status").text(r.status)
      .text("nextOffset").int(r.nextOffset).text("minOffset").int(r.minOffset).text("maxOffset").int(r.maxOffset)
      .text("msgs").array(r.records.length);
    for (const rec of r.records) {
      w.array(6).int(rec.queueOffset).int(rec.commitLogOffset).int(rec.storeTimestamp).int(rec.reconsumeTimes).int(rec.flags).raw(rec.message);
    }
    conn.socket.send(w.bytes());
  }
}
