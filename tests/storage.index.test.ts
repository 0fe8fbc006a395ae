// The key index: queryByKey / queryById through IndexFiles (tiny ones here, so many are sealed
// and read back from disk), after reopen, after the index dir is deleted, after a crash, and
// with torn or damaged index files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import type { AppendItem, MessageStore, StoredRecord } from "../storage/message-store.ts";
import { offsetName } from "../storage/commit-log.ts";
import { hashKey } from "../storage/key-index.ts";
import { copyDir, files, item, Sandbox } from "./helpers/storage-env.ts";

const cfg = { segmentSize: 64 * 1024, flushIntervalMs: 60_000, indexSlots: 16, indexEntries: 150, cqEntriesPerFile: 200 };

interface Sent {
  topic: string;
  key: string;
  unique: string;
  id: string;
  offset: number;
}

function bodyText(r: StoredRecord): string {
  return String((decode(r.message) as { body: unknown }).body);
}

function populate(s: MessageStore, sent: Sent[], from: number, count: number): void {
  for (let n = from; n < from + count; n += 5) {
    const items: AppendItem[] = [];
    for (let k = n; k < n + 5; k++) {
      // Topics A and B share key names: a key is scoped to its topic.
      const topic = k % 3 === 0 ? "B" : "A";
      const key = `order-${k % 40}`;
      const unique = `u-${k}`;
      items.push(item(topic, k % 2, { body: `m${k}`, keys: [key, unique] }));
    }
    const results = s.appendBatch(items);
    results.forEach((r, i) => {
      const m = decode(items[i].bytes) as { topic: string; keys: string[]; id: string };
      sent.push({ topic: m.topic, key: m.keys[0], unique: m.keys[1], id: m.id, offset: r.commitLogOffset });
    });
  }
}

function checkAll(s: MessageStore, sent: Sent[], label: string): void {
  for (const k of [0, 7, 39]) {
    for (const topic of ["A", "B"]) {
      const key = `order-${k}`;
      const expected = sent.filter((x) => x.topic === topic && x.key === key).map((x) => x.offset).reverse();
      const got = s.queryByKey(topic, key, 1000);
      assert.equal(got.map((r) => r.commitLogOffset), expected, `${label}: ${topic}#${key}, newest first`);
      assert.ok(got.every((r) => s.topicOf(r) === topic));
      assert.equal(s.queryByKey(topic, key, 3).map((r) => r.commitLogOffset), expected.slice(0, 3), `${label}: max`);
    }
  }
  for (const x of [sent[0], sent[Math.floor(sent.length / 2)], sent[sent.length - 1]]) {
    const byId = s.queryById(x.id);
    assert.equal(byId.map((r) => r.commitLogOffset), [x.offset], `${label}: id ${x.id}`);
    const byKey = s.queryByKey(x.topic, x.unique, 10);
    assert.equal(byKey.map((r) => r.commitLogOffset), [x.offset]);
    assert.is(bodyText(byKey[0]), `m${x.unique.slice(2)}`);
  }
  assert.equal(s.queryByKey("A", "no-such-key", 10), []);
  assert.equal(s.queryByKey("C", "order-1", 10), []);
  assert.equal(s.queryById("no-such-id"), []);
}

test("queryByKey / queryById across sealed and active index files, after reopen, after the index dir is deleted", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const sent: Sent[] = [];
    let s = sb.open(dir, cfg);
    populate(s, sent, 0, 400); // 1200 entries: several files of 150
    checkAll(s, sent, "in memory");
    await s.flush();
    checkAll(s, sent, "after flush (sealed files read from disk)");
    populate(s, sent, 400, 50);
    await s.close();
    const names = files.list(`${dir}/index`);
    assert.ok(names.length >= 8, `${names.length} index files`);
    assert.ok(names.every((n) => /^\d{20}$/.test(n)));
    s = sb.open(dir, cfg);
    checkAll(s, sent, "after reopen");
    await s.close();
    files.remove(`${dir}/index`, { recursive: true });
    s = sb.open(dir, cfg);
    checkAll(s, sent, "after the index dir was deleted");
    populate(s, sent, 450, 50);
    checkAll(s, sent, "appending after the rebuild");
  } finally {
    await sb.cleanup();
  }
});

test("a crash image: entries not yet flushed are rebuilt from the CommitLog", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const sent: Sent[] = [];
    const s = sb.open(dir, cfg);
    populate(s, sent, 0, 200);
    await s.flush();
    populate(s, sent, 200, 230); // seals more files in memory, never written out
    const image = sb.dir();
    copyDir(dir, image);
    const r = sb.open(image, cfg);
    checkAll(r, sent, "crash image");
  } finally {
    await sb.cleanup();
  }
});

test("a torn active index file and a damaged sealed one are discarded and rebuilt", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const sent: Sent[] = [];
    let s = sb.open(dir, cfg);
    populate(s, sent, 0, 300);
    await s.close();
    let names = files.list(`${dir}/index`);
    // The active (newest) file cut in the middle of its entries.
    const newest = files.open(`${dir}/index/${names[names.length - 1]}`);
    newest.truncate(40 + 16 * 4 + 20 * 3 + 7);
    newest.close();
    s = sb.open(dir, cfg);
    checkAll(s, sent, "torn active file");
    await s.close();
    // A sealed file whose header no longer matches its name.
    names = files.list(`${dir}/index`);
    const sealed = files.open(`${dir}/index/${names[2]}`);
    sealed.write(new Uint8Array(40).fill(0xee), 0);
    sealed.close();
    s = sb.open(dir, cfg);
    checkAll(s, sent, "damaged sealed file");
    await s.close();
    // A sealed file truncated short.
    names = files.list(`${dir}/index`);
    const short = files.open(`${dir}/index/${names[1]}`);
    short.truncate(100);
    short.close();
    s = sb.open(dir, cfg);
    checkAll(s, sent, "short sealed file");
    assert.ok(files.list(`${dir}/index`).every((n) => n === offsetName(Number(n))));
  } finally {
    await sb.cleanup();
  }
});

test("keys whose hashes collide are told apart by the stored message", async () => {
  const sb = new Sandbox();
  try {
    // Two keys of topic A with the same 32-bit hash (found by a birthday search over "c<n>").
    const pair: [string, string] = ["c79469", "c775222"];
    assert.is(hashKey("A", pair[0]), hashKey("A", pair[1]));
    const [k1, k2] = pair;
    const s = sb.open(sb.dir(), cfg);
    const r = s.appendBatch([item("A", 0, { keys: [k1], body: "one" }), item("A", 0, { keys: [k2], body: "two" }), item("A", 1, { keys: [k1], body: "three" })]);
    assert.equal(s.queryByKey("A", k1, 10).map(bodyText), ["three", "one"]);
    assert.equal(s.queryByKey("A", k2, 10).map(bodyText), ["two"]);
    assert.equal(s.queryByKey("A", k2, 10)[0].commitLogOffset, r[1].commitLogOffset);
  } finally {
    await sb.cleanup();
  }
});

test.run();
