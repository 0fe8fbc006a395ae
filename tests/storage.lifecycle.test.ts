// A topic's deletion in the store: its deletion record removes its queues at once, and every way
// the queues come back from the CommitLog (a reopen, the whole consumequeue/ rebuilt, a replica
// applying its master's bytes) leaves the deleted topic's records out, while the topic created
// again with the same name starts at queue offset 0. And topics too long for a directory name
// (a retry topic of a 255-character group) get a shortened directory that holds their name.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode, RETRY_PREFIX, TOPIC_DELETIONS_TOPIC } from "../protocol/mod.ts";
import { topicDirName } from "../storage/consume-queue.ts";
import type { AppendItem, MessageStore } from "../storage/message-store.ts";
import { files, item, Sandbox } from "./helpers/storage-env.ts";

const cfg = { segmentSize: 64 * 1024, flushIntervalMs: 60_000, indexSlots: 256, indexEntries: 4096, cqEntriesPerFile: 32 };

function deletion(topic: string): AppendItem {
  const id = `del-${topic}-${Math.random()}`;
  return { topic: TOPIC_DELETIONS_TOPIC, queueId: 0, bytes: encode({ topic: TOPIC_DELETIONS_TOPIC, body: topic, id, born: 1 }), tagsCode: 0, msgId: id };
}

function bodies(s: MessageStore, topic: string, queueId: number): string[] {
  const out: string[] = [];
  for (let off = s.minOffset(topic, queueId); off < s.maxOffset(topic, queueId);) {
    const r = s.getMessages(topic, queueId, off, 64, 1 << 20);
    for (const rec of r.records) out.push(decodeBody(rec.message));
    if (r.nextOffset <= off) break;
    off = r.nextOffset;
  }
  return out;
}

function decodeBody(bytes: Uint8Array): string {
  // The item helper stores { topic, body, id, born }: the body is the text sent.
  const text = new TextDecoder().decode(bytes);
  return /(old|new)-\d+/.exec(text)?.[0] ?? "?";
}

test("a deleted topic's queues go at once and stay gone through a reopen, a full rebuild and a replica; the new topic starts at 0", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const s = sb.open(dir, cfg);
    const old = Array.from({ length: 40 }, (_, i) => item("T", i % 2, { body: `old-${i}`, keys: ["k"] }));
    s.appendBatch(old.slice(0, 20));
    s.appendBatch(old.slice(20));
    s.appendBatch([item("Other", 0, { body: "old-0" })]);
    assert.is(s.maxOffset("T", 0), 20);
    const [del] = s.appendBatch([deletion("T")]);
    assert.is(s.deletedAt("T"), del.commitLogOffset);
    assert.is(s.maxOffset("T", 0), 0, "its queues are gone");
    assert.not.ok(files.stat(`${dir}/consumequeue/T`), "and their directory");
    assert.is(s.queryByKey("T", "k", 100).length, 0, "its records are not found by key");
    assert.is(s.queryById(old[3].msgId).length, 0, "nor by id");
    assert.is(s.getMessages("Other", 0, 0, 10, 1 << 20).records.length, 1, "another topic is untouched");
    // The name again: a new topic, from queue offset 0.
    const fresh = s.appendBatch([item("T", 0, { body: "new-0", keys: ["k"] }), item("T", 0, { body: "new-1" })]);
    assert.equal(fresh.map((r) => r.queueOffset), [0, 1]);
    assert.is(s.queryByKey("T", "k", 100).length, 1, "the new topic's record is found");
    await s.close();

    // A reopen, then the whole consumequeue/ rebuilt from the CommitLog: the same.
    for (const rebuild of [false, true]) {
      if (rebuild) files.remove(`${dir}/consumequeue`, { recursive: true });
      const again = sb.open(dir, cfg);
      assert.equal(bodies(again, "T", 0), ["new-0", "new-1"], rebuild ? "rebuilt: only the new topic's records" : "reopened");
      assert.is(again.maxOffset("T", 1), 0);
      assert.is(again.deletedAt("T"), del.commitLogOffset);
      assert.is(again.queryById(old[3].msgId).length, 0);
      assert.equal(bodies(again, "Other", 0), ["old-0"]);
      await again.close();
    }

    // A replica applying the master's bytes deletes the same way.
    const master = sb.open(dir, cfg);
    const replicaDir = sb.dir();
    const replica = sb.open(replicaDir, cfg);
    for (let at = 0; at < master.maxCommitLogOffset;) {
      // readRaw gives the log's batches as views, each whole records.
      for (const bytes of master.readRaw(at, 1 << 20)) {
        replica.appendReplicated(at, bytes);
        at += bytes.length;
      }
    }
    assert.equal(bodies(replica, "T", 0), ["new-0", "new-1"]);
    assert.is(replica.deletedAt("T"), del.commitLogOffset);
  } finally {
    await sb.cleanup();
  }
});

test("a topic longer than a directory name may be (%RETRY% + a 255-character group) is stored, named and rebuilt", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const long = RETRY_PREFIX + "g".repeat(255);
    const twin = RETRY_PREFIX + "g".repeat(254) + "h"; // the same first characters
    const dirName = topicDirName(long);
    assert.ok(dirName.length <= 127 && dirName !== topicDirName(twin));
    const s = sb.open(dir, cfg);
    s.appendBatch([item(long, 0, { body: "new-0" }), item(twin, 0, { body: "new-1" })]);
    assert.is(new TextDecoder().decode(files.readFile(`${dir}/consumequeue/${dirName}/topic`)!), long);
    await s.close();
    for (const rebuild of [false, true]) {
      if (rebuild) files.remove(`${dir}/consumequeue`, { recursive: true });
      const again = sb.open(dir, cfg);
      assert.ok(again.queueKeys().some((k) => k.topic === long), "the real name comes back");
      assert.equal(bodies(again, long, 0), ["new-0"]);
      assert.equal(bodies(again, twin, 0), ["new-1"]);
      await again.close();
    }
  } finally {
    await sb.cleanup();
  }
});

test.run();
