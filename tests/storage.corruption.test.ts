// Damage the store never serves: a record whose CRC fails below the checkpoint (recovery does not
// verify there; the read does), ConsumeQueue entries that are garbage or swapped (checked against
// the record they point to and rebuilt from the CommitLog), and a store reopened with another
// segment size (the directory's recorded geometry wins), including one written before format.json.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import { type MessageStore, type StoredRecord } from "../storage/message-store.ts";
import { offsetName } from "../storage/commit-log.ts";
import { CQ_ENTRY_SIZE } from "../storage/consume-queue.ts";
import { bodyOf, files, item, Sandbox } from "./helpers/storage-env.ts";

const SEG = 64 * 1024;
const cfg = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 256, indexEntries: 4096, cqEntriesPerFile: 64, tailBytes: 0 };

function bodyOfRecord(r: StoredRecord): Uint8Array {
  return new Uint8Array((decode(r.message) as { body: Uint8Array }).body);
}

/** Every record of a queue, pulled 7 at a time. */
function drain(s: MessageStore, topic: string, queueId: number): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (let off = s.minOffset(topic, queueId); off < s.maxOffset(topic, queueId);) {
    const r = s.getMessages(topic, queueId, off, 7, 1 << 20);
    out.push(...r.records);
    off = r.nextOffset;
  }
  return out;
}

/** A store of several segments: 600 messages over two queues, flushed (checkpointed) and closed. */
async function filled(sb: Sandbox): Promise<{ dir: string; bodies: Map<number, Uint8Array>; offsets: number[][] }> {
  const dir = sb.dir();
  const s = sb.open(dir, cfg);
  const bodies = new Map<number, Uint8Array>();
  const offsets: number[][] = [[], []];
  for (let i = 0; i < 600; i++) {
    const body = bodyOf(200 + (i % 13) * 20, i);
    const [r] = s.appendBatch([item("T", i % 2, { body })]);
    bodies.set(r.commitLogOffset, body);
    offsets[i % 2].push(r.commitLogOffset);
  }
  assert.ok(s.maxCommitLogOffset > 2 * SEG, "several segments");
  await s.close();
  return { dir, bodies, offsets };
}

function flipByte(path: string, at: number): void {
  const h = files.open(path);
  const b = new Uint8Array(1);
  h.read(b, at);
  b[0] ^= 0x40;
  h.write(b, at);
  h.close();
}

test("a body flipped below the checkpoint: its read fails the CRC, it is counted and never served", async () => {
  const sb = new Sandbox();
  try {
    const { dir, bodies, offsets } = await filled(sb);
    const victim = offsets[1][100];
    const seg = victim - (victim % SEG);
    flipByte(`${dir}/commitlog/${offsetName(seg)}`, victim - seg + 80);
    const s = sb.open(dir, cfg);
    assert.is(s.health.damagedRanges, 0, "below the checkpoint recovery does not look");
    const got = drain(s, "T", 1);
    assert.is(got.length, 299);
    assert.not.ok(got.some((r) => r.commitLogOffset === victim));
    got.forEach((r) => assert.equal(bodyOfRecord(r), bodies.get(r.commitLogOffset)));
    assert.is(s.health.corruptReads.crc, 1);
    assert.equal(drain(s, "T", 0).length, 300, "the other queue is whole");
    assert.is(s.readRecord(victim), null);
  } finally {
    await sb.cleanup();
  }
});

test("garbage and swapped ConsumeQueue entries: checked against their records and rebuilt from the CommitLog", async () => {
  const sb = new Sandbox();
  try {
    const { dir, bodies, offsets } = await filled(sb);
    // Queue 0's entries 100..139: garbage; entries 200 and 201 of queue 1: swapped.
    const cq0 = `${dir}/consumequeue/T/0/${offsetName(64 * CQ_ENTRY_SIZE)}`; // entries 64..127
    const cq0b = `${dir}/consumequeue/T/0/${offsetName(128 * CQ_ENTRY_SIZE)}`; // entries 128..191
    const garbage = (path: string, from: number, n: number) => {
      const h = files.open(path);
      const junk = bodyOf(n * CQ_ENTRY_SIZE, 7);
      h.write(junk, from * CQ_ENTRY_SIZE);
      h.close();
    };
    garbage(cq0, 100 - 64, 28);
    garbage(cq0b, 0, 12);
    const cq1 = `${dir}/consumequeue/T/1/${offsetName(192 * CQ_ENTRY_SIZE)}`;
    const h = files.open(cq1);
    const a = new Uint8Array(CQ_ENTRY_SIZE);
    const b = new Uint8Array(CQ_ENTRY_SIZE);
    h.read(a, (200 - 192) * CQ_ENTRY_SIZE);
    h.read(b, (201 - 192) * CQ_ENTRY_SIZE);
    h.write(b, (200 - 192) * CQ_ENTRY_SIZE);
    h.write(a, (201 - 192) * CQ_ENTRY_SIZE);
    h.close();

    const s = sb.open(dir, cfg);
    for (const q of [0, 1]) {
      const got = drain(s, "T", q);
      assert.equal(got.map((r) => r.commitLogOffset), offsets[q], `queue ${q}: every message once, in order`);
      got.forEach((r) => assert.equal(bodyOfRecord(r), bodies.get(r.commitLogOffset)));
    }
    assert.ok(s.health.queueEntryMismatches >= 2);
    assert.ok(s.health.queueRepairs >= 2);
    // The repair is on disk: a second store reads the same without repairing.
    await s.close();
    const again = sb.open(dir, cfg);
    assert.equal(drain(again, "T", 0).map((r) => r.commitLogOffset), offsets[0]);
    assert.is(again.health.queueRepairs, 0);
  } finally {
    await sb.cleanup();
  }
});

test("reopened with another segment size: the recorded one is kept, nothing is lost; a directory without format.json gets one inferred", async () => {
  const sb = new Sandbox();
  try {
    const { dir, offsets } = await filled(sb);
    for (const segmentSize of [SEG * 4, SEG / 2 + 4096, 1024 * 1024 * 1024]) {
      const s = sb.open(dir, { ...cfg, segmentSize });
      assert.is(s.geometry.segmentSize, SEG);
      assert.match(s.opened.notes.join("\n"), /created with segmentSize 65536: keeping it/);
      assert.equal(drain(s, "T", 0).map((r) => r.commitLogOffset), offsets[0]);
      await s.close();
    }
    // An older directory: no format.json. The segment size comes from the segments themselves.
    files.remove(`${dir}/format.json`);
    const s = sb.open(dir, { ...cfg, segmentSize: SEG * 16 });
    assert.is(s.geometry.segmentSize, SEG);
    assert.match(s.opened.notes.join("\n"), /inferred from its segments/);
    assert.equal(drain(s, "T", 1).map((r) => r.commitLogOffset), offsets[1]);
    assert.ok(files.readFile(`${dir}/format.json`), "and the directory records it now");
  } finally {
    await sb.cleanup();
  }
});

test.run();
