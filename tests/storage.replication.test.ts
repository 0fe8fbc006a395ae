// The storage side of replication on real files: a master's CommitLog copied chunk by chunk with
// readRaw / appendReplicated is byte for byte the master's (blank markers and segment ends
// included) and the slave's queues serve the same records; readRaw gives the tail's batches as
// views and the same bytes from disk; readLimit holds reads back; a
// malformed or misplaced chunk is refused; the epoch file finds where two logs diverge; a cut
// store reopens at the cut with its queues trimmed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { decode } from "../protocol/mod.ts";
import { consistentOffset, EpochFile } from "../storage/epoch-file.ts";
import type { MessageStore } from "../storage/message-store.ts";
import { truncateStore } from "../storage/truncate.ts";
import { bodyOf, files, item, Sandbox } from "./helpers/storage-env.ts";

const SEG = 64 * 1024;
const small = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 1024, indexEntries: 4096, cqEntriesPerFile: 64 };

function fill(store: MessageStore, rounds: number, seed = 0): void {
  const sizes = [10, 20_000, 300, 5_000, 1, 12_345, 64, 19_999, 2_048, 700];
  for (let round = 0; round < rounds; round++) {
    const batch = [];
    for (let k = 0; k < 5; k++, seed++) batch.push(item(k % 2 ? "A" : "B", k % 3, { body: bodyOf(sizes[seed % sizes.length], seed), keys: [`k${seed}`] }));
    store.appendBatch(batch);
  }
}

/** readRaw's parts as one chunk, as a haData frame carries them. */
function raw(store: MessageStore, from: number, maxBytes: number): Uint8Array {
  const parts = store.readRaw(from, maxBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** Copies the master's log to the slave in chunks of at most `chunk` bytes, as HAService and HAClient do. */
function replicate(master: MessageStore, slave: MessageStore, chunk: number): number {
  let records = 0;
  while (slave.maxCommitLogOffset < master.maxCommitLogOffset) {
    const data = raw(master, slave.maxCommitLogOffset, chunk);
    assert.ok(data.length > 0, "readRaw returned nothing before the end");
    records += slave.appendReplicated(slave.maxCommitLogOffset, data).length;
  }
  return records;
}

function segmentFiles(dir: string): string[] {
  return files.list(`${dir}/commitlog`);
}

test("a log copied chunk by chunk is the master's byte for byte, and serves the same records", async () => {
  const sb = new Sandbox();
  try {
    const [md, sd] = [sb.dir(), sb.dir()];
    const master = sb.open(md, small);
    const slave = sb.open(sd, small);
    fill(master, 40);
    assert.ok(master.maxCommitLogOffset > 4 * SEG, "several segments, so blank markers");
    // Chunks smaller than many records: a record larger than the chunk goes alone.
    const n = replicate(master, slave, 4096);
    assert.is(slave.maxCommitLogOffset, master.maxCommitLogOffset);
    assert.is(n, 200);
    await master.flush();
    await slave.flush();
    assert.equal(segmentFiles(sd), segmentFiles(md));
    for (const name of segmentFiles(md)) {
      assert.ok(Buffer.compare(readFileSync(`${md}/commitlog/${name}`), readFileSync(`${sd}/commitlog/${name}`)) === 0, `segment ${name} differs`);
    }
    for (const [topic, q] of [["A", 0], ["A", 1], ["B", 2]] as const) {
      const a = master.getMessages(topic, q, 0, 100, 1 << 24);
      const b = slave.getMessages(topic, q, 0, 100, 1 << 24);
      assert.is(b.maxOffset, a.maxOffset);
      assert.equal(b.records.map((r) => [r.queueOffset, r.commitLogOffset, r.size]), a.records.map((r) => [r.queueOffset, r.commitLogOffset, r.size]));
    }
    // The index too: a key found on the slave.
    assert.is(slave.queryByKey("B", "k7", 5).length, 1);
    // Reopened, the slave recovers the same log and queues.
    await slave.close();
    const again = sb.open(sd, small);
    assert.is(again.maxCommitLogOffset, master.maxCommitLogOffset);
    assert.is(again.maxOffset("B", 2), master.maxOffset("B", 2));
    await again.close();
    await master.close();
  } finally {
    sb.cleanup();
  }
});

test("readRaw: the tail's batches as views, several in one read, cut at a record within maxBytes; the same bytes from the segment", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const store = sb.open(dir, small);
    const batches = [0, 1, 2].map((b) => store.appendBatch([0, 1, 2].map((k) => item("T", 0, { body: bodyOf(1000, b * 3 + k) }))));
    const end = (r: { commitLogOffset: number; size: number }) => r.commitLogOffset + r.size;
    const parts = store.readRaw(0, 1 << 20);
    assert.equal(parts.map((p) => p.length), batches.map((b) => end(b[2]) - b[0].commitLogOffset), "one view per batch");
    // maxBytes ends inside the second batch's second record: its first record is the last taken.
    const cut = store.readRaw(0, end(batches[1][1]) - 1);
    assert.equal(cut.map((p) => p.length), [end(batches[0][2]), end(batches[1][0]) - batches[1][0].commitLogOffset]);
    // One record larger than maxBytes still goes, alone.
    assert.equal(store.readRaw(batches[2][1].commitLogOffset, 10).map((p) => p.length), [batches[2][1].size]);
    const fromTail = raw(store, 0, 1 << 20);
    await store.close();
    const reopened = sb.open(dir, small); // its tail is empty: read from the segment
    assert.is(reopened.readRaw(0, 1 << 20).length, 1);
    assert.equal(raw(reopened, 0, 1 << 20), fromTail);
    await reopened.close();
  } finally {
    sb.cleanup();
  }
});

