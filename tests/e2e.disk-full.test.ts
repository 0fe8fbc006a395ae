// A full disk: a data directory on a small tmpfs (mounted here; skipped with the reason where
// mounting is impossible), filled by a producer. Writes are refused with DISK_FULL, never
// acknowledged unless stored; /health answers 503 with the reason while they are; pulls go on;
// once space is freed, sends succeed again without a restart. Once with the ratio guard off (the
// broker finds out from ENOSPC itself), once with it on (--disk-full-ratio).
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer, PullConsumer } from "../client/mod.ts";
import { BrokerError } from "../protocol/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";

test.after(() => killSpawned());

const mountPoint = tempDir("actormq-tmpfs-");
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint.path], { encoding: "utf8" });
const skip = mounted.status !== 0 ? `cannot mount a tmpfs (${(mounted.stderr || mounted.error?.message || "").trim() || "not root?"})` : null;
if (skip) console.log(`skipped: ${skip}`);
test.after(() => {
  if (!skip) spawnSync("umount", [mountPoint.path]);
  mountPoint.remove();
});

async function fillAndRecover(label: string, extraArgs: string[]): Promise<void> {
  const data = `${mountPoint.path}/${label}`;
  mkdirSync(data, { recursive: true });
  // Room to give back later.
  const filler = `${mountPoint.path}/filler-${label}`;
  writeFileSync(filler, new Uint8Array(2 * 1024 * 1024));
  const b = await spawnBroker(["--port", "0", "--data-dir", data, "--segment-size", "128k", "--flush-interval", "50", ...extraArgs]);
  const health = async () => {
    const r = await fetch(b.url.replace("ws://", "http://").replace("/ws", "/health"));
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };
  const producer = new Producer({ endpoints: b.url, group: "pg", retryTimesWhenSendFailed: 0 });
  const consumer = new PullConsumer({ endpoints: b.url, group: "cg" });
  await Promise.all([producer.start(), consumer.start()]);
  try {
    const acked: { body: string; queueId: number; queueOffset: number }[] = [];
    const refused: string[] = [];
    let unhealthy: Record<string, unknown> | null = null;
    for (let i = 0; refused.length < 20 && i < 5000; i += 10) {
      const sends = Array.from({ length: 10 }, (_, k) => {
        const body = `${label}-${i + k}-${"x".repeat(4000)}`;
        return producer.send({ topic: "Full", body }).then(
          (r) => void acked.push({ body, queueId: r.queue.queueId, queueOffset: r.queueOffset }),
          (e) => void refused.push(e instanceof BrokerError ? e.code : String(e)),
        );
      });
      await Promise.all(sends);
      if (refused.length > 0 && !unhealthy) {
        const h = await health();
        if (h.status === 503) unhealthy = h.body;
      }
    }
    assert.ok(acked.length > 100, `${label}: some sends were stored first (${acked.length})`);
    assert.ok(refused.length >= 20, `${label}: the disk filled up`);
    assert.equal([...new Set(refused)], ["DISK_FULL"], `${label}: every refusal is DISK_FULL`);
    assert.ok(unhealthy, `${label}: /health answered 503 while writes were refused`);
    assert.match(String(unhealthy!.reason), /^DISK_FULL: /);
    // Every acknowledged message is there, read while the disk is still full.
    for (const a of acked) {
      const r = await consumer.pull({ topic: "Full", queueId: a.queueId, offset: a.queueOffset, maxCount: 1 });
      assert.is(r.msgs[0]?.body, a.body, `${label}: acknowledged ${a.body.slice(0, 16)} is readable`);
    }
    // Space comes back: sends succeed again, no restart.
    rmSync(filler);
    let back = false;
    for (let t = 0; t < 100 && !back; t++) {
      back = await producer.send({ topic: "Full", body: `${label}-after` }).then(() => true, () => false);
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(back, `${label}: a send succeeds once space is freed`);
    await until(`${label}: /health is 200 again`, async () => (await health()).status === 200);
  } finally {
    await Promise.allSettled([producer.shutdown(), consumer.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    rmSync(data, { recursive: true, force: true });
    rmSync(filler, { force: true });
    assert.match(b.output(), /stopped cleanly/, `SIGTERM after a full disk exits cleanly:\n${b.output().split("\n").slice(-8).join("\n")}`);
  }
}

if (skip) test.skip("ENOSPC: refused with DISK_FULL, nothing acknowledged that was not stored, back by itself", () => {});
else test("ENOSPC: refused with DISK_FULL, nothing acknowledged that was not stored, back by itself", async () => {
  await fillAndRecover("enospc", ["--disk-full-ratio", "100", "--disk-warning-ratio", "100"]);
});

if (skip) test.skip("--disk-full-ratio: refused above the ratio, accepted again below it", () => {});
else test("--disk-full-ratio: refused above the ratio, accepted again below it", async () => {
  await fillAndRecover("ratio", ["--disk-full-ratio", "85", "--disk-warning-ratio", "70"]);
});

test.run();
