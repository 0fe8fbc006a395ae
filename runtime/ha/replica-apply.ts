// What a slave derives from the records it replicated, as its master did when it wrote them:
// queue actors told their new ends (held pulls on the slave wake), committed offsets applied to
// group actors, timer-topic records linked into the slave's own wheel, half messages begun and op
// records ended as transaction actors. None of it writes: a slave checks no transaction, fires no
// timer and delivers no delayed message (its master does); it holds the state so that it can when
// it is promoted.
import { CONSUMER_OFFSETS_TOPIC, decode, TIMER_TOPIC, TOPIC_DELETIONS_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from "../../protocol/mod.ts";
import { offsetsEvent } from "../services/offset-service.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import type { TxEvent, TxInput } from "../../actors/transaction.machine.ts";
import type { AppendItem, AppendResult, ReplicatedRecord } from "../../storage/message-store.ts";
import type { ReplicaHost } from "./replica-host.ts";

export function applyReplicated(broker: ReplicaHost, records: ReplicatedRecord[]): void {
  if (records.length === 0) return;
  const touched = new Map<string, [string, number, number, number]>();
  const timerItems: AppendItem[] = [];
  const timerResults: AppendResult[] = [];
  const begin: TxInput[] = [];
  const ends: [string, TxEvent][] = [];
  for (const r of records) {
    const t = broker.topics.get(r.topic);
    // A record of a topic the master's topic table has not reached us with yet.
    if (!t || t.queues <= r.queueId) broker.topics.create(r.topic, Math.max(r.queueId + 1, t?.queues ?? broker.config.defaultQueues), t?.perm ?? PERM_RW);
    touched.set(`${r.topic}\u0000${r.queueId}`, [r.topic, r.queueId, r.queueOffset + 1, r.storeTimestamp]);
    const m = r.message; // decoded for system topics, whose records make this state
    if (!m) continue;
    try {
      if (r.topic === CONSUMER_OFFSETS_TOPIC) {
        broker.send(offsetsEvent(m.body as Uint8Array));
      } else if (r.topic === TOPIC_DELETIONS_TOPIC && typeof m.body === "string") {
        // The store dropped the queues as it applied the record; the topic leaves the table too.
        if (broker.topics.get(m.body)) void broker.topics.remove(m.body);
      } else if (r.topic === TIMER_TOPIC) {
        timerItems.push({ topic: TIMER_TOPIC, queueId: r.queueId, bytes: new Uint8Array(0), tagsCode: r.tagsCode, msgId: String(r.id) });
        timerResults.push({ commitLogOffset: r.commitLogOffset, queueOffset: r.queueOffset, size: r.size, storeTimestamp: r.storeTimestamp });
      } else if (r.topic === TRANS_HALF_TOPIC && typeof m.id === "string" && typeof m.group === "string") {
        begin.push({ id: m.id, group: m.group, halfOffset: r.commitLogOffset, checkAt: r.storeTimestamp + broker.config.transactionTimeoutMs });
      } else if (r.topic === TRANS_OP_HALF_TOPIC) {
        const op = decode(m.body as Uint8Array) as { id?: unknown; action?: unknown };
        if (typeof op.id === "string" && (op.action === "COMMIT" || op.action === "ROLLBACK" || op.action === "DISCARD")) ends.push([op.id, { type: "ENDED", action: op.action }]);
      }
    } catch (e) {
      console.error(`${r.topic}: the replicated record at ${r.commitLogOffset} is unreadable (${(e as Error).message}); skipped`);
    }
  }
  if (timerItems.length > 0) broker.timer.dispatch(timerItems, timerResults);
  if (begin.length > 0) broker.send({ type: "TX_BEGIN", txs: begin });
  if (ends.length > 0) broker.send({ type: "TX_DELIVER", events: ends });
  broker.send({ type: "APPEND_BATCH", queues: [...touched.values()] });
}

/** The master's topic table (sent at the handshake and on every change): created or widened here. */
export function applyTopics(broker: ReplicaHost, topics: Record<string, { queues: number; perm: number }>): void {
  for (const [name, t] of Object.entries(topics)) {
    if (!Number.isInteger(t?.queues) || !Number.isInteger(t?.perm)) continue;
    const mine = broker.topics.get(name);
    if (!mine || mine.queues < t.queues || mine.perm !== t.perm) broker.topics.create(name, Math.max(t.queues, mine?.queues ?? 0), t.perm);
  }
}
