// The MessageStore's write and read paths: CommitLog segments and blank markers, consume queue
// offsets, getMessages semantics (RocketMQ's), timestamps, scan.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError, decode, ErrorCode, tagsCode } from "../protocol/mod.ts";
import { MessageStore, type AppendItem, type StoredRecord } from "../storage/message-store.ts";
import { BLANK_MIN, HEADER_SIZE, MAGIC_BLANK } from "../storage/record.ts";
import { bodyOf, clock, files, item, Sandbox } from "./helpers/storage-env.ts";
import { loadPlatform } from "../platform/select.ts";
import { WRITE_PIECE } from "../platform/platform.ts";
import CRC32 from "crc-32";

const SEG = 64 * 1024;
const small = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 1024, indexEntries: 4096, cqEntriesPerFile: 64 };

/** The body as a plain Uint8Array (cbor-x hands out Buffers on Node). */
function bodyOfRecord(r: StoredRecord): Uint8Array {
  return new Uint8Array((decode(r.message) as { body: Uint8Array }).body);
}

test("append and read back across segment boundaries, blank markers, contiguous offsets; again after reopen", async () => {
  const sb = new Sandbox();
  try {
    const dir = { path: sb.dir() };
    let store = sb.open(dir.path, { ...small });
    const sizes = [10, 20_000, 300, 5_000, 1, 12_345, 64, 19_999, 2_048, 700];
    const sent: { topic: string; queueId: number; body: Uint8Array; queueOffset: number; commitLogOffset: number }[] = [];
    let seed = 0;
    for (let round = 0; round < 12; round++) {
      const batch: AppendItem[] = [];
      for (let k = 0; k < 7; k++) {
        const topic = k % 2 ? "TopicA" : "TopicB";
        const queueId = k % 3;
        const body = bodyOf(sizes[seed % sizes.length], seed);
        seed++;
        batch.push(item(topic, queueId, { body }));
      }
      const results = store.appendBatch(batch);
      results.forEach((r, i) => sent.push({ topic: batch[i].topic, queueId: batch[i].queueId, body: new Uint8Array((decode(batch[i].bytes) as { body: Uint8Array }).body), queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset }));
      // One record never spans two segments.
      for (const r of results) assert.is(Math.floor(r.commitLogOffset / SEG), Math.floor((r.commitLogOffset + r.size - 1) / SEG));
    }
    assert.ok(store.maxCommitLogOffset > 5 * SEG, "several segments written");
    const segs = files.list(`${dir.path}/commitlog`);
    assert.ok(segs.length >= 6);
    assert.ok(segs.every((n) => /^\d{20}$/.test(n) && Number(n) % SEG === 0));
    // Every finished segment is full length and ends with a blank marker right after its last record.
    for (const name of segs.slice(0, -1)) {
      assert.is(files.stat(`${dir.path}/commitlog/${name}`)!.size, SEG);
      const start = Number(name);
      const last = sent.filter((s) => Math.floor(s.commitLogOffset / SEG) === start / SEG).pop()!;
      const end = recordEnd(store, last);
      const h = files.open(`${dir.path}/commitlog/${name}`);
      const b = new Uint8Array(8);
      h.read(b, end - start);
      h.close();
      const dv = new DataView(b.buffer);
      assert.is(dv.getUint32(4), MAGIC_BLANK, `blank marker in ${name}`);
      assert.is(dv.getUint32(0), SEG - (end - start));
      assert.ok(dv.getUint32(0) >= BLANK_MIN);
    }

    const check = (s: MessageStore) => {
      const byQueue = new Map<string, typeof sent>();
      for (const x of sent) {
        const k = `${x.topic}/${x.queueId}`;
        byQueue.set(k, [...(byQueue.get(k) ?? []), x]);
      }
      for (const [k, list] of byQueue) {
        const [topic, q] = k.split("/");
        assert.equal(list.map((x) => x.queueOffset), list.map((_, i) => i), `offsets of ${k} contiguous from 0`);
        assert.is(s.maxOffset(topic, Number(q)), list.length);
        const got: StoredRecord[] = [];
        let offset = 0;
        while (offset < list.length) {
          const r = s.getMessages(topic, Number(q), offset, 5, 1 << 20);
          assert.is(r.status, "FOUND");
          got.push(...r.records);
          offset = r.nextOffset;
        }
        assert.is(got.length, list.length);
        got.forEach((r, i) => {
          assert.is(r.queueOffset, i);
          assert.is(r.queueId, Number(q));
          assert.is(r.commitLogOffset, list[i].commitLogOffset);
          assert.equal(bodyOfRecord(r), list[i].body);
          assert.is(s.topicOf(r), topic);
        });
      }
      assert.equal(s.queueKeys().map((x) => `${x.topic}/${x.queueId}`).sort(), [...byQueue.keys()].sort());
    };
    check(store);
    await store.close();
    store = sb.open(dir.path, { ...small });
    check(store);
    // And it keeps appending where it left off.
    const more = store.appendBatch([item("TopicA", 1, { body: "after" })]);
    assert.is(more[0].queueOffset, sent.filter((x) => x.topic === "TopicA" && x.queueId === 1).length);
    assert.is(decode(store.readRecord(more[0].commitLogOffset)!.message) && bodyText(store.readRecord(more[0].commitLogOffset)!), "after");
    await store.close();
  } finally {
    await sb.cleanup();
  }
});