test("readLimit holds back records that end past it: NO_NEW_MSG until it moves", async () => {
  const sb = new Sandbox();
  try {
    const store = sb.open(sb.dir(), small);
    const [r1] = store.appendBatch([item("T", 0, { body: "one" })]);
    store.appendBatch([item("T", 0, { body: "two" })]);
    store.readLimit = r1.commitLogOffset + r1.size;
    let g = store.getMessages("T", 0, 0, 10, 1 << 20);
    assert.is(g.records.length, 1);
    assert.is(g.nextOffset, 1);
    g = store.getMessages("T", 0, 1, 10, 1 << 20);
    assert.is(g.status, "NO_NEW_MSG");
    assert.is(g.nextOffset, 1);
    store.readLimit = Infinity;
    assert.is(store.getMessages("T", 0, 1, 10, 1 << 20).records.length, 1);
    await store.close();
  } finally {
    sb.cleanup();
  }
});

test("a chunk that does not continue the log, crosses a segment or holds a broken record is refused, nothing written", async () => {
  const sb = new Sandbox();
  try {
    const master = sb.open(sb.dir(), small);
    const slave = sb.open(sb.dir(), small);
    fill(master, 4);
    const data = raw(master, 0, 1 << 20);
    assert.throws(() => slave.appendReplicated(100, data), /does not continue the log/);
    const broken = data.slice();
    broken[33] ^= 0xff; // inside the first record's header: its physical offset
    assert.throws(() => slave.appendReplicated(0, broken), /malformed/);
    assert.throws(() => slave.appendReplicated(0, data.subarray(0, data.length - 3)), /ends inside a record|malformed/);
    assert.is(slave.maxCommitLogOffset, 0);
    slave.appendReplicated(0, data);
    assert.is(slave.maxCommitLogOffset, data.length);
    await master.close();
    await slave.close();
  } finally {
    sb.cleanup();
  }
});

test("epochs: where two logs agree, and the file's own rules", async () => {
  // Same history: the shorter end.
  assert.is(consistentOffset([{ epoch: 1, startOffset: 0 }], 1000, [{ epoch: 1, startOffset: 0 }], 800), 800);
  // The replica (an old master) wrote on in epoch 1 after the master took epoch 2 at 600.
  assert.is(consistentOffset([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 600 }], 2000, [{ epoch: 1, startOffset: 0 }], 900), 600);
  // Both have epoch 2, the replica has more of it than the master (an unreplicated tail of epoch 2)
  // and the master is at epoch 3 since 1500.
  assert.is(consistentOffset([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 600 }, { epoch: 3, startOffset: 1500 }], 3000, [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 600 }], 1700), 1500);
  // Nothing in common: from the start.
  assert.is(consistentOffset([{ epoch: 2, startOffset: 0 }], 100, [{ epoch: 1, startOffset: 0 }], 50), 0);
  assert.is(consistentOffset([{ epoch: 1, startOffset: 0 }], 100, [], 0), 0);

  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const f = EpochFile.open(files, dir);
    await f.append(1, 0);
    await f.append(2, 500);
    assert.throws(() => f.append(2, 900), /does not follow/);
    assert.throws(() => f.append(3, 100), /does not follow/);
    await f.follow([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 500 }, { epoch: 3, startOffset: 800 }, { epoch: 4, startOffset: 2000 }], 1000);
    assert.equal(EpochFile.open(files, dir).entries.map((e) => [e.epoch, e.startOffset]), [[1, 0], [2, 500], [3, 800]], "only epochs whose bytes it holds");
    await f.truncate(600);
    assert.equal(EpochFile.open(files, dir).entries.map((e) => e.epoch), [1, 2]);
    assert.equal(decode(readFileSync(`${dir}/epochs`)), [[1, 0], [2, 500]]);
  } finally {
    sb.cleanup();
  }
});

test("a store cut at a record boundary reopens there, its queues and index trimmed, snapshots past the cut gone", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    let store = sb.open(dir, small);
    fill(store, 30);
    const all = store.getMessages("A", 1, 0, 1000, 1 << 26).records;
    const cutRecord = all[Math.floor(all.length / 2)];
    const cut = cutRecord.commitLogOffset;
    const keptInA1 = all.filter((r) => r.commitLogOffset < cut).length;
    const before = store.maxCommitLogOffset;
    await store.close();
    files.mkdir(`${dir}/snapshots`);
    files.open(`${dir}/snapshots/${String(before).padStart(20, "0")}.cbor`).close();
    files.open(`${dir}/snapshots/${String(0).padStart(20, "0")}.cbor`).close();
    const removed = truncateStore(files, { dir, segmentSize: SEG, timerMaxDelayMs: 60_000 }, cut);
    assert.is(removed.snapshots, 1);
    assert.equal(files.list(`${dir}/snapshots`), [`${"0".repeat(20)}.cbor`]);
    store = sb.open(dir, small);
    assert.is(store.maxCommitLogOffset, cut);
    assert.is(store.maxOffset("A", 1), keptInA1);
    assert.is(store.getMessages("A", 1, keptInA1 - 1, 10, 1 << 20).records.length, 1);
    // The cut record's keys are no longer found.
    const key = (decode(cutRecord.message) as { keys: string[] }).keys[0];
    assert.is(store.queryByKey("A", key, 5).length, 0);
    await store.close();
  } finally {
    sb.cleanup();
  }
});

test.run();
