// Flushing: group commit under sync flush (fsyncs counted on the real file handles), every
// acknowledged message surviving a crash image, FLUSH_TIMEOUT, the async flush loop and its
// checkpoint, flushes never overlapping.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError, decode, ErrorCode } from "../protocol/mod.ts";
import type { FileHandle, Files } from "../platform/platform.ts";
import { readCheckpoint } from "../storage/checkpoint.ts";
import { copyDir, countingFiles, files, item, Sandbox } from "./helpers/storage-env.ts";

const cfg = { segmentSize: 64 * 1024, indexSlots: 256, indexEntries: 4096, cqEntriesPerFile: 1000 };
const isCommitLog = (path: string) => path.includes("/commitlog/");

test("sync flush: concurrent waitDurable calls share fsyncs (group commit) and every awaited message survives a crash", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const counting = countingFiles(isCommitLog);
    const s = sb.open(dir, { ...cfg, flush: "sync", flushIntervalMs: 60_000 }, { files: counting.files });
    const acked: { body: string; queueId: number; queueOffset: number }[] = [];
    let calls = 0;
    // 20 producers, each sending 10 messages one after another, waiting for durability each time.
    const producer = async (p: number) => {
      for (let i = 0; i < 10; i++) {
        const body = `p${p}-m${i}`;
        const [r] = s.appendBatch([item("Sync", p % 4, { body })]);
        calls++;
        await s.waitDurable(r.commitLogOffset + r.size);
        acked.push({ body, queueId: p % 4, queueOffset: r.queueOffset });
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, p) => producer(p)));
    assert.is(calls, 200);
    assert.is(acked.length, 200);
    const fsyncs = counting.syncs();
    assert.ok(fsyncs > 0 && fsyncs < calls / 4, `${fsyncs} fsyncs for ${calls} waitDurable calls`);
    // Already durable: resolves without another fsync.
    await s.waitDurable(s.maxCommitLogOffset);
    assert.is(counting.syncs(), fsyncs);

    // The crash image: no close, no checkpoint flush since the start.
    const image = sb.dir();
    copyDir(dir, image);
    const r = sb.open(image, cfg);
    for (const a of acked) {
      const got = r.getMessages("Sync", a.queueId, a.queueOffset, 1, 1 << 20);
      assert.is(got.status, "FOUND");
      assert.is(String((decode(got.records[0].message) as { body: unknown }).body), a.body);
    }
  } finally {
    await sb.cleanup();
  }
});

test("sync flush: waiters of one turn share a single fsync; writes during an fsync wait for the next", async () => {
  const sb = new Sandbox();
  try {
    const counting = countingFiles(isCommitLog);
    const s = sb.open(sb.dir(), { ...cfg, flush: "sync", flushIntervalMs: 60_000 }, { files: counting.files });
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const [r] = s.appendBatch([item("T", 0)]);
      waits.push(s.waitDurable(r.commitLogOffset + r.size));
    }
    await Promise.all(waits);
    assert.is(counting.syncs(), 1);
    // One write while nothing runs, one while its fsync runs: the second needs a second fsync.
    const [a] = s.appendBatch([item("T", 0)]);
    const first = s.waitDurable(a.commitLogOffset + a.size);
    await Promise.resolve(); // the first round starts
    await Promise.resolve();
    const [b] = s.appendBatch([item("T", 0)]);
    const second = s.waitDurable(b.commitLogOffset + b.size);
    await Promise.all([first, second]);
    assert.is(counting.syncs(), 3);
  } finally {
    await sb.cleanup();
  }
});