function recordEnd(store: MessageStore, x: { commitLogOffset: number }): number {
  const r = store.readRecord(x.commitLogOffset)!;
  return r.commitLogOffset + r.size;
}
function bodyText(r: StoredRecord): string {
  return String((decode(r.message) as { body: unknown }).body);
}

test("a record larger than a segment is refused with MESSAGE_TOO_LARGE and nothing is written", async () => {
  const sb = new Sandbox();
  try {
    const dir = { path: sb.dir() };
    const store = sb.open(dir.path, { ...small });
    store.appendBatch([item("T", 0)]);
    const before = store.maxCommitLogOffset;
    try {
      store.appendBatch([item("T", 0), item("T", 0, { body: bodyOf(SEG, 1) })]);
      assert.unreachable("should throw");
    } catch (e) {
      assert.instance(e, BrokerError);
      assert.is((e as BrokerError).code, ErrorCode.MESSAGE_TOO_LARGE);
    }
    assert.is(store.maxCommitLogOffset, before);
    assert.is(store.maxOffset("T", 0), 1);
    // The largest record that fits does fit.
    const fits = SEG - BLANK_MIN - HEADER_SIZE;
    const probe = item("T", 0, { body: new Uint8Array(0) });
    const overhead = probe.bytes.length + 2; // body length header grows to 3 bytes for big bodies
    const r = store.appendBatch([item("T", 0, { body: new Uint8Array(fits - overhead) })]);
    assert.is(r[0].size, SEG - BLANK_MIN);
    assert.is(r[0].commitLogOffset, SEG);
    // Exactly BLANK_MIN bytes left: the next record starts the next segment after an 8-byte blank.
    const next = store.appendBatch([item("T", 0, { body: "n" })]);
    assert.is(next[0].commitLogOffset, 2 * SEG);
    await store.close();
    const again = sb.open(dir.path, { ...small });
    assert.is(again.maxCommitLogOffset, 2 * SEG + next[0].size);
    assert.is(again.maxOffset("T", 0), 3);
    assert.is(bodyText(again.getMessages("T", 0, 2, 1, 1 << 20).records[0]), "n");
  } finally {
    await sb.cleanup();
  }
});

