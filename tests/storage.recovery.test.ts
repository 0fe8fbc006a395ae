// Crash recovery of the CommitLog: a torn or corrupted last record of a segment, cut at every
// byte and bit-flipped field by field. Each case starts from a fresh copy of one crash image
// (the data dir copied while the store was open, after a checkpoint and more appends). The
// damaged record is skipped and reported; every other record, before and after it, is kept.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import { type AppendItem, MessageStore, type StoredRecord } from "../storage/message-store.ts";
import { offsetName } from "../storage/commit-log.ts";
import { bodyOf, clock, copyDir, files, item, noSyncFiles, Sandbox } from "./helpers/storage-env.ts";

const SEG = 16 * 1024;
const cfg = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 256, indexEntries: 1024, cqEntriesPerFile: 32 };
const QUEUES: [string, number][] = [["T", 0], ["T", 1], ["T", 2], ["U", 0]];

interface Sent {
  topic: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  size: number;
  body: Uint8Array;
  id: string;
}

function bodyOfRecord(r: StoredRecord): Uint8Array {
  return new Uint8Array((decode(r.message) as { body: Uint8Array }).body);
}

/** A crash image whose last full segment lies past the checkpoint; R is that segment's last record. */
async function crashImage(sb: Sandbox): Promise<{ image: string; sent: Sent[]; victim: Sent }> {
  const dir = sb.dir();
  const store = sb.open(dir, cfg);
  const sent: Sent[] = [];
  let seed = 1;
  const append = (n: number, minLen: number, spread: number) => {
    for (let b = 0; b < n; b++) {
      const items: { it: AppendItem; body: Uint8Array }[] = [];
      for (let k = 0; k < 3; k++) {
        const [topic, queueId] = QUEUES[seed % QUEUES.length];
        const body = bodyOf(minLen + ((seed * 37) % spread), seed);
        items.push({ it: item(topic, queueId, { body, keys: [`key-${seed}`] }), body });
        seed++;
      }
      const results = store.appendBatch(items.map((x) => x.it));
      results.forEach((r, i) => sent.push({ topic: items[i].it.topic, queueId: items[i].it.queueId, queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset, size: r.size, body: items[i].body, id: items[i].it.msgId }));
    }
  };
  append(30, 100, 400); // about two segments, checkpointed
  await store.flush();
  const checkpointed = store.maxCommitLogOffset;
  while (store.maxCommitLogOffset < checkpointed + 3 * SEG) append(1, 20, 200);
  const victimSeg = Math.floor(checkpointed / SEG) + 1;
  const victim = sent.filter((s) => Math.floor(s.commitLogOffset / SEG) === victimSeg).pop()!;
  const image = sb.dir();
  copyDir(dir, image);
  return { image, sent, victim };
}

/**
 * Opens a damaged copy and checks it holds every record but the victim, each served once and
 * the victim never, that the damage was reported, and that it takes new messages.
 */
async function checkRecovered(work: string, sent: Sent[], victim: Sent, label: string): Promise<void> {
  const s = MessageStore.open(noSyncFiles, clock, { dir: work, ...cfg });
  try {
    const end = Math.max(...sent.map((x) => x.commitLogOffset + x.size));
    assert.is(s.maxCommitLogOffset, end, `${label}: the records after the victim are kept`);
    assert.is(s.readRecord(victim.commitLogOffset), null, `${label}: the victim is not served`);
    assert.ok(s.health.damagedRanges >= 1, `${label}: the damage is reported`);
    const kept = sent.filter((x) => x !== victim);
    for (const [topic, queueId] of QUEUES) {
      const expected = kept.filter((x) => x.topic === topic && x.queueId === queueId);
      const slots = sent.filter((x) => x.topic === topic && x.queueId === queueId).length;
      assert.is(s.maxOffset(topic, queueId), slots, `${label}: max offset of ${topic}/${queueId}`);
      const got: StoredRecord[] = [];
      for (let off = 0; off < slots;) {
        const r = s.getMessages(topic, queueId, off, 32, 1 << 20);
        got.push(...r.records);
        off = r.nextOffset;
      }
      assert.is(got.length, expected.length, `${label}: ${topic}/${queueId} serves every kept record once`);
      got.forEach((r, i) => {
        assert.is(r.commitLogOffset, expected[i].commitLogOffset);
        assert.equal(bodyOfRecord(r), expected[i].body);
      });
      assert.is(s.getMessages(topic, queueId, slots, 32, 1 << 20).status, "NO_NEW_MSG");
    }
    // The survivors are still found through the index; the damaged victim is not.
    assert.is(s.queryById(kept[kept.length - 1].id).length, 1);
    assert.is(s.queryById(kept[0].id).length, 1);
    assert.is(s.queryById(victim.id).length, 0);
    // And the store takes new messages, which read back.
    const before = s.maxOffset(victim.topic, victim.queueId);
    const fresh = [bodyOf(77, 1), bodyOf(3000, 2), bodyOf(5, 3)];
    const results = s.appendBatch(fresh.map((body) => item(victim.topic, victim.queueId, { body })));
    assert.equal(results.map((r) => r.queueOffset), [before, before + 1, before + 2]);
    const back = s.getMessages(victim.topic, victim.queueId, before, 32, 1 << 20);
    assert.equal(back.records.map(bodyOfRecord), fresh);
  } finally {
    await s.close();
  }
}

