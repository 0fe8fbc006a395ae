// Damaged data directories, each a copy of one real broker's directory of several CommitLog
// segments: a byte flipped in a record past the checkpoint and one below it, a missing middle
// segment, a restart with another --segment-size, garbage ConsumeQueue entries, a wrong-shape
// snapshot, a wrong-shape topics.cbor, and topics.cbor and every snapshot lost (its copy,
// topics-copy.cbor, keeps even a topic never written to). In each, every
// intact message is consumed exactly once, a damaged one is reported (a log line and a
// /metrics counter) and never delivered, and the broker starts and takes new sends.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { decode, encode } from "../protocol/mod.ts";
import { offsetName } from "../storage/commit-log.ts";
import { CQ_ENTRY_SIZE } from "../storage/consume-queue.ts";
import { HEADER_SIZE } from "../storage/record.ts";
import { killSpawned, spawnBroker, tempDir } from "./helpers/broker.ts";
import { copyDir, files } from "./helpers/storage-env.ts";

test.after(() => killSpawned());

const SEG = 64 * 1024;
const TOTAL = 1500;
const original = tempDir();
const base = ["--port", "0", "--segment-size", "64k", "--tail-size", "0", "--snapshot-interval", "1h"];

// ------------------------------------------------------------------ the original directory

const first = await spawnBroker([...base, "--data-dir", original.path]);
{
  const admin = new Admin({ endpoints: first.url });
  const producer = new Producer({ endpoints: first.url, group: "pg" });
  await Promise.all([admin.start(), producer.start()]);
  await admin.createTopic("C", 2);
  await admin.createTopic("Empty", 8); // never written to: no ConsumeQueue says how many queues it has
  for (let i = 0; i < TOTAL; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => producer.send({ topic: "C", body: `m-${i + k}-${"x".repeat(150 + ((i + k) % 50))}` })));
  }
  await Promise.all([admin.shutdown(), producer.shutdown()]);
  first.child.kill("SIGTERM");
  await first.exited;
}
const segments = files.list(`${original.path}/commitlog`);
assert.ok(segments.length >= 4, `several segments (${segments.length})`);

/** The records of a segment file: position, size and body text. */
function recordsOf(dir: string, seg: number): { pos: number; size: number; body: string }[] {
  const bytes = files.readFile(`${dir}/commitlog/${offsetName(seg)}`)!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    const size = dv.getUint32(at);
    if (dv.getUint32(at + 4) !== 0xaabbccdd) break;
    const m = decode(bytes.subarray(at + HEADER_SIZE, at + size)) as { body: unknown };
    out.push({ pos: seg + at, size, body: typeof m.body === "string" ? m.body : new TextDecoder().decode(m.body as Uint8Array) });
    at += size;
  }
  return out;
}

function flip(dir: string, pos: number): void {
  const seg = pos - (pos % SEG);
  const h = files.open(`${dir}/commitlog/${offsetName(seg)}`);
  const b = new Uint8Array(1);
  h.read(b, pos - seg);
  b[0] ^= 0x20;
  h.write(b, pos - seg);
  h.close();
}

const allBodies = (dir: string) => files.list(`${dir}/commitlog`).flatMap((n) => recordsOf(dir, Number(n))).map((r) => r.body).filter((b) => b.startsWith("m-"));
assert.is(allBodies(original.path).length, TOTAL);

// ------------------------------------------------------------------ one damaged copy

interface Case {
  name: string;
  damage(dir: string): string[]; // returns the bodies that are lost
  args?: string[];
  log?: RegExp;
  metric?: RegExp;
  queues?: number;
}