test("sync flush: a waiter whose fsync does not finish in time gets FLUSH_TIMEOUT", async () => {
  const sb = new Sandbox();
  try {
    // Commit-log fsyncs wait at a gate the test opens later (a disk that stalls).
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const stalling: Files = {
      ...files,
      open(path, options) {
        const h = files.open(path, options);
        if (!isCommitLog(path)) return h;
        const wrapped: FileHandle = { ...bind(h), sync: () => gate.then(() => h.sync()) };
        return wrapped;
      },
    };
    const s = sb.open(sb.dir(), { ...cfg, flush: "sync", flushIntervalMs: 60_000, syncFlushTimeoutMs: 50 }, { files: stalling });
    const [r] = s.appendBatch([item("T", 0)]);
    const started = Date.now();
    try {
      await s.waitDurable(r.commitLogOffset + r.size);
      assert.unreachable("should time out");
    } catch (e) {
      assert.instance(e, BrokerError);
      assert.is((e as BrokerError).code, ErrorCode.FLUSH_TIMEOUT);
      assert.ok(Date.now() - started >= 45);
    }
    open();
    // Once the disk is back, a new waiter succeeds.
    await s.waitDurable(r.commitLogOffset + r.size);
  } finally {
    await sb.cleanup();
  }
});

test("async flush: waitDurable resolves at once; the interval loop fsyncs and writes the checkpoint", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    let written!: () => void;
    const checkpointWritten = new Promise<void>((r) => (written = r));
    const counting = countingFiles(isCommitLog);
    const watched: Files = {
      ...counting.files,
      async writeFileAtomic(path, data) {
        await files.writeFileAtomic(path, data);
        if (path.endsWith("/checkpoint")) written();
      },
    };
    const s = sb.open(dir, { ...cfg, flush: "async", flushIntervalMs: 20 }, { files: watched });
    const results = s.appendBatch([item("A", 0), item("A", 1), item("B", 0, { keys: ["k"] })]);
    const last = results[results.length - 1];
    await s.waitDurable(last.commitLogOffset + last.size);
    assert.is(counting.syncs(), 0, "async: acknowledged before any fsync");
    await checkpointWritten;
    assert.ok(counting.syncs() >= 1);
    const cp = readCheckpoint(files, `${dir}/checkpoint`)!;
    assert.is(cp.commitLogFlushed, s.maxCommitLogOffset);
    assert.is(cp.dispatched, s.maxCommitLogOffset);
    assert.is(cp.indexFlushed, s.maxCommitLogOffset);
    assert.equal(cp.queues, { "A/0": 1, "A/1": 1, "B/0": 1 });
    assert.ok(cp.index.file !== null && cp.index.entries === 4);
  } finally {
    await sb.cleanup();
  }
});

test("flushes never overlap: explicit flushes and the loop take turns on the CommitLog", async () => {
  const sb = new Sandbox();
  try {
    let inFlight = 0;
    let maxInFlight = 0;
    const tracking: Files = {
      ...files,
      open(path, options) {
        const h = files.open(path, options);
        return {
          ...bind(h),
          sync: async () => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            try {
              await h.sync();
            } finally {
              inFlight--;
            }
          },
        };
      },
    };
    const s = sb.open(sb.dir(), { ...cfg, flush: "async", flushIntervalMs: 1 }, { files: tracking });
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      s.appendBatch([item("A", i % 3, { body: "x".repeat(3000) })]);
      flushes.push(s.flush());
      if (i % 5 === 0) await flushes[flushes.length - 1];
    }
    await Promise.all(flushes);
    assert.is(maxInFlight, 1, "one fsync at a time");
    await s.close();
    // Closed: appends are refused.
    try {
      s.appendBatch([item("A", 0)]);
      assert.unreachable();
    } catch (e) {
      assert.is((e as BrokerError).code, ErrorCode.SERVICE_UNAVAILABLE);
    }
  } finally {
    await sb.cleanup();
  }
});

function bind(h: FileHandle): FileHandle {
  return {
    read: (b, p) => h.read(b, p),
    write: (b, p) => h.write(b, p),
    sync: () => h.sync(),
    truncate: (n) => h.truncate(n),
    size: () => h.size(),
    close: () => h.close(),
  };
}

test.run();
