// Retention in the store: deleteExpired takes the oldest segments that are old enough and below
// the floor, never the active one; ConsumeQueue files and min offsets follow; a read below the
// new min is OFFSET_MOVED; everything newer is served as before; a reopen agrees.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { files, item, Sandbox } from "./helpers/storage-env.ts";

const SEG = 64 * 1024;
const cfg = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 256, indexEntries: 4096, cqEntriesPerFile: 32 };

test("old segments, their ConsumeQueue files and min offsets go; the floor and the active segment stay", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const s = sb.open(dir, cfg);
    const at: number[] = [];
    for (let i = 0; i < 600; i++) at.push(s.appendBatch([item("T", 0, { body: `m${i}-${"x".repeat(300)}` })])[0].commitLogOffset);
    const segments = files.list(`${dir}/commitlog`).length;
    const cqFiles = files.list(`${dir}/consumequeue/T/0`).length;
    // Too young: nothing goes.
    assert.is(s.deleteExpired({ now: Date.now(), reservedMs: 3_600_000, floor: Infinity }).segments, 0);
    // A floor at message 300: only segments wholly below it go.
    const floor = at[300];
    const pass = s.deleteExpired({ now: Date.now() + 10_000, reservedMs: 1000, floor });
    assert.ok(pass.segments > 0 && pass.segments < segments - 1);
    assert.ok(s.minCommitLogOffset <= floor, "nothing at or above the floor");
    const min = s.minOffset("T", 0);
    assert.ok(min > 0 && min <= 300);
    assert.equal(pass.queues, [["T", 0, min]]);
    assert.ok(files.list(`${dir}/consumequeue/T/0`).length < cqFiles, "ConsumeQueue files followed");
    const below = s.getMessages("T", 0, 0, 10, 1 << 20);
    assert.is(below.status, "OFFSET_MOVED");
    assert.is(below.nextOffset, min);
    let n = 0;
    for (let off = min; off < 600;) {
      const r = s.getMessages("T", 0, off, 50, 1 << 20);
      n += r.records.length;
      off = r.nextOffset;
    }
    assert.is(n, 600 - min, "everything from the new min is served");
    // No floor: all but the segment being written.
    s.deleteExpired({ now: Date.now() + 10_000, reservedMs: 1000, floor: Infinity });
    assert.is(files.list(`${dir}/commitlog`).length, 1);
    const last = s.minOffset("T", 0);
    await s.close();
    const again = sb.open(dir, cfg);
    assert.is(again.minOffset("T", 0), last, "a reopen agrees");
    assert.is(again.getMessages("T", 0, last, 1, 1 << 20).status, "FOUND");
  } finally {
    await sb.cleanup();
  }
});

test.run();