test("a segment cut inside its last record, in every header field and the body: that record is reported and skipped, everything else kept", async () => {
  const sb = new Sandbox();
  try {
    const { image, sent, victim } = await crashImage(sb);
    const segStart = victim.commitLogOffset - (victim.commitLogOffset % SEG);
    const work = sb.dir();
    assert.ok(victim.size > 56, "a record with a body");
    // A cut at each field boundary of the header (and just past it), and in the body.
    const cuts = [0, 1, 4, 7, 8, 11, 12, 16, 20, 27, 28, 35, 36, 43, 44, 48, 55, 56, 57, Math.floor((56 + victim.size) / 2), victim.size - 1];
    for (const j of cuts) {
      files.remove(work, { recursive: true });
      copyDir(image, work);
      const h = files.open(`${work}/commitlog/${offsetName(segStart)}`);
      h.truncate(victim.commitLogOffset - segStart + j);
      h.close();
      await checkRecovered(work, sent, victim, `cut at byte ${j} of ${victim.size}`);
    }
  } finally {
    await sb.cleanup();
  }
});

test("flipping a bit in each header field and in the body of that record: it alone is skipped", async () => {
  const sb = new Sandbox();
  try {
    const { image, sent, victim } = await crashImage(sb);
    const segStart = victim.commitLogOffset - (victim.commitLogOffset % SEG);
    const work = sb.dir();
    const fields = [0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 27, 28, 35, 36, 43, 44, 47, 48, 55];
    const body = [56, 57, Math.floor((56 + victim.size) / 2), victim.size - 1];
    for (const at of [...fields, ...body]) {
      for (const bit of [0, 5, 7]) {
        files.remove(work, { recursive: true });
        copyDir(image, work);
        const h = files.open(`${work}/commitlog/${offsetName(segStart)}`);
        const b = new Uint8Array(1);
        const pos = victim.commitLogOffset - segStart + at;
        h.read(b, pos);
        b[0] ^= 1 << bit;
        h.write(b, pos);
        h.close();
        await checkRecovered(work, sent, victim, `bit ${bit} of byte ${at}`);
      }
    }
  } finally {
    await sb.cleanup();
  }
});

test("an intact crash image recovers everything, and progress is reported", async () => {
  const sb = new Sandbox();
  try {
    const { image, sent } = await crashImage(sb);
    const progress: [number, number][] = [];
    const s = sb.open(image, cfg, { onProgress: (v, t) => progress.push([v, t]) });
    assert.ok(progress.length > 0);
    const [v, t] = progress[progress.length - 1];
    assert.is(v, t);
    assert.ok(t > 0);
    const last = sent[sent.length - 1];
    assert.is(s.maxCommitLogOffset, last.commitLogOffset + last.size);
    for (const [topic, queueId] of QUEUES) assert.is(s.maxOffset(topic, queueId), sent.filter((x) => x.topic === topic && x.queueId === queueId).length);
  } finally {
    await sb.cleanup();
  }
});

test("torn consume queue tails (zeros, entries past the log) are dropped and refilled from the CommitLog", async () => {
  const sb = new Sandbox();
  try {
    const { image, sent } = await crashImage(sb);
    // Garbage after the real entries of T/1's last file: a zero entry, then one pointing far past the log.
    const qdir = `${image}/consumequeue/T/1`;
    const names = files.list(qdir);
    const h = files.open(`${qdir}/${names[names.length - 1]}`);
    const size = h.size();
    const junk = new Uint8Array(40);
    new DataView(junk.buffer).setUint32(20 + 4, 0x7fffffff); // offset low word huge
    new DataView(junk.buffer).setUint32(20 + 8, 100);
    h.write(junk, size);
    h.close();
    // And T/2 lost its last two entries (a crash before they reached the disk).
    const q2 = `${image}/consumequeue/T/2`;
    const n2 = files.list(q2);
    const h2 = files.open(`${q2}/${n2[n2.length - 1]}`);
    h2.truncate(Math.max(0, h2.size() - 40));
    h2.close();
    const s = sb.open(image, cfg);
    for (const [topic, queueId] of QUEUES) {
      const expected = sent.filter((x) => x.topic === topic && x.queueId === queueId);
      assert.is(s.maxOffset(topic, queueId), expected.length, `${topic}/${queueId}`);
      const r = s.getMessages(topic, queueId, expected.length - 2, 32, 1 << 20);
      assert.equal(r.records.map((x) => x.commitLogOffset), expected.slice(-2).map((x) => x.commitLogOffset));
    }
  } finally {
    await sb.cleanup();
  }
});

