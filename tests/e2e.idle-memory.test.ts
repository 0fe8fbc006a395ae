// --idle-gc against a real broker process: once traffic stops, the broker lets its CommitLog tail
// go and runs its rounds (on Node a full GC, which runtime/main.ts enables; on both glibc's
// malloc_trim, through koffi on Node and FFI on Deno), /metrics shows both, no message reads
// differently for it, and the next traffic starts a new ring and a new spell. (--idle-gc 0,
// which arms no timer at all, is tests/memory-reducer.test.ts's.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";

const isDeno = "Deno" in globalThis;

test.after(() => killSpawned());

/** One sample's value from /metrics (the HTTP endpoint is on the broker's port). */
async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url.replace(/^ws/, "http").replace(/\/ws$/, "")}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  assert.ok(line, `/metrics has ${sample}`);
  return Number(line.split(" ")[1]);
}

const ROUNDS = "actormq_idle_memory_rounds_total";
const TAIL = 'actormq_store_memory_bytes{kind="tail"}';

test("an idle broker releases its tail and runs its rounds; messages read the same; traffic starts a new spell", async () => {
  const b = await spawnBroker(["--port", "0", "--data-dir", tempDir().path, "--idle-gc", "200", "--log-level", "debug"]);
  const producer = new Producer({ endpoints: b.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: b.url, group: "cg" });
  const admin = new Admin({ endpoints: b.url });
  await Promise.all([producer.start(), consumer.start(), admin.start()]);
  await admin.createTopic("Idle", 1);
  const send = async (from: number, n: number) => {
    for (let i = from; i < from + n; i++) await producer.send({ topic: "Idle", body: new Uint8Array(2048).fill(i) });
  };
  await send(0, 50);
  assert.ok((await metric(b.url, TAIL)) > 0, "the tail holds the newest messages");
  await until("three idle rounds", async () => (await metric(b.url, ROUNDS)) === 3, 15_000);
  assert.is(await metric(b.url, TAIL), 0, "the tail was released");
  assert.ok((await metric(b.url, "process_resident_memory_bytes")) > 0);
  // Node: a full GC (runtime/main.ts exposes gc). Deno, started here without --v8-flags: no GC.
  // Both: glibc's freed pages go back (koffi, in package-lock.json, on Node; FFI on Deno).
  assert.match(b.output(), isDeno ? /round 1 of 3: CommitLog tail released, no GC [^,]*, malloc_trim, [\d.]+ ms/ : /round 1 of 3: CommitLog tail released, full GC, malloc_trim, [\d.]+ ms/);

  const r = await consumer.pull({ topic: "Idle", queueId: 0, offset: 0, maxCount: 32 });
  assert.is(r.status, "FOUND");
  r.msgs.forEach((m, i) => assert.equal(new Uint8Array(m.body as Uint8Array), new Uint8Array(2048).fill(i), `message ${i}, read from disk`));

  await send(50, 10);
  assert.ok((await metric(b.url, TAIL)) > 0, "a new ring holds the next messages");
  await until("a second spell's rounds", async () => (await metric(b.url, ROUNDS)) === 6, 15_000);
  const again = await consumer.pull({ topic: "Idle", queueId: 0, offset: 50, maxCount: 32 });
  assert.is(again.msgs.length, 10);
  again.msgs.forEach((m, i) => assert.equal(new Uint8Array(m.body as Uint8Array), new Uint8Array(2048).fill(50 + i)));

  await Promise.all([producer.shutdown(), consumer.shutdown(), admin.shutdown()]);
  b.child.kill("SIGTERM");
  await b.exited;
});

test.run();
