// Consumer groups (RocketMQ's ConsumerManageProcessor): the member list clients rebalance over,
// committed offsets, progress, and offset reset. The group actors keep the state; these
// handlers ask them and feed them events.
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import { offsetKey } from "../../actors/group.machine.ts";
import { groupArg, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { checkGroupLimit } from "./limit-checks.ts";

export function commitOffset(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  const topic = required<string>(req, "topic", "string");
  const queueId = required<number>(req, "queueId", "uint");
  const offset = required<number>(req, "offset", "uint");
  ctx.topics.forRead(topic, queueId);
  checkGroupLimit(ctx, group); // a commit for a group never seen makes its actor
  ctx.offsets.commit(group, topic, queueId, offset, (err) => (err ? session.fail(req.id, err) : session.reply(req.id, {})));
}

export function queryOffset(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  const topic = required<string>(req, "topic", "string");
  const queueId = required<number>(req, "queueId", "uint");
  ctx.offsets.committed(group, topic, queueId, (offset) => session.reply(req.id, { offset }));
}

/** The members that share the group's queues: POP members take none (the broker hands their messages out). */
export function consumerList(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  ctx.groups.view(group, (view) => {
    const clientIds = Object.entries(view?.members ?? {}).filter(([, m]) => m.model !== "pop").map(([id]) => id).sort();
    session.reply(req.id, { group, clientIds });
  });
}

export function consumerProgress(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  ctx.groups.view(group, (view) => {
    if (!view) return session.fail(req.id, new BrokerError(ErrorCode.BAD_REQUEST, `consumer group "${group}" does not exist`));
    const topics = new Set<string>();
    for (const m of Object.values(view.members)) for (const t of Object.keys(m.subscriptions)) topics.add(t);
    for (const key of Object.keys(view.offsets)) topics.add(key.slice(0, key.lastIndexOf(":")));
    const { store } = ctx;
    const queues = [];
    let totalLag = 0;
    for (const topic of [...topics].sort()) {
      const t = ctx.topics.get(topic);
      if (!t) continue;
      for (let queueId = 0; queueId < t.queues; queueId++) {
        const brokerOffset = store.maxOffset(topic, queueId);
        const consumerOffset = view.offsets[offsetKey(topic, queueId)] ?? -1;
        const lag = Math.max(0, brokerOffset - Math.max(0, consumerOffset));
        totalLag += lag;
        queues.push({ topic, queueId, brokerOffset, consumerOffset, lag, lastTimestamp: store.lastStoreTimestamp(topic, queueId) });
      }
    }
    const members = Object.entries(view.members).map(([clientId, m]) => ({ clientId, model: m.model, subscriptions: m.subscriptions }));
    session.reply(req.id, { group, queues, totalLag, members });
  });
}

/** Moves a group to the first message stored at or after a time, on every queue of a topic. */
export function resetOffset(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  const topic = required<string>(req, "topic", "string");
  const timestamp = required<number>(req, "timestamp", "uint");
  const t = ctx.topics.forRead(topic);
  checkGroupLimit(ctx, group);
  const offsets: Record<number, number> = {};
  for (let q = 0; q < t.queues; q++) offsets[q] = ctx.store.offsetForTimestamp(topic, q, timestamp);
  let left = t.queues;
  let failed: BrokerError | undefined;
  for (let q = 0; q < t.queues; q++) {
    ctx.offsets.commit(group, topic, q, offsets[q], (err) => {
      failed ??= err;
      if (--left > 0) return;
      if (failed) return session.fail(req.id, failed);
      // Members drop what they hold of this topic and pull again from the new offsets.
      ctx.groups.view(group, (view) => {
        ctx.sessions.push(Object.keys(view?.members ?? {}), { op: "resetOffset", group, topic, offsets });
        session.reply(req.id, { group, topic, offsets });
      });
    });
  }
}
