// queryMessage (RocketMQ's QueryMessageProcessor): messages by id or by key, from the index.
import { CborWriter, type Request } from "../../protocol/mod.ts";
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
  const w = new CborWriter();
  w.map(3).text("id").value(req.id).text("code").int(0).text("msgs").array(records.length);
  for (const r of records) {
    w.array(8).text(ctx.store.topicOf(r)).int(r.queueId).int(r.queueOffset).int(r.commitLogOffset)
      .int(r.storeTimestamp).int(r.reconsumeTimes).int(r.flags).raw(r.message);
  }
  session.replyEncoded(w.bytes());
}