test("queues the checkpoint holds no entry for are not listed at a restart; files found in one later are not served and go at its first write", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const a = sb.open(dir, cfg);
    for (let q = 0; q < 4; q++) files.mkdir(`${dir}/consumequeue/E/${q}`); // empty queues: directories only
    const [first] = a.appendBatch([item("T", 0, { body: "one" }), item("T", 0, { body: "two" })]);
    await a.close();
    // A file in E/1 the checkpoint does not know (written after it, the records lost with the
    // crash): its entry points at a real record, so only skipping the file keeps it from being served.
    const h = files.open(`${dir}/consumequeue/E/1/${offsetName(0)}`);
    const entry = new Uint8Array(40);
    new DataView(entry.buffer).setUint32(4, first.commitLogOffset);
    new DataView(entry.buffer).setUint32(8, first.size);
    new DataView(entry.buffer).setUint32(24, first.commitLogOffset);
    new DataView(entry.buffer).setUint32(28, first.size);
    h.write(entry, 0);
    h.close();

    const listed: string[] = [];
    const counting: typeof files = { ...files, list: (d) => (listed.push(d), files.list(d)) };
    const b = sb.open(dir, cfg, { files: counting });
    assert.equal(listed.filter((d) => /consumequeue\/E\/\d+$/.test(d)), [], "no queue directory of E is listed");
    assert.ok(listed.some((d) => d.endsWith("consumequeue/T/0")), "T/0, which holds entries, is");
    assert.is(b.maxOffset("E", 1), 0);
    assert.is(b.getMessages("E", 1, 0, 32, 1 << 20).records.length, 0, "the unknown file is not served");
    assert.is(b.maxOffset("T", 0), 2);
    const [r] = b.appendBatch([item("E", 1, { body: "new" })]);
    assert.is(r.queueOffset, 0);
    await b.close();

    const c = sb.open(dir, cfg);
    assert.is(c.maxOffset("E", 1), 1, "the stale file went at the first write: one entry, not two");
    assert.equal(c.getMessages("E", 1, 0, 32, 1 << 20).records.map((x) => x.commitLogOffset), [r.commitLogOffset], "and it is the new message");
    assert.equal(c.queueKeys().filter((k) => k.topic === "E").map((k) => k.queueId).sort(), [0, 1, 2, 3], "every queue is still known");
  } finally {
    await sb.cleanup();
  }
});

test("a segment ending in a blank marker with no successor on disk, and a segment missing from the middle", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    let s = sb.open(dir, cfg);
    const sent: { queueId: number; offset: number; body: Uint8Array }[] = [];
    for (let i = 0; s.maxCommitLogOffset < 4 * SEG + 100; i++) {
      const body = bodyOf(300 + (i % 7) * 100, i);
      const [r] = s.appendBatch([item("T", i % 2, { body })]);
      sent.push({ queueId: i % 2, offset: r.commitLogOffset, body });
    }
    await s.close();
    /** Reopens: the log ends at `end`, every record not `lost` is served once, a new one lands at the end. */
    const expectAt = async (end: number, lost: (offset: number) => boolean) => {
      s = sb.open(dir, cfg);
      assert.is(s.maxCommitLogOffset, end);
      for (const q of [0, 1]) {
        const inLog = sent.filter((x) => x.queueId === q && x.offset < end);
        const got: StoredRecord[] = [];
        for (let off = 0; off < s.maxOffset("T", q);) {
          const r = s.getMessages("T", q, off, 32, 1 << 20);
          got.push(...r.records);
          off = r.nextOffset;
        }
        const want = inLog.filter((x) => !lost(x.offset));
        assert.equal(got.map((r) => r.commitLogOffset), want.map((x) => x.offset), `queue ${q}`);
        assert.equal(got.map(bodyOfRecord), want.map((x) => x.body));
      }
      const body = bodyOf(10, 999);
      const [r] = s.appendBatch([item("T", 0, { body })]);
      assert.is(r.commitLogOffset, end);
      sent.splice(0, sent.length, ...sent.filter((x) => x.offset < end)); // records past the end are gone
      sent.push({ queueId: 0, offset: end, body });
      const health = { ...s.health };
      await s.close();
      return { health, end: end + r.size };
    };
    // The newest segment is lost: the log ends where its predecessor's blank marker says.
    files.remove(`${dir}/commitlog/${offsetName(4 * SEG)}`);
    const first = await expectAt(4 * SEG, () => false);
    // A gap: segment 2 gone. It is reported; segments 3 and 4 are kept and served.
    files.remove(`${dir}/commitlog/${offsetName(2 * SEG)}`);
    const second = await expectAt(first.end, (o) => o >= 2 * SEG && o < 3 * SEG);
    assert.is(second.health.missingSegments, 1);
    assert.ok(second.health.corruptReads.missing > 0, "reads of the lost records are counted");
    assert.equal(files.list(`${dir}/commitlog`), [offsetName(0), offsetName(SEG), offsetName(3 * SEG), offsetName(4 * SEG)]);
  } finally {
    await sb.cleanup();
  }
});

test.run();