test("getMessages: NO_NEW_MSG, OFFSET_ILLEGAL, tag filtering (FOUND / NO_MATCHED_MSG), byte limit", async () => {
  const sb = new Sandbox();
  try {
    const dir = { path: sb.dir() };
    const store = sb.open(dir.path, { ...small });
    let r = store.getMessages("Nope", 0, 0, 10, 1 << 20);
    assert.is(r.status, "NO_NEW_MSG");
    r = store.getMessages("Nope", 0, 3, 10, 1 << 20);
    assert.is(r.status, "OFFSET_ILLEGAL");
    assert.is(r.nextOffset, 0);

    const items: AppendItem[] = [];
    for (let i = 0; i < 1000; i++) items.push(item("F", 0, { tags: i === 950 ? "rare" : i % 2 ? "odd" : "even", body: `m${i}` }));
    store.appendBatch(items);
    r = store.getMessages("F", 0, 1000, 10, 1 << 20);
    assert.is(r.status, "NO_NEW_MSG");
    assert.is(r.nextOffset, 1000);
    assert.is(r.maxOffset, 1000);
    r = store.getMessages("F", 0, 1001, 10, 1 << 20);
    assert.is(r.status, "OFFSET_ILLEGAL");
    assert.is(r.nextOffset, 1000);
    r = store.getMessages("F", 0, -1, 10, 1 << 20);
    assert.is(r.status, "OFFSET_ILLEGAL");
    assert.is(r.nextOffset, 0);

    const odd = tagsCode("odd");
    r = store.getMessages("F", 0, 0, 4, 1 << 20, (c) => c === odd);
    assert.is(r.status, "FOUND");
    assert.equal(r.records.map(bodyText), ["m1", "m3", "m5", "m7"]);
    assert.is(r.nextOffset, 8, "next offset is past the last record taken, not past the scan");

    // "rare" sits at 950, beyond one scan window from 0: NO_MATCHED_MSG moves past the scanned entries.
    const rare = tagsCode("rare");
    r = store.getMessages("F", 0, 0, 4, 1 << 20, (c) => c === rare);
    assert.is(r.status, "NO_MATCHED_MSG");
    assert.is(r.records.length, 0);
    assert.ok(r.nextOffset > 0 && r.nextOffset <= 950);
    let next = r.nextOffset;
    // Queue files hold 64 entries, so scans stop at file ends too; keep pulling as a consumer would.
    let found: StoredRecord[] = [];
    while (next < 1000 && found.length === 0) {
      r = store.getMessages("F", 0, next, 4, 1 << 20, (c) => c === rare);
      found = r.records;
      next = r.nextOffset;
    }
    assert.equal(found.map(bodyText), ["m950"]);
    assert.is(r.status, "FOUND");

    // Byte limit: at least one record, then stop before exceeding maxBytes.
    r = store.getMessages("F", 0, 0, 32, 1);
    assert.is(r.records.length, 1);
    assert.is(r.nextOffset, 1);
    const one = r.records[0].size;
    r = store.getMessages("F", 0, 0, 32, one * 3 + 1);
    assert.is(r.records.length, 3);
    await store.close();
  } finally {
    await sb.cleanup();
  }
});

test("fresh records are views of the in-memory tail; old ones read from disk the same", async () => {
  const sb = new Sandbox();
  try {
    const dir = { path: sb.dir() };
    const store = sb.open(dir.path, { ...small, tailBytes: 16 * 1024 });
    const results = [];
    for (let i = 0; i < 40; i++) results.push(...store.appendBatch([item("V", 0, { body: bodyOf(1000, i) })]));
    const fresh = store.readRecord(results[39].commitLogOffset)!;
    const again = store.readRecord(results[39].commitLogOffset)!;
    assert.is(fresh.message.buffer, again.message.buffer, "same backing buffer: served from the tail");
    const old = store.readRecord(results[0].commitLogOffset)!;
    const old2 = store.readRecord(results[0].commitLogOffset)!;
    assert.is.not(old.message.buffer, old2.message.buffer, "read from disk each time");
    assert.equal(bodyOfRecord(old), bodyOf(1000, 0));
    const all = store.getMessages("V", 0, 0, 100, 1 << 20);
    assert.is(all.records.length, 40);
    all.records.forEach((r, i) => assert.equal(bodyOfRecord(r), bodyOf(1000, i)));
    await store.close();
  } finally {
    await sb.cleanup();
  }
});

