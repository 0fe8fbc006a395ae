// getMessages reads the records of a pull that the tail no longer holds with one positional read
// per window of nearby records (CommitLog.readMany), not one per record: counted here on the real
// files, with every body checked, across segment ends, around a damaged record, and kept intact
// while later reads reuse the window.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import type { FileHandle, Files } from "../platform/platform.ts";
import type { StoredRecord } from "../storage/message-store.ts";
import { bodyOf, files, item, Sandbox } from "./helpers/storage-env.ts";

const SEG = 256 * 1024;
const small = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 1024, indexEntries: 8192, cqEntriesPerFile: 4096, tailBytes: 8 * 1024 };

/** The real files, with positional reads of CommitLog segments counted. */
function countingReads(): { files: Files; reads: () => number } {
  let count = 0;
  const wrapped: Files = {
    ...files,
    open(path, options) {
      const h = files.open(path, options);
      if (!path.includes("/commitlog/")) return h;
      const counted: FileHandle = { ...h, read: (b, p) => (count++, h.read(b, p)), write: (b, p) => h.write(b, p), sync: () => h.sync(), truncate: (n) => h.truncate(n), size: () => h.size(), close: () => h.close() };
      return counted;
    },
  };
  return { files: wrapped, reads: () => count };
}

const bodyOfRecord = (r: StoredRecord) => new Uint8Array((decode(r.message) as { body: Uint8Array }).body);
/** Body size of message i: mostly 1 KiB, now and then 20 KiB (so windows end on size too). */
const sizeOf = (i: number) => (i % 37 === 5 ? 20_000 : 1000);

/** 3 queues, records interleaved as round-robin sends leave them: q, q+1, q+2, q, ... */
function fill(store: ReturnType<Sandbox["open"]>, n: number): void {
  for (let i = 0; i < n; i += 10) {
    store.appendBatch(Array.from({ length: Math.min(10, n - i) }, (_, k) => item("R", (i + k) % 3, { body: bodyOf(sizeOf(i + k), i + k) })));
  }
}

test("a pull's records from disk take one read per window, not one each; every body as sent, across segments", async () => {
  const sb = new Sandbox();
  try {
    const counting = countingReads();
    const store = sb.open(sb.dir(), small, { files: counting.files });
    fill(store, 900);
    assert.ok(store.maxCommitLogOffset > 5 * SEG, "several segments");
    for (const pull of [1, 32, 300]) {
      for (let q = 0; q < 3; q++) {
        let offset = 0;
        let seen = 0;
        const before = counting.reads();
        while (offset < 300) {
          const r = store.getMessages("R", q, offset, pull, 4 << 20);
          for (const rec of r.records) {
            const i = rec.queueOffset * 3 + q;
            assert.equal(bodyOfRecord(rec), bodyOf(sizeOf(i), i), `queue ${q} offset ${rec.queueOffset}, pulls of ${pull}`);
            assert.is(rec.queueId, q);
          }
          seen += r.records.length;
          offset = r.nextOffset;
        }
        assert.is(seen, 300);
        const reads = counting.reads() - before;
        if (pull > 1) assert.ok(reads <= 300 / 4, `queue ${q}, pulls of ${pull}: ${reads} reads for 300 records`);
      }
    }
  } finally {
    await sb.cleanup();
  }
});

test("records a caller keeps stay as they were while later pulls reuse the read window", async () => {
  const sb = new Sandbox();
  try {
    const store = sb.open(sb.dir(), small);
    fill(store, 300);
    const first = store.getMessages("R", 0, 0, 50, 4 << 20).records;
    for (let q = 0; q < 3; q++) store.getMessages("R", q, 20, 80, 4 << 20);
    first.forEach((rec) => assert.equal(bodyOfRecord(rec), bodyOf(sizeOf(rec.queueOffset * 3), rec.queueOffset * 3)));
  } finally {
    await sb.cleanup();
  }
});

test("a damaged record inside a window is left out; its neighbours are read, and the next pull starts past it", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const store = sb.open(dir, small);
    fill(store, 60);
    await store.close();
    // Damage queue 1's offset 4 in place: its header's physical offset no longer says where it is.
    const reopened = sb.open(dir, small);
    const victim = reopened.getMessages("R", 1, 4, 1, 4 << 20).records[0];
    const seg = Math.floor(victim.commitLogOffset / SEG) * SEG;
    const h = files.open(`${dir}/commitlog/${String(seg).padStart(20, "0")}`);
    h.write(new Uint8Array(8).fill(0xee), victim.commitLogOffset - seg + 28);
    h.close();
    const r = reopened.getMessages("R", 1, 0, 10, 4 << 20);
    assert.equal(r.records.map((x) => x.queueOffset), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert.is(r.nextOffset, 10);
    for (const rec of r.records) assert.equal(bodyOfRecord(rec), bodyOf(sizeOf(rec.queueOffset * 3 + 1), rec.queueOffset * 3 + 1));
  } finally {
    await sb.cleanup();
  }
});

test.run();
