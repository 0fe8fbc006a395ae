// A consumer that stops reading its socket while a producer floods and it keeps pulling (4 MiB
// answers, every 10 ms): without a bound its answers pile up in the broker (the issue saw 60 MB ->
// 2 GB in 16 s). With --max-unsent-bytes 8m the broker holds its large answers once 8 MiB are
// unread, stops reading it, and closes it after --slow-consumer-timeout: the broker's RSS stays
// under its start-up RSS + 160 MB throughout (the bound: 2 x 8 MiB unsent, the 32 MiB CommitLog
// tail the flood fills, and V8's young generation under load), the slow client is closed with
// the reason SLOW_CONSUMER (logged, counted in /metrics; on Node its connection is dropped a
// second later, Deno's WebSocket can only send the close frame behind the unread bytes), and the
// producer is served throughout.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync } from "node:fs";
import { Producer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";
import { type SlowReader, slowReader } from "./helpers/slow-reader.ts";

const RSS_BOUND_MB = 160;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const noProc = existsSync("/proc/self/status") ? null : "no /proc here to read a process's RSS";
if (noProc) console.log(`skipping the slow-consumer test: ${noProc}`);

(noProc ? test.skip : test)(`a consumer that stops reading is paused, then closed; broker RSS stays under start + ${RSS_BOUND_MB} MB`, async () => {
  const dir = tempDir();
  const broker = await spawnBroker(["--port", "0", "--data-dir", dir.path, "--max-unsent-bytes", "8m", "--slow-consumer-timeout", "2000"]);
  const pid = broker.child.pid!;
  const producer = new Producer({ endpoints: broker.url });
  let slow: SlowReader | undefined;
  try {
    await producer.start();
    await producer.send({ topic: "Flood", body: "first", queueId: 0 });
    const start = rssMb(pid);
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);

    slow = await slowReader(broker.url);
    slow.stopReading();
    let pulls = 0;
    const puller = setInterval(() => {
      pulls++;
      slow!.send({ id: pulls, op: "pull", topic: "Flood", queueId: 0, offset: 0, maxCount: 1000, maxBytes: 4 * 1024 * 1024 });
    }, 10);

    // The flood: 64 KiB messages, 32 in flight, until the slow client has been closed (and a while after).
    const body = new Uint8Array(64 * 1024).fill(7);
    let flooded = 0;
    let closed = false;
    const flood = Promise.all(Array.from({ length: 32 }, async () => {
      while (!closed && flooded < 6000) {
        await producer.send({ topic: "Flood", body, queueId: 0 });
        flooded++;
      }
    }));
    const metricsUrl = broker.url.replace("ws://", "http://").replace(/\/ws$/, "/metrics");
    const slowClosed = async () => /actormq_limit_refusals_total\{limit="slowConsumer"\} 1/.test(await (await fetch(metricsUrl)).text());
    await until("the slow consumer closed", slowClosed, 20_000, 100);
    const closedAt = flooded;
    // It keeps pulling after the close; the flood goes on: nothing of it is served any more.
    await until("1,000 more messages flooded", () => flooded >= closedAt + 1000 || flooded >= 6000, 20_000, 20);
    closed = true;
    await flood;
    clearInterval(puller);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(pid));
    console.log(`slow consumer closed after ${pulls} pulls; ${flooded} x 64 KiB flooded; broker RSS ${start.toFixed(0)} -> peak ${peak.toFixed(0)} MB`);
    assert.ok(peak - start < RSS_BOUND_MB, `RSS grew ${(peak - start).toFixed(0)} MB (bound ${RSS_BOUND_MB})`);
    assert.ok(pulls > 100, "it kept pulling");
    assert.match(broker.output(), /closed the connection from \S+: SLOW_CONSUMER: replies unread for 2000 ms/, "the broker says why it closed it");
    // The producer was served throughout, and still is.
    assert.ok((await producer.send({ topic: "Flood", body: "after", queueId: 0 })).queueOffset > flooded);
  } finally {
    await producer.shutdown();
    slow?.destroy();
    killSpawned();
    await broker.exited;
    dir.remove();
  }
});

test.run();