test("offsetForTimestamp, lastStoreTimestamp and scan", async () => {
  const sb = new Sandbox();
  try {
    const dir = { path: sb.dir() };
    let now = 1_000_000;
    const fake = { ...clock, now: () => now };
    let store = sb.open(dir.path, { ...small }, { clock: fake });
    for (let i = 0; i < 50; i++) {
      store.appendBatch([item("S", 0, { body: `s${i}` }), item("Other", 0)]);
      now += 10;
    }
    assert.is(store.offsetForTimestamp("S", 0, 0), 0);
    assert.is(store.offsetForTimestamp("S", 0, 1_000_000), 0);
    assert.is(store.offsetForTimestamp("S", 0, 1_000_001), 1);
    assert.is(store.offsetForTimestamp("S", 0, 1_000_250), 25);
    assert.is(store.offsetForTimestamp("S", 0, 1_000_490), 49);
    assert.is(store.offsetForTimestamp("S", 0, 9_000_000), 50);
    assert.is(store.lastStoreTimestamp("S", 0), 1_000_490);
    // A clock stepping back never makes store times go backwards.
    now = 5;
    const back = store.appendBatch([item("S", 0)]);
    assert.is(back[0].storeTimestamp, 1_000_490);
    await store.close();
    store = sb.open(dir.path, { ...small }, { clock: fake });
    assert.is(store.lastStoreTimestamp("S", 0), 1_000_490);
    assert.is(store.offsetForTimestamp("S", 0, 1_000_250), 25);
    const seen: StoredRecord[] = [];
    store.scan(0, (r) => seen.push(r));
    assert.is(seen.length, 101);
    assert.is(seen.filter((r) => store.topicOf(r) === "S").length, 51);
    const fromMid: StoredRecord[] = [];
    store.scan(seen[60].commitLogOffset, (r) => fromMid.push(r));
    assert.is(fromMid.length, 41);
    await store.close();
  } finally {
    await sb.cleanup();
  }
});

