// queryMessage (RocketMQ's QueryMessageProcessor): messages by id or by key, from the index.
// browseMessages: a topic's messages in store order from a time (the console's message browser).
import { BrokerError, CborWriter, ErrorCode, type Request, type RequestId } from "../../protocol/mod.ts";
import type { StoredRecord } from "../../storage/message-store.ts";
import { optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

export function queryMessage(ctx: ProcessorContext, session: Session, req: Request): void {
  const msgId = optional<string | undefined>(req, "msgId", "string", undefined);
  const max = Math.min(1000, optional(req, "max", "uint", 32));
  let records: StoredRecord[];
  if (msgId !== undefined) records = ctx.store.queryById(msgId).slice(0, max);
  else {
    const topic = required<string>(req, "topic", "string");
    const key = required<string>(req, "key", "string");
    records = ctx.store.queryByKey(topic, key, max);
  }
  answerRecords(ctx, session, req.id, records);
}

/** Messages a browse returns at most; the answer says when there are more in range. */
const MAX_BROWSE = 200;

/**
 * A topic's messages (one queue or all) stored from `from` to `to` (ms, both optional), oldest
 * first, at most `max`: each queue is read from the offset of `from` (a bisection of its
 * ConsumeQueue), then the queues' records are merged in store order. `more` says the range holds
 * more than were returned.
 */
export function browseMessages(ctx: ProcessorContext, session: Session, req: Request): void {
  const topic = required<string>(req, "topic", "string");
  const queueId = optional<number | undefined>(req, "queueId", "uint", undefined);
  const from = optional<number | undefined>(req, "from", "uint", undefined);
  const to = optional<number | undefined>(req, "to", "uint", undefined);
  const max = Math.max(1, Math.min(MAX_BROWSE, optional(req, "max", "uint", 32)));
  if (from !== undefined && to !== undefined && to < from) throw new BrokerError(ErrorCode.BAD_REQUEST, `browseMessages: "to" (${to}) is before "from" (${from})`);
  const t = ctx.topics.forRead(topic, queueId);
  const { store } = ctx;
  let picked: StoredRecord[] = [];
  let more = false;
  for (const q of queueId === undefined ? Array.from({ length: t.queues }, (_, i) => i) : [queueId]) {
    const start = from === undefined ? store.minOffset(topic, q) : store.offsetForTimestamp(topic, q, from);
    // One more than wanted: whether this queue has more in range.
    const inRange = store.getMessages(topic, q, start, max + 1, 64 * 1024 * 1024).records.filter((r) => to === undefined || r.storeTimestamp <= to);
    if (inRange.length > max) more = true;
    picked.push(...inRange.slice(0, max));
  }
  // CommitLog order is store order, to the record (store times tie within a millisecond).
  picked.sort((a, b) => a.commitLogOffset - b.commitLogOffset);
  if (picked.length > max) {
    more = true;
    picked = picked.slice(0, max);
  }
  answerRecords(ctx, session, req.id, picked, more);
}

/** Records as [topic, queueId, queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes, flags, message], the message's bytes as stored. */
function answerRecords(ctx: ProcessorContext, session: Session, id: RequestId, records: StoredRecord[], more?: boolean): void {
  const w = new CborWriter();
  w.map(more === undefined ? 3 : 4).text("id").value(id).text("code").int(0).text("msgs").array(records.length);
  for (const r of records) {
    w.array(8).text(ctx.store.topicOf(r)).int(r.queueId).int(r.queueOffset).int(r.commitLogOffset)
      .int(r.storeTimestamp).int(r.reconsumeTimes).int(r.flags).raw(r.message);
  }
  if (more !== undefined) w.text("more").value(more);
  session.replyEncoded(w.bytes());
}
