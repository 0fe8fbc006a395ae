// --tail-size: how much of the newest CommitLog the broker keeps in memory. Whatever the size,
// even none, every message comes back byte-identical (read from the tail or from disk); a size
// that is no byte count stops the broker at start with a message naming the flag.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir } from "./helpers/broker.ts";

test.after(() => killSpawned());

for (const size of ["0", "64k"]) {
  test(`--tail-size ${size}: 300 messages of 1 to 8 KiB are read back byte-identical`, async () => {
    const b = await spawnBroker(["--port", "0", "--data-dir", tempDir().path, "--tail-size", size]);
    const producer = new Producer({ endpoints: b.url, group: "pg" });
    const consumer = new PullConsumer({ endpoints: b.url, group: "cg" });
    const admin = new Admin({ endpoints: b.url });
    await Promise.all([producer.start(), consumer.start(), admin.start()]);
    await admin.createTopic("Tail", 1);
    const bodies = new Map<string, Uint8Array>();
    for (let i = 0; i < 300; i++) {
      const body = new Uint8Array(1024 * (1 + (i % 8))).fill(i & 0xff);
      const r = await producer.send({ topic: "Tail", body });
      bodies.set(r.msgId, body);
    }
    let offset = 0;
    let read = 0;
    for (;;) {
      const r = await consumer.pull({ topic: "Tail", queueId: 0, offset, maxCount: 32 });
      if (r.status !== "FOUND") break;
      for (const m of r.msgs) {
        assert.equal(new Uint8Array(m.body as Uint8Array), bodies.get(m.id), `message ${m.id}`);
        read++;
      }
      offset = r.nextOffset;
    }
    await Promise.all([producer.shutdown(), consumer.shutdown(), admin.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    assert.is(read, 300);
  });
}

test("--tail-size that is no byte count: the broker does not start and names the flag", async () => {
  const err = await spawnBroker(["--port", "0", "--data-dir", tempDir().path, "--tail-size", "lots"]).then(() => null, (e: Error) => e);
  assert.ok(err, "the broker started");
  assert.match(err!.message, /--tail-size: expected a size/);
});

test.run();
