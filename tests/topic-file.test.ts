// The topic table on disk: a change is a record appended to config/topics.log, the table file
// is rewritten only now and then. What a crash leaves (no close, a record cut short) loads back
// to every topic whose createTopic was answered; a broker killed right after such answers has
// them all after its restart.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin } from "../client/mod.ts";
import { TopicFile } from "../runtime/services/topic-file.ts";
import { spawnBroker, tempDir } from "./helpers/broker.ts";
import { countingFiles, files } from "./helpers/storage-env.ts";

test("every saved topic loads back without a close; a record cut short at the end is left out", async () => {
  const dir = tempDir();
  try {
    const file = new TopicFile(files, dir.path);
    await file.compact({});
    await Promise.all(Array.from({ length: 50 }, (_, i) => file.save(`T${i}`, { queues: 1 + (i % 8), perm: 6 })));
    await file.save("T3", { queues: 9, perm: 4 }); // a later change wins
    const loaded = new TopicFile(files, dir.path).load(); // as after a crash: the first was never closed
    assert.is(Object.keys(loaded).length, 50);
    assert.equal(loaded.T3, { queues: 9, perm: 4 });
    assert.equal(loaded.T7, { queues: 8, perm: 6 });
    // A crash in the middle of an append: the last record's bytes are cut short.
    const log = files.readFile(`${dir.path}/topics.log`)!;
    const h = files.open(`${dir.path}/topics.log`);
    h.truncate(log.length - 3);
    h.close();
    const torn = new TopicFile(files, dir.path).load();
    assert.equal(torn.T3, { queues: 4, perm: 6 }, "the cut record (T3's change) is left out, T3 as first saved");
    assert.is(Object.keys(torn).length, 50);
    await file.close();
  } finally {
    dir.remove();
  }
});

test("the log is folded into the table once it has grown; the table then holds everything", async () => {
  const dir = tempDir();
  try {
    const file = new TopicFile(files, dir.path);
    await file.compact({});
    const table: Record<string, { queues: number; perm: number }> = {};
    let compactions = 0;
    for (let i = 0; i < 3000; i++) {
      table[`Topic-${i}`] = { queues: 8, perm: 6 };
      const saved = file.save(`Topic-${i}`, table[`Topic-${i}`]);
      if (file.wantsCompaction) {
        compactions++;
        await file.compact(table);
      }
      if (i % 500 === 0) await saved;
    }
    await file.close();
    assert.ok(compactions >= 1 && compactions < 10, `compactions: ${compactions}`);
    assert.ok(files.stat(`${dir.path}/topics.log`)!.size < 64 * 1024 + 1000, "the log stays small");
    assert.equal(new TopicFile(files, dir.path).load(), table);
  } finally {
    dir.remove();
  }
});

test("answered once written under --flush async (the fdatasync follows), once synced under --flush sync", async () => {
  const dir = tempDir();
  try {
    // Files whose fdatasync on the log waits until released.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const slow = { ...files, open: (path: string) => {
      const h = files.open(path);
      return Object.assign(Object.create(Object.getPrototypeOf(h)), h, { sync: () => held.then(() => h.sync()) });
    } } as typeof files;
    const order: string[] = [];
    const write = new TopicFile(slow, `${dir.path}/a`, "topics.cbor", undefined, "write");
    const fsync = new TopicFile(slow, `${dir.path}/b`, "topics.cbor", undefined, "fsync");
    const saves = [write.save("A", { queues: 1, perm: 6 }).then(() => order.push("write")), fsync.save("B", { queues: 1, perm: 6 }).then(() => order.push("fsync"))];
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(order, ["write"], "only the write-answered save is answered before its fdatasync");
    assert.equal(new TopicFile(files, `${dir.path}/a`).load(), { A: { queues: 1, perm: 6 } }, "and it is in the file");
    release();
    await Promise.all(saves);
    assert.equal(order, ["write", "fsync"]);
    await Promise.all([write.close(), fsync.close()]);
  } finally {
    dir.remove();
  }
});

test("under --flush async one fdatasync, within --flush-interval, serves every record written meanwhile; close syncs what is pending", async () => {
  const dir = tempDir();
  try {
    const counted = countingFiles((path) => path.endsWith("topics.log"));
    const file = new TopicFile(counted.files, dir.path, "topics.cbor", undefined, "write", 60_000);
    // One at a time, as a script creating topics in a loop: each answered once written.
    for (let i = 0; i < 50; i++) await file.save(`T${i}`, { queues: 1, perm: 6 });
    assert.is(counted.syncs(), 0, "no fdatasync per record: it is due within the interval");
    assert.is(Object.keys(new TopicFile(files, dir.path).load()).length, 50, "every record is in the file");
    await file.close();
    assert.is(counted.syncs(), 1, "close runs the pending fdatasync");
    const immediate = new TopicFile(counted.files, `${dir.path}/b`, "topics.cbor", undefined, "write");
    await immediate.save("A", { queues: 1, perm: 6 });
    await immediate.close();
    assert.is(counted.syncs(), 2, "without an interval the fdatasync follows each write");
  } finally {
    dir.remove();
  }
});

test("topics created without a message are all there after a SIGKILL right after their answers", async () => {
  const dir = tempDir();
  try {
    const args = ["--port", "0", "--data-dir", dir.path];
    const first = await spawnBroker(args);
    const admin = new Admin({ endpoints: first.url });
    await admin.start();
    for (let i = 0; i < 200; i++) await admin.createTopic(`Empty${i}`, 1 + (i % 4));
    await Promise.all(Array.from({ length: 100 }, (_, i) => admin.createTopic(`Burst${i}`, 2)));
    first.child.kill("SIGKILL");
    await first.exited;
    await admin.shutdown().catch(() => {});
    const second = await spawnBroker(args);
    const admin2 = new Admin({ endpoints: second.url });
    await admin2.start();
    const topics = new Map((await admin2.topicList()).map((t) => [t.topic, t.queues]));
    for (let i = 0; i < 200; i++) assert.is(topics.get(`Empty${i}`), 1 + (i % 4), `Empty${i}`);
    for (let i = 0; i < 100; i++) assert.is(topics.get(`Burst${i}`), 2, `Burst${i}`);
    await admin2.shutdown();
    second.child.kill("SIGTERM");
    await second.exited;
  } finally {
    dir.remove();
  }
});

test.run();
