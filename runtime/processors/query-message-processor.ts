// queryMessage (RocketMQ's QueryMessageProcessor): messages by id or by key, from the index.
// browseMessages: a topic's messages in store order from a time (the console's message browser).
// A message found by id is shown only to a session with SUB on its topic; an answer carries at
// most MAX_BYTES of messages (at least one), and waits while the client's replies are backed up.
import { BrokerError, CborWriter, ErrorCode, type Request, type RequestId } from "../../protocol/mod.ts";
import type { StoredRecord } from "../../storage/message-store.ts";
import { optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { topicResource } from "../security/acl.ts";

const MAX_BYTES = 4 * 1024 * 1024;
const MAX_KEY_LENGTH = 1024;

export function queryMessage(ctx: ProcessorContext, session: Session, req: Request): void {
  const msgId = optional<string | undefined>(req, "msgId", "string", undefined);
  const max = Math.min(1000, optional(req, "max", "uint", 32));
  const topic = msgId === undefined ? required<string>(req, "topic", "string") : "";
  const key = msgId === undefined ? required<string>(req, "key", "string") : "";
  if ((msgId ?? key).length > MAX_KEY_LENGTH) throw new BrokerError(ErrorCode.BAD_REQUEST, `queryMessage: a key or id longer than ${MAX_KEY_LENGTH} characters`);
  answerRecords(ctx, session, req.id, () =>
    msgId !== undefined
      ? ctx.store.queryById(msgId).filter((r) => session.security.can(topicResource(ctx.store.topicOf(r)), "SUB")).slice(0, max)
      : ctx.store.queryByKey(topic, key, max));
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
  answerRecords(ctx, session, req.id, () => {
    let picked: StoredRecord[] = [];
    let more = false;
    for (const q of queueId === undefined ? Array.from({ length: t.queues }, (_, i) => i) : [queueId]) {
      const start = from === undefined ? store.minOffset(topic, q) : store.offsetForTimestamp(topic, q, from);
      // One more than wanted: whether this queue has more in range.
      const inRange = store.getMessages(topic, q, start, max + 1, MAX_BYTES).records.filter((r) => to === undefined || r.storeTimestamp <= to);
      if (inRange.length > max) more = true;
      picked.push(...inRange.slice(0, max));
    }
    // CommitLog order is store order, to the record (store times tie within a millisecond).
    picked.sort((a, b) => a.commitLogOffset - b.commitLogOffset);
    if (picked.length > max) {
      more = true;
      picked = picked.slice(0, max);
    }
    return { records: picked, more };
  });
}

/**
 * Records as [topic, queueId, queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes, flags,
 * message], the message's bytes as stored: read once the session's unread replies have drained,
 * at most MAX_BYTES of them (at least one; `more` then says there were more).
 */
function answerRecords(ctx: ProcessorContext, session: Session, id: RequestId, read: () => StoredRecord[] | { records: StoredRecord[]; more: boolean }): void {
  const answer = () => {
    if (!session.open) return;
    const got = read();
    const found = Array.isArray(got) ? got : got.records;
    let more = Array.isArray(got) ? undefined : got.more;
    const records: StoredRecord[] = [];
    let bytes = 0;
    for (const r of found) {
      if (records.length > 0 && bytes + r.message.length > MAX_BYTES) {
        if (more !== undefined) more = true;
        break;
      }
      records.push(r);
      bytes += r.message.length;
    }
    write(ctx, session, id, records, more);
  };
  if (session.limits) session.limits.whenWritable(answer);
  else answer();
}

function write(ctx: ProcessorContext, session: Session, id: RequestId, records: StoredRecord[], more?: boolean): void {
  const w = new CborWriter();
  w.map(more === undefined ? 3 : 4).text("id").value(id).text("code").int(0).text("msgs").array(records.length);
  for (const r of records) {
    w.array(8).text(ctx.store.topicOf(r)).int(r.queueId).int(r.queueOffset).int(r.commitLogOffset)
      .int(r.storeTimestamp).int(r.reconsumeTimes).int(r.flags).raw(r.message);
  }
  if (more !== undefined) w.text("more").value(more);
  session.replyEncoded(w.bytes());
}
