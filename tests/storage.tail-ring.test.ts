// The CommitLog's in-memory tail is one ring that batches are encoded into: across many laps of
// a small ring, batches larger than the ring and batches that cross into a new segment, every
// record reads back the same from the tail and from disk, the tail never holds more than the
// ring, and a record read from the tail and stored again as it is (its bytes a view of the very
// ring region the batch is written into) is stored intact. An idle broker's releaseMemory drops
// the ring, and nothing reads differently for it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import type { AppendItem, MessageStore, StoredRecord } from "../storage/message-store.ts";
import { bodyOf, item, Sandbox } from "./helpers/storage-env.ts";

const RING = 16 * 1024;
const cfg = { segmentSize: 64 * 1024, flushIntervalMs: 60_000, indexSlots: 1024, indexEntries: 100_000, cqEntriesPerFile: 1000, tailBytes: RING };

function bodyOfRecord(r: StoredRecord): Uint8Array {
  return new Uint8Array((decode(r.message) as { body: Uint8Array }).body);
}

/** Served from the tail: two reads share one backing buffer (disk reads get a buffer each). */
function inTail(s: MessageStore, offset: number): boolean {
  return s.readRecord(offset)!.message.buffer === s.readRecord(offset)!.message.buffer;
}

test("records read back the same from the ring and from disk, over many laps", async () => {
  const sb = new Sandbox();
  try {
    const s = sb.open(sb.dir(), cfg);
    const sent: { offset: number; seed: number; size: number; queueId: number }[] = [];
    let seed = 0;
    let x = 7;
    const rand = (n: number) => ((x = (x * 1103515245 + 12345) >>> 0) % n);
    for (let b = 0; b < 400; b++) {
      // Mostly small batches; every 37th larger than the ring.
      const count = b % 37 === 36 ? 12 : 1 + rand(6);
      const items: AppendItem[] = [];
      const meta: { seed: number; size: number; queueId: number }[] = [];
      for (let k = 0; k < count; k++) {
        const size = b % 37 === 36 ? 2000 : 10 + rand(3000);
        meta.push({ seed: ++seed, size, queueId: k % 2 });
        items.push(item("R", k % 2, { body: bodyOf(size, seed) }));
      }
      s.appendBatch(items).forEach((r, i) => sent.push({ offset: r.commitLogOffset, ...meta[i] }));
      const held = s.memory().tailBytes;
      assert.ok(held <= RING || b % 37 === 36, `batch ${b}: the tail holds ${held} B`);
      // The newest records (from the tail) and a few random older ones (from disk).
      for (const e of [...sent.slice(-8), sent[rand(sent.length)], sent[rand(sent.length)]]) {
        assert.equal(bodyOfRecord(s.readRecord(e.offset)!), bodyOf(e.size, e.seed), `batch ${b}: record of seed ${e.seed}`);
      }
    }
    assert.ok(s.maxCommitLogOffset > 8 * cfg.segmentSize, "crossed several segments");
    assert.ok(inTail(s, sent[sent.length - 1].offset), "the newest record is served from the tail");
    assert.ok(!inTail(s, sent[0].offset), "the oldest is read from disk");
    // Everything, through the consume queues.
    for (const q of [0, 1]) {
      const mine = sent.filter((e) => e.queueId === q);
      const got = s.getMessages("R", q, 0, 100_000, 1 << 30);
      assert.is(got.records.length, mine.length);
      got.records.forEach((r, i) => assert.equal(bodyOfRecord(r), bodyOf(mine[i].size, mine[i].seed)));
    }
  } finally {
    await sb.cleanup();
  }
});

test("a record stored again from its tail view survives the batch that reuses its ring bytes", async () => {
  const sb = new Sandbox();
  try {
    const s = sb.open(sb.dir(), cfg);
    const sent: number[] = [];
    for (let i = 0; i < 40; i++) sent.push(s.appendBatch([item("R", 0, { body: bodyOf(700, i) })])[0].commitLogOffset);
    let oldest = 0;
    for (let round = 0; round < 60; round++) {
      // The oldest record still in the tail sits where the next batch goes.
      while (!inTail(s, sent[oldest])) oldest++;
      const rec = s.readRecord(sent[oldest])!;
      const copy = rec.message.slice();
      const m = decode(copy) as { id: string };
      const again: AppendItem = { topic: "R", queueId: 0, bytes: rec.message, tagsCode: 0, msgId: m.id };
      // A filler first, so the batch's first bytes land on the record being stored again.
      const [, r] = s.appendBatch([item("R", 0, { body: bodyOf(300 + 7 * round, 1000 + round) }), again]);
      const stored = s.readRecord(r.commitLogOffset)!;
      assert.equal(new Uint8Array(stored.message), new Uint8Array(copy), `round ${round}: stored intact`);
      sent.push(r.commitLogOffset);
    }
  } finally {
    await sb.cleanup();
  }
});

test("releaseMemory lets the ring go: reads come from disk, the next append starts a new ring", async () => {
  const sb = new Sandbox();
  try {
    const s = sb.open(sb.dir(), cfg);
    const first = Array.from({ length: 8 }, (_, i) => s.appendBatch([item("R", 0, { body: bodyOf(500, i) })])[0].commitLogOffset);
    assert.ok(inTail(s, first[7]));
    s.releaseMemory();
    assert.is(s.memory().tailBytes, 0);
    first.forEach((offset, i) => {
      assert.not.ok(inTail(s, offset), `record ${i} is read from disk`);
      assert.equal(bodyOfRecord(s.readRecord(offset)!), bodyOf(500, i), `record ${i}`);
    });
    const next = s.appendBatch([item("R", 0, { body: bodyOf(500, 99) })])[0].commitLogOffset;
    assert.ok(inTail(s, next), "a new ring holds the next append");
    assert.ok(s.memory().tailBytes > 0);
    assert.equal(bodyOfRecord(s.readRecord(next)!), bodyOf(500, 99));
    assert.equal(bodyOfRecord(s.readRecord(first[7])!), bodyOf(500, 7));
  } finally {
    await sb.cleanup();
  }
});

test.run();
