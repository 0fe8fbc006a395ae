// Consume queues are derived data: deleted (all of them, or one queue's), or with the
// checkpoint gone, they are rebuilt from the CommitLog and answer pulls exactly as before.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode, tagsCode } from "../protocol/mod.ts";
import type { MessageStore } from "../storage/message-store.ts";
import { readCheckpoint, writeCheckpoint } from "../storage/checkpoint.ts";
import { bodyOf, files, item, Sandbox } from "./helpers/storage-env.ts";

const cfg = { segmentSize: 64 * 1024, flushIntervalMs: 60_000, indexSlots: 512, indexEntries: 4096, cqEntriesPerFile: 100 };
const QUEUES: [string, number][] = [["Orders", 0], ["Orders", 1], ["Orders", 2], ["Payments", 0], ["%RETRY%g1", 0]];
const TAGS = ["paid", "refunded", undefined, "shipped"];

/** Everything a consumer could observe of the queues. */
function observe(s: MessageStore): unknown {
  const out: Record<string, unknown> = {};
  for (const [topic, queueId] of QUEUES) {
    const all: unknown[] = [];
    for (let off = s.minOffset(topic, queueId); off < s.maxOffset(topic, queueId);) {
      const r = s.getMessages(topic, queueId, off, 17, 1 << 20);
      for (const x of r.records) all.push([x.queueOffset, x.commitLogOffset, x.size, x.storeTimestamp, Array.from(new Uint8Array((decode(x.message) as { body: Uint8Array }).body).slice(0, 8))]);
      off = r.nextOffset;
    }
    const paid = tagsCode("paid");
    const filtered: unknown[] = [];
    for (let off = 0; off < s.maxOffset(topic, queueId);) {
      const r = s.getMessages(topic, queueId, off, 5, 1 << 20, (c) => c === paid);
      filtered.push([r.status, r.nextOffset, r.records.map((x) => x.queueOffset)]);
      off = r.nextOffset;
    }
    out[`${topic}/${queueId}`] = {
      min: s.minOffset(topic, queueId),
      max: s.maxOffset(topic, queueId),
      last: s.lastStoreTimestamp(topic, queueId),
      mid: s.offsetForTimestamp(topic, queueId, s.lastStoreTimestamp(topic, queueId) - 1),
      all,
      filtered,
    };
  }
  return out;
}

async function populated(sb: Sandbox): Promise<{ dir: string; before: unknown }> {
  const dir = sb.dir();
  const s = sb.open(dir, cfg);
  let n = 0;
  for (let b = 0; b < 60; b++) {
    const items = [];
    for (let k = 0; k < 10; k++, n++) {
      const [topic, queueId] = QUEUES[(n * 7) % QUEUES.length];
      items.push(item(topic, queueId, { body: bodyOf(50 + (n % 13) * 40, n), tags: TAGS[n % TAGS.length], keys: [`k${n}`] }));
    }
    s.appendBatch(items);
  }
  const before = observe(s);
  await s.close();
  return { dir, before };
}

test("the whole consumequeue dir deleted: rebuilt, same pulls, offsets continue", async () => {
  const sb = new Sandbox();
  try {
    const { dir, before } = await populated(sb);
    files.remove(`${dir}/consumequeue`, { recursive: true });
    const s = sb.open(dir, cfg);
    assert.equal(observe(s), before);
    const max = s.maxOffset("Orders", 1);
    assert.is(s.appendBatch([item("Orders", 1)])[0].queueOffset, max);
    await s.close();
    // And the rebuilt queues were flushed: a plain reopen sees them.
    const again = sb.open(dir, cfg);
    assert.is(again.maxOffset("Orders", 1), max + 1);
  } finally {
    await sb.cleanup();
  }
});

test("one queue's dir deleted: that queue rebuilt, the others untouched", async () => {
  const sb = new Sandbox();
  try {
    const { dir, before } = await populated(sb);
    files.remove(`${dir}/consumequeue/Orders/1`, { recursive: true });
    files.remove(`${dir}/consumequeue/%RETRY%g1`, { recursive: true });
    const s = sb.open(dir, cfg);
    assert.equal(observe(s), before);
  } finally {
    await sb.cleanup();
  }
});

test("no checkpoint: the whole log is verified and the queues come out the same", async () => {
  const sb = new Sandbox();
  try {
    const { dir, before } = await populated(sb);
    files.remove(`${dir}/checkpoint`);
    let s = sb.open(dir, cfg);
    assert.equal(observe(s), before);
    await s.close();
    files.remove(`${dir}/checkpoint`);
    files.remove(`${dir}/consumequeue`, { recursive: true });
    files.remove(`${dir}/index`, { recursive: true });
    s = sb.open(dir, cfg);
    assert.equal(observe(s), before);
  } finally {
    await sb.cleanup();
  }
});

test("a garbage checkpoint is ignored", async () => {
  const sb = new Sandbox();
  try {
    const { dir, before } = await populated(sb);
    const h = files.open(`${dir}/checkpoint`);
    h.write(new Uint8Array([0xff, 0x00, 0x13, 0x37]), 0);
    h.close();
    const s = sb.open(dir, cfg);
    assert.equal(observe(s), before);
  } finally {
    await sb.cleanup();
  }
});

test("a checkpoint whose offsets fall inside a record loses nothing", async () => {
  const sb = new Sandbox();
  try {
    const { dir, before } = await populated(sb);
    const cp = readCheckpoint(files, `${dir}/checkpoint`)!;
    const odd = cp.commitLogFlushed - 1000 - 13; // somewhere inside the last segment, not a boundary
    await writeCheckpoint(files, `${dir}/checkpoint`, { ...cp, commitLogFlushed: odd, dispatched: odd, indexFlushed: odd });
    const s = sb.open(dir, cfg);
    assert.equal(observe(s), before);
    assert.is(s.queryByKey("Orders", "k599", 5).length + s.queryByKey("Payments", "k599", 5).length + s.queryByKey("%RETRY%g1", "k599", 5).length, 1);
  } finally {
    await sb.cleanup();
  }
});

test.run();
