// The send coalescer on its own, with a frame sink that records frames and answers them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError } from "../protocol/mod.ts";
import { type ItemOutcome, type OutgoingFrame, SendCoalescer } from "../client/send-coalescer.ts";

function recorder(answer?: (f: OutgoingFrame) => ItemOutcome[] | Promise<ItemOutcome[]>) {
  const frames: OutgoingFrame[] = [];
  let offset = 0;
  const sink = (f: OutgoingFrame) => {
    frames.push(f);
    if (answer) return Promise.resolve(answer(f));
    // commitLogOffset carries the message's tag byte, so a test can tell whose result is whose.
    return Promise.resolve(f.msgs.map((m, i) => ({
      code: 0 as const, queueId: f.queueIds?.[i] ?? 0, queueOffset: offset++, commitLogOffset: m[0],
    })));
  };
  return { frames, sink };
}

const bytes = (tag: number, size = 8) => new Uint8Array(size).fill(tag);
const later = () => Date.now() + 3000;

test("sends of one turn leave as one frame, each caller gets its own result", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 256, maxBytes: 1 << 20 });
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => c.add(bytes(i), undefined, later())));
  assert.is(frames.length, 1);
  assert.is(frames[0].msgs.length, 5);
  assert.is(frames[0].queueIds, undefined);
  assert.equal(results.map((r) => r.commitLogOffset), [1, 2, 3, 4, 5]);
  assert.equal(results.map((r) => r.queueOffset), [0, 1, 2, 3, 4]);
});

test("a full batch leaves at once; the rest of the turn follows in the next frame", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 4, maxBytes: 1 << 20 });
  const all = Array.from({ length: 10 }, (_, i) => c.add(bytes(i), undefined, later()));
  assert.is(frames.length, 2, "two full frames left synchronously");
  assert.is(c.waiting, 2);
  await Promise.all(all);
  assert.equal(frames.map((f) => f.msgs.length), [4, 4, 2]);
});

test("maxBytes splits frames; a message larger than maxBytes travels alone", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 100, maxBytes: 100 });
  await Promise.all([
    c.add(bytes(1, 40), undefined, later()),
    c.add(bytes(2, 40), undefined, later()),
    c.add(bytes(3, 40), undefined, later()), // 120 > 100: starts a new frame
    c.add(bytes(4, 500), undefined, later()), // alone
    c.add(bytes(5, 10), undefined, later()),
  ]);
  assert.equal(frames.map((f) => f.msgs.map((m) => m[0])), [[1, 2], [3], [4], [5]]);
});

test("sends of a later turn make a new frame", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 256, maxBytes: 1 << 20 });
  await c.add(bytes(1), undefined, later());
  await c.add(bytes(2), undefined, later());
  assert.is(frames.length, 2);
});

test("per-message errors reject only their own caller, with their own code", async () => {
  const { sink } = recorder((f) =>
    f.msgs.map((m) => m[0] === 2
      ? { code: "MESSAGE_TOO_LARGE", message: "too big" }
      : { code: 0, queueId: 0, queueOffset: 0, commitLogOffset: m[0] })
  );
  const c = new SendCoalescer(sink, { maxMessages: 256, maxBytes: 1 << 20 });
  const out = await Promise.allSettled([1, 2, 3].map((i) => c.add(bytes(i), undefined, later())));
  assert.is(out[0].status, "fulfilled");
  assert.is(out[2].status, "fulfilled");
  assert.is(out[1].status, "rejected");
  const err = (out[1] as PromiseRejectedResult).reason;
  assert.ok(err instanceof BrokerError);
  assert.is(err.code, "MESSAGE_TOO_LARGE");
  assert.is(err.message, "too big");
});

test("a failed frame fails each of its messages with the frame's error", async () => {
  const c = new SendCoalescer(() => Promise.reject(new BrokerError("CONNECTION_CLOSED", "gone")), { maxMessages: 256, maxBytes: 1 << 20 });
  const out = await Promise.allSettled([1, 2].map((i) => c.add(bytes(i), undefined, later())));
  for (const o of out) assert.is((o as PromiseRejectedResult).reason.code, "CONNECTION_CLOSED");
  // A sink that throws synchronously, or answers too few results, fails its messages too.
  const thrower = new SendCoalescer(() => {
    throw new BrokerError("WRONG_TYPE", "bad");
  }, { maxMessages: 256, maxBytes: 1 << 20 });
  await thrower.add(bytes(1), undefined, later()).then(() => assert.unreachable(), (e) => assert.is(e.code, "WRONG_TYPE"));
  const short = new SendCoalescer(() => Promise.resolve([]), { maxMessages: 256, maxBytes: 1 << 20 });
  await short.add(bytes(1), undefined, later()).then(() => assert.unreachable(), (e) => assert.is(e.code, "INTERNAL_ERROR"));
});

test("queueIds go all or nothing per frame: a mixed turn leaves as two frames", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 256, maxBytes: 1 << 20 });
  const r = await Promise.all([
    c.add(bytes(1), 2, later()),
    c.add(bytes(2), undefined, later()),
    c.add(bytes(3), 0, later()),
  ]);
  assert.is(frames.length, 2);
  assert.equal(frames[0].queueIds, [2, 0]);
  assert.equal(frames[0].msgs.map((m) => m[0]), [1, 3]);
  assert.is(frames[1].queueIds, undefined);
  assert.equal(r.map((x) => x.commitLogOffset), [1, 2, 3], "results still reach the right callers");
});

test("the frame's timeout is the latest deadline of its messages", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 256, maxBytes: 1 << 20 });
  const now = Date.now();
  await Promise.all([c.add(bytes(1), undefined, now + 500), c.add(bytes(2), undefined, now + 2000)]);
  assert.ok(frames[0].timeoutMs > 1500 && frames[0].timeoutMs <= 2000, `timeout ${frames[0].timeoutMs}`);
  await c.add(bytes(3), undefined, now - 10);
  assert.is(frames[1].timeoutMs, 1, "a deadline already past still gets a positive timeout");
});

test("the timer schedule gathers sends issued across microtasks of one turn", async () => {
  const { frames, sink } = recorder();
  const c = new SendCoalescer(sink, { maxMessages: 256, maxBytes: 1 << 20, schedule: "timer" });
  const all: Promise<unknown>[] = [c.add(bytes(1), undefined, later())];
  await Promise.resolve();
  await Promise.resolve();
  all.push(c.add(bytes(2), undefined, later()));
  await Promise.all(all);
  assert.is(frames.length, 1);
  assert.is(frames[0].msgs.length, 2);
  assert.is(c.framesSent, 1);
});

test.run();
