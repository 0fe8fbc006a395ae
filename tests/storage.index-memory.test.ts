// The active IndexFile keeps only the entries not yet in its file: its memory is its slot table
// plus at most PENDING_ENTRIES waiting entries, whatever the number of messages indexed, and
// entries already written are found with positional reads: before the flush (written early,
// once PENDING_ENTRIES wait), after it, after a clean reopen and from a crash image.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import type { AppendItem, MessageStore } from "../storage/message-store.ts";
import { INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE, PENDING_ENTRIES } from "../storage/index-file.ts";
import { copyDir, files, item, Sandbox } from "./helpers/storage-env.ts";

const SLOTS = 4096;
// One active file holds everything (3 entries per record: two keys and the id), so a store that
// kept every entry of its active file in memory would hold 20 B per entry here.
const cfg = { segmentSize: 64 * 1024 * 1024, flushIntervalMs: 60_000, indexSlots: SLOTS, indexEntries: 400_000, tailBytes: 1024 * 1024 };
/** What the index may hold in memory: the slot table, its dirty-page flags, the waiting entries. */
const BOUND = SLOTS * 4 + Math.ceil((SLOTS * 4) / 4096) + PENDING_ENTRIES * INDEX_ENTRY_SIZE;

interface Sent {
  id: string;
  unique: string;
  offset: number;
}

function populate(s: MessageStore, sent: Sent[], from: number, count: number): void {
  for (let n = from; n < from + count; n += 100) {
    const items: AppendItem[] = [];
    for (let k = n; k < Math.min(n + 100, from + count); k++) items.push(item("T", k % 4, { body: `m${k}`, keys: [`group-${k % 50}`, `u-${k}`] }));
    s.appendBatch(items).forEach((r, i) => {
      const m = decode(items[i].bytes) as { id: string; keys: string[] };
      sent.push({ id: m.id, unique: m.keys[1], offset: r.commitLogOffset });
    });
  }
}

function check(s: MessageStore, sent: Sent[], label: string): void {
  // Every 97th record, plus the first and the last: the oldest entries were written out first.
  const picks = sent.filter((_, i) => i % 97 === 0 || i === sent.length - 1);
  for (const x of picks) {
    assert.equal(s.queryById(x.id).map((r) => r.commitLogOffset), [x.offset], `${label}: id of ${x.unique}`);
    assert.equal(s.queryByKey("T", x.unique, 10).map((r) => r.commitLogOffset), [x.offset], `${label}: key ${x.unique}`);
  }
  // A shared key's chain runs through entries in the file and entries in memory, newest first.
  const expected = sent.filter((_, i) => i % 50 === 7).map((x) => x.offset).reverse();
  assert.equal(s.queryByKey("T", "group-7", 100_000).map((r) => r.commitLogOffset), expected, `${label}: group-7, newest first`);
  assert.equal(s.queryById("no-such-id"), []);
}

function activeFileBytes(dir: string): number {
  const names = files.list(`${dir}/index`);
  assert.is(names.length, 1, "one index file");
  return files.stat(`${dir}/index/${names[0]}`)!.size;
}

test("flushed index entries leave memory and are still found, before the flush, after it, after reopen and a crash", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const sent: Sent[] = [];
    let s = sb.open(dir, cfg);
    populate(s, sent, 0, 40_000); // 120,000 entries, over 7 x PENDING_ENTRIES
    const entries = sent.length * 3;
    let mem = s.memory();
    assert.ok(mem.indexPendingEntries <= PENDING_ENTRIES, `${mem.indexPendingEntries} entries waiting in memory`);
    assert.ok(mem.indexBytes <= BOUND, `index holds ${mem.indexBytes} B, bound ${BOUND}`);
    // Before any flush, the entries that left memory are in the file already.
    const entriesBase = INDEX_HEADER_SIZE + SLOTS * 4;
    assert.ok(activeFileBytes(dir) >= entriesBase + (entries - mem.indexPendingEntries) * INDEX_ENTRY_SIZE, "written-out entries are in the file");
    check(s, sent, "before the flush");

    await s.flush();
    mem = s.memory();
    assert.is(mem.indexPendingEntries, 0, "a flush writes every waiting entry");
    assert.ok(mem.indexBytes <= BOUND);
    assert.ok(activeFileBytes(dir) >= entriesBase + entries * INDEX_ENTRY_SIZE);
    check(s, sent, "after the flush");

    populate(s, sent, 40_000, 5000);
    await s.close();
    s = sb.open(dir, cfg);
    mem = s.memory();
    assert.is(mem.indexPendingEntries, 0, "a reopened active file reads its entries from the file");
    assert.ok(mem.indexBytes <= BOUND, `reopened: ${mem.indexBytes} B`);
    check(s, sent, "after reopen");

    // A crash image: 30,000 more records, some written out early, none flushed. The checkpoint
    // trusts none of them; recovery indexes them again from the CommitLog.
    populate(s, sent, 45_000, 30_000);
    const image = sb.dir();
    copyDir(dir, image);
    const r = sb.open(image, cfg);
    assert.ok(r.memory().indexBytes <= BOUND);
    check(r, sent, "crash image");
    check(s, sent, "the live store");
  } finally {
    await sb.cleanup();
  }
});

test.run();