test("the platform's CRC-32 gives the crc-32 package's results at every size, either side of Node's cut-over", async () => {
  const native = (await loadPlatform()).crc32;
  if (!native) return console.log("  (this runtime has no native CRC-32: the package is used)");
  const bytes = new Uint8Array(5_000).map((_, i) => (i * 131 + 7) & 0xff);
  for (let n = 0; n <= bytes.length; n += n < 600 ? 1 : 97) {
    const data = bytes.subarray(bytes.length - n);
    assert.is(native(data), CRC32.buf(data) >>> 0, `${n} bytes`);
  }
  assert.is(native(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("a read of the entries the last write put in a queue comes from memory, and is the same as from the file", async () => {
  const box = new Sandbox();
  try {
    let cqReads = 0;
    const counting: typeof files = {
      ...files,
      open(path, options) {
        const h = files.open(path, options);
        if (!path.includes("/consumequeue/")) return h;
        return { ...h, read: (b: Uint8Array, p: number) => (cqReads++, h.read(b, p)), write: (b: Uint8Array, p: number) => h.write(b, p), sync: () => h.sync(), truncate: (n: number) => h.truncate(n), size: () => h.size(), close: () => h.close() };
      },
    };
    const dir = box.dir();
    const store = box.open(dir, small, { files: counting });
    store.appendBatch([item("T", 0), item("T", 0), item("T", 1)]);
    store.appendBatch([item("T", 0, { tags: "b" }), item("T", 0, { tags: "c" })]);
    const before = cqReads;
    const fresh = store.getMessages("T", 0, 2, 32, 1 << 20);
    assert.is(cqReads, before, "the last write's entries were not read back from the file");
    assert.equal(fresh.records.map((r) => r.queueOffset), [2, 3]);
    // Older entries come from the file; together they are what a reopened store reads.
    const all = store.getMessages("T", 0, 0, 32, 1 << 20);
    assert.ok(cqReads > before, "entries of an earlier write are read from the file");
    await store.close();
    const again = box.open(dir, small).getMessages("T", 0, 0, 32, 1 << 20);
    assert.equal(all.records.map((r) => [r.queueOffset, r.commitLogOffset, r.size]), again.records.map((r) => [r.queueOffset, r.commitLogOffset, r.size]));
  } finally {
    await box.cleanup();
  }
});

test("appendBatch(items, true) keeps the entries in memory, served from there, until writeEntries; a checkpoint writes any left", async () => {
  const box = new Sandbox();
  try {
    const cq = { reads: 0, writes: 0 };
    const counting: typeof files = {
      ...files,
      open(path, options) {
        const h = files.open(path, options);
        if (!path.includes("/consumequeue/")) return h;
        return { ...h, read: (b: Uint8Array, p: number) => (cq.reads++, h.read(b, p)), write: (b: Uint8Array, p: number) => (cq.writes++, h.write(b, p)), sync: () => h.sync(), truncate: (n: number) => h.truncate(n), size: () => h.size(), close: () => h.close() };
      },
    };
    const dir = box.dir();
    const store = box.open(dir, small, { files: counting });
    // More than a write's `recent` holds (64 entries) in one queue: served from the held write too.
    store.appendBatch(Array.from({ length: 100 }, () => item("T", 0)), true);
    assert.is(cq.writes, 0, "no entry written yet");
    const held = store.getMessages("T", 0, 20, 32, 1 << 20);
    assert.is(cq.reads, 0, "held entries are read from memory");
    assert.equal(held.records.map((r) => r.queueOffset), Array.from({ length: 32 }, (_, k) => 20 + k));
    store.writeEntries();
    assert.ok(cq.writes > 0, "writeEntries wrote them");
    const written = cq.writes;
    store.writeEntries();
    assert.is(cq.writes, written, "once");
    // Held and never handed to writeEntries: the checkpoint (here, close's) writes them.
    store.appendBatch([item("T", 0), item("T", 1)], true);
    await store.close();
    const again = box.open(dir, small);
    assert.is(again.getMessages("T", 0, 0, 64, 1 << 20).records.length + again.getMessages("T", 0, 64, 64, 1 << 20).records.length, 101);
    assert.is(again.getMessages("T", 1, 0, 32, 1 << 20).records.length, 1);
    assert.equal(again.getMessages("T", 0, 20, 32, 1 << 20).records.map((r) => [r.queueOffset, r.commitLogOffset]), held.records.map((r) => [r.queueOffset, r.commitLogOffset]));
  } finally {
    await box.cleanup();
  }
});

test("the platform's write lays a buffer of several WRITE_PIECEs down whole, each byte at its position", async () => {
  const box = new Sandbox();
  try {
    const h = files.open(`${box.dir()}/pieces`);
    const big = new Uint8Array(3 * WRITE_PIECE + 17).map((_, i) => (i * 31 + 7) & 0xff);
    h.write(new Uint8Array(5).fill(0xee), 0);
    h.write(big, 5);
    assert.is(h.size(), 5 + big.length);
    const back = new Uint8Array(big.length + 5);
    assert.is(h.read(back, 0), back.length);
    assert.equal([...back.subarray(0, 5)], [0xee, 0xee, 0xee, 0xee, 0xee]);
    assert.ok(back.subarray(5).every((b, i) => b === big[i]), "every byte of the pieces in place");
    h.close();
  } finally {
    await box.cleanup();
  }
});

test.run();
