// Order locks survive a broker crash: they live in the queue actors' context, which the
// periodic snapshot persists with each lock's absolute expiry. After SIGKILL and a restart on
// the same data directory the holder still holds its queue and the other member is refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { Admin } from "../client/mod.ts";
import { decode } from "../protocol/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";
import { lockMember, queues } from "./helpers/lock-member.ts";

const dir = tempDir();
const args = ["--port", "0", "--data-dir", dir.path, "--snapshot-interval", "200"];
const subs = { Durable: "*" };

test("a lock taken before a SIGKILL is still held after the restart; its holder renews it, the other member waits", async () => {
  const first = await spawnBroker(args);
  const admin = new Admin({ endpoints: first.url });
  await admin.start();
  await admin.createTopic("Durable", 2);
  await admin.shutdown();
  const a = await lockMember(first.url, "cg-durable", "member-a", subs);
  const b = await lockMember(first.url, "cg-durable", "member-b", subs);
  assert.equal(await a.lock(queues("Durable", 0)), [0]);
  assert.equal(await b.lock(queues("Durable", 0, 1)), [1]);
  const lockedAt = Date.now();
  // Locks are not in the CommitLog: only a snapshot taken after them keeps them.
  const snapshots = `${dir.path}/snapshots`;
  // A snapshot is captured, then written: its file time says nothing of when it was captured.
  const capturedAfterLocks = () =>
    readdirSync(snapshots).filter((f) => f.endsWith(".cbor")).some((f) => {
      try {
        return (decode(readFileSync(`${snapshots}/${f}`)) as { createdAt: number }).createdAt > lockedAt;
      } catch {
        return false; // being renamed into place
      }
    });
  await until("a snapshot captured after the locks", capturedAfterLocks, 10_000, 50);
  first.child.kill("SIGKILL");
  await first.exited;
  await Promise.allSettled([a.close(), b.close()]);

  const second = await spawnBroker(args);
  // Both members come back (the restored group still lists them: 120 s expiry).
  const b2 = await lockMember(second.url, "cg-durable", "member-b", subs);
  assert.equal(await b2.lock(queues("Durable", 0, 1)), [1], "queue 0 is still a's, queue 1 still b's");
  const a2 = await lockMember(second.url, "cg-durable", "member-a", subs);
  assert.equal(await a2.lock(queues("Durable", 0)), [0], "a renews the lock it held before the crash");
  await a2.close(); // a leaves: its lock goes with it
  await until("b takes queue 0", async () => (await b2.lock(queues("Durable", 0))).length === 1);
  await b2.close();
  second.child.kill("SIGTERM");
  await second.exited;
});

test.after(() => {
  killSpawned();
  dir.remove();
});

test.run();
