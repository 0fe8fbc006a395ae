// The write path's wake-up of held pulls (runtime/services/append-pipeline.ts, queueNotifier, and
// PullHoldService.wake): a real store, a real queue actor, the real pipeline. A write answers the
// pulls it reaches before its gathered frames are sent, ahead of the queue actor's APPENDED, and
// each held pull is answered once.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import { createQueueMachine, type Hold } from "../actors/queue.machine.ts";
import { decode } from "../protocol/mod.ts";
import type { Actors } from "../runtime/context.ts";
import type { Session } from "../runtime/session.ts";
import { AppendPipeline, queueNotifier } from "../runtime/services/append-pipeline.ts";
import { PullHoldService } from "../runtime/services/pull-hold-service.ts";
import { clock, item, Sandbox } from "./helpers/storage-env.ts";

const small = { segmentSize: 64 * 1024, flushIntervalMs: 60_000, indexSlots: 1024, indexEntries: 4096, cqEntriesPerFile: 64 };

function harness(store: ReturnType<Sandbox["open"]>) {
  const replies: { id: unknown; offsets: number[] }[] = [];
  const session = { id: "ws-1", open: true, replyEncoded: (frame: Uint8Array) => {
    const r = decode(frame) as { id: unknown; msgs: [number][] };
    replies.push({ id: r.id, offsets: r.msgs.map((m) => m[0]) });
  } } as unknown as Session;
  let pulls: PullHoldService;
  const queue = createActor(createQueueMachine({ now: () => Date.now(), releaseHolds: (t, q, holds, reason) => pulls.release(t, q, holds, reason) }), { input: { topic: "T", queueId: 0, perm: 6 } }).start();
  const actors: Actors = {
    send: () => {},
    sendToQueue: (topic, queueId, event) => (topic === "T" && queueId === 0 ? (queue.send(event), true) : false),
    queueHolds: (topic, queueId) => (topic === "T" && queueId === 0 ? queue.getSnapshot().context.holds : []),
  };
  pulls = new PullHoldService({ clock, store, actors, sessions: { get: (id) => (id === "ws-1" ? session : undefined) }, delivered: () => {} });
  const atGather: { replies: number; actorMax: number }[] = [];
  let turn: (() => void) | undefined;
  const pipeline = new AppendPipeline({
    store,
    afterTurn: (fn) => (turn = fn),
    sendGathered: () => atGather.push({ replies: replies.length, actorMax: queue.getSnapshot().context.maxOffset }),
    flush: "async",
  });
  pipeline.addDispatcher(queueNotifier(actors, pulls));
  const hold = (reqId: number, offset: number): Hold => ({ sessionId: "ws-1", reqId, offset, maxCount: 32, maxBytes: 1 << 20, expression: "*", deadline: Date.now() + 30_000 });
  const write = (n: number) => {
    pipeline.append(Array.from({ length: n }, () => item("T", 0)), () => {});
    turn!();
  };
  return { queue, replies, atGather, write, hold, store };
}

test("a write answers the pulls it reaches before its frames leave, ahead of the queue actor's APPENDED, once each", async () => {
  const box = new Sandbox();
  let h: ReturnType<typeof harness> | undefined;
  try {
    h = harness(box.open(box.dir(), small));
    h.queue.send({ type: "PULL", hold: h.hold(1, 0) });
    h.queue.send({ type: "PULL", hold: h.hold(2, 0) });
    h.queue.send({ type: "PULL", hold: h.hold(3, 5) }); // past this write: stays held
    h.write(3);
    assert.equal(h.atGather, [{ replies: 2, actorMax: 0 }], "both answers were there to send, and the actor had not yet heard of the write");
    assert.equal(h.replies, [{ id: 1, offsets: [0, 1, 2] }, { id: 2, offsets: [0, 1, 2] }]);
    // The actor's own step came after, found them answered, and keeps the one still waiting.
    assert.is(h.queue.getSnapshot().context.maxOffset, 3);
    assert.equal(h.queue.getSnapshot().context.holds.map((x) => x.reqId), [3]);
    assert.is(h.queue.getSnapshot().value, "holding");
    h.write(3);
    assert.equal(h.replies.map((r) => r.id), [1, 2, 3], "each pull answered once");
    assert.equal(h.replies[2].offsets, [5]);
    assert.is(h.queue.getSnapshot().value, "idle");
  } finally {
    h?.queue.stop();
    await box.cleanup();
  }
});

test("a queue actor told of a write by someone else (no wake) answers its holds itself, once", async () => {
  const box = new Sandbox();
  let h: ReturnType<typeof harness> | undefined;
  try {
    h = harness(box.open(box.dir(), small));
    h.queue.send({ type: "PULL", hold: h.hold(1, 0) });
    h.store.appendBatch([item("T", 0)]);
    h.queue.send({ type: "APPENDED", maxOffset: 1, lastStoreTimestamp: 0 });
    h.queue.send({ type: "APPENDED", maxOffset: 1, lastStoreTimestamp: 0 });
    assert.equal(h.replies, [{ id: 1, offsets: [0] }]);
    assert.is(h.queue.getSnapshot().value, "idle");
  } finally {
    h?.queue.stop();
    await box.cleanup();
  }
});

test.run();