async function check(c: Case): Promise<void> {
  const work = tempDir();
  copyDir(original.path, work.path);
  const lost = new Set(c.damage(work.path));
  const b = await spawnBroker([...base, "--data-dir", work.path, ...(c.args ?? [])]);
  const consumer = new PullConsumer({ endpoints: b.url, group: "check" });
  const admin = new Admin({ endpoints: b.url });
  const producer = new Producer({ endpoints: b.url, group: "pg" });
  await Promise.all([consumer.start(), admin.start(), producer.start()]);
  try {
    const topic = (await admin.topicList()).find((t) => t.topic === "C");
    assert.is(topic?.queues, c.queues ?? 2, `${c.name}: topic C has its queues`);
    assert.is((await admin.topicList()).find((t) => t.topic === "Empty")?.queues, 8, `${c.name}: a topic never written to has its queues`);
    const seen = new Map<string, number>();
    for (let q = 0; q < 2; q++) {
      for (let offset = 0;;) {
        const r = await consumer.pull({ topic: "C", queueId: q, offset, maxCount: 64 });
        for (const m of r.msgs) {
          const body = typeof m.body === "string" ? m.body : new TextDecoder().decode(m.body as Uint8Array);
          seen.set(body, (seen.get(body) ?? 0) + 1);
        }
        if (r.nextOffset >= r.maxOffset || r.status === "NO_NEW_MSG") break;
        offset = r.nextOffset;
      }
    }
    const intact = allBodies(original.path).filter((x) => !lost.has(x));
    for (const body of intact) assert.is(seen.get(body), 1, `${c.name}: ${body.slice(0, 12)} consumed once`);
    for (const body of lost) assert.not.ok(seen.has(body), `${c.name}: damaged ${body.slice(0, 12)} never delivered`);
    assert.is(seen.size, intact.length, `${c.name}: nothing else delivered`);
    if (c.log) assert.match(b.output(), c.log, `${c.name}: logged`);
    if (c.metric) {
      const metrics = await (await fetch(b.url.replace("ws://", "http://").replace("/ws", "/metrics"))).text();
      assert.match(metrics, c.metric, `${c.name}: counted`);
    }
    const sent = await producer.send({ topic: "C", body: "after" });
    assert.is(sent.status, "SEND_OK");
    const back = await consumer.pull({ topic: "C", queueId: sent.queue.queueId, offset: sent.queueOffset });
    assert.is(back.msgs[0].body, "after");
  } finally {
    await Promise.allSettled([consumer.shutdown(), admin.shutdown(), producer.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    work.remove();
  }
}

const checkpointBack = (dir: string, to: number) => {
  // A crash image: the checkpoint (what was known durable) is behind the CommitLog's end.
  const cp = decode(files.readFile(`${dir}/checkpoint`)!) as Record<string, unknown>;
  files.remove(`${dir}/checkpoint`);
  const h = files.open(`${dir}/checkpoint`);
  h.write(encode({ ...cp, commitLogFlushed: to, dispatched: to, indexFlushed: 0, index: { file: null, entries: 0 }, queues: {} }), 0);
  h.close();
};

test("a byte flipped in a record past the checkpoint: recovery skips it, the records after it are kept", async () => {
  await check({
    name: "past the checkpoint",
    damage(dir) {
      checkpointBack(dir, SEG);
      const victim = recordsOf(dir, 2 * SEG)[10];
      flip(dir, victim.pos + HEADER_SIZE + 20);
      return [victim.body];
    },
    log: /CORRUPT_RECORD: CommitLog bytes \d+\.\.\d+/,
    metric: /actormq_commitlog_damaged_ranges_total [1-9]/,
  });
});

test("a byte flipped in a record below the checkpoint: its CRC fails on read, it is skipped", async () => {
  await check({
    name: "below the checkpoint",
    damage(dir) {
      const victim = recordsOf(dir, SEG)[7];
      flip(dir, victim.pos + victim.size - 30);
      return [victim.body];
    },
    log: /CORRUPT_RECORD: the record at CommitLog offset \d+ failed its CRC check/,
    metric: /actormq_corrupt_records_total\{reason="crc"\} 1/,
  });
});

test("a missing middle segment: its records are lost and reported, the segments after it kept", async () => {
  await check({
    name: "missing segment",
    damage(dir) {
      const lost = recordsOf(dir, 2 * SEG).map((r) => r.body);
      files.remove(`${dir}/commitlog/${offsetName(2 * SEG)}`);
      return lost;
    },
    log: /CommitLog segments \d+\.\.\d+ are missing/,
    metric: /actormq_commitlog_missing_segments 1/,
  });
});

test("restarted with another --segment-size: the recorded one is kept and said so", async () => {
  await check({ name: "segment size", damage: () => [], args: ["--segment-size", "1m"], log: /created with segmentSize 65536: keeping it/ });
});

test("garbage ConsumeQueue entries: checked against their records and rebuilt", async () => {
  await check({
    name: "garbage entries",
    damage(dir) {
      const cq = `${dir}/consumequeue/C/0`;
      const file = files.list(cq)[0];
      const h = files.open(`${cq}/${file}`);
      const junk = new Uint8Array(40 * CQ_ENTRY_SIZE).map((_, i) => (i * 37 + 11) & 0xff);
      h.write(junk, 100 * CQ_ENTRY_SIZE);
      h.close();
      return [];
    },
    log: /ConsumeQueue C\/0: entry \d+ did not match its record; rebuilt/,
    metric: /actormq_consumequeue_repairs_total [1-9]/,
  });
});

test("a wrong-shape snapshot and a wrong-shape topics.cbor: set aside, restored from storage", async () => {
  await check({
    name: "wrong shapes",
    damage(dir) {
      const snaps = files.list(`${dir}/snapshots`).filter((n) => n.endsWith(".cbor"));
      const newest = snaps[snaps.length - 1];
      const good = decode(files.readFile(`${dir}/snapshots/${newest}`)!) as { root: { context: Record<string, unknown> } };
      good.root.context.topics = { C: { queues: "two", perm: 6 } };
      files.remove(`${dir}/snapshots/${newest}`);
      const h = files.open(`${dir}/snapshots/${newest}`);
      h.write(encode(good), 0);
      h.close();
      files.remove(`${dir}/config/topics.cbor`);
      const t = files.open(`${dir}/config/topics.cbor`);
      t.write(encode({ C: { queues: Number.NaN, perm: 6 }, D: "no" }), 0);
      t.close();
      return [];
    },
    log: /snapshot \d+\.cbor cannot be restored .*set aside[\s\S]*config\/topics\.cbor cannot be used/,
  });
});

test("topics.cbor and every snapshot lost: the topic comes back with its own queue count", async () => {
  await check({
    name: "lost metadata",
    damage(dir) {
      files.remove(`${dir}/snapshots`, { recursive: true });
      files.remove(`${dir}/config/topics.cbor`);
      return [];
    },
    args: ["--default-queues", "4"],
    queues: 2,
  });
});

test.after(() => original.remove());
test.run();
