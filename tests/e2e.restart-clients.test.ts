// Restarts never mix up clients. The case: a pull held when the broker stops (session 2,
// request 1, topic Held) must not be answered, after a restart, to the new life's second
// connection when it pulls another topic with request id 1. Held pulls are not restored from
// the snapshot, and session ids differ across lives.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer } from "../client/mod.ts";
import { encode } from "../protocol/mod.ts";
import { killSpawned, spawnBroker, tempDir } from "./helpers/broker.ts";
import { rawSocket } from "./helpers/raw-socket.ts";

test.after(() => killSpawned());

test("a pull held at SIGTERM is not answered to another client after the restart", async () => {
  const dir = tempDir();
  const args = ["--data-dir", dir.path, "--snapshot-interval", "1h"];
  const first = await spawnBroker(["--port", "0", ...args]);
  const port = new URL(first.url).port;
  // Two raw connections, as in the issue (sessions 1 and 2 of this life): the second holds a pull on Held.
  const one = await rawSocket(first.url);
  const two = await rawSocket(first.url);
  for (const [i, topic] of ["Held", "Other"].entries()) {
    one.send(encode({ id: i, op: "createTopic", topic, queues: 1 }));
    assert.is((await one.next()).code, 0);
  }
  two.send(encode({ id: 1, op: "pull", topic: "Held", queueId: 0, offset: 0, pollMs: 30_000 }));
  await new Promise((r) => setTimeout(r, 300)); // the pull is held (nothing to wait on from outside)
  first.child.kill("SIGTERM");
  await first.exited;
  one.close();
  two.close();
  assert.match(first.output(), /stopped cleanly/);

  const second = await spawnBroker(["--port", port, ...args]);
  const a = await rawSocket(second.url);
  const b = await rawSocket(second.url);
  b.send(encode({ id: 1, op: "pull", topic: "Other", queueId: 0, offset: 0, pollMs: 2000 }));
  // A message for the old hold arrives: whoever held it, no one of this life asked for it.
  const producer = new Producer({ endpoints: second.url, group: "pg" });
  try {
    await producer.start();
    await producer.send({ topic: "Held", body: "for the old hold" });
    const answer = await b.next(10_000);
    assert.is(answer.id, 1);
    assert.is(answer.status, "NO_NEW_MSG", `b's pull of Other is answered as such, not with Held's message: ${JSON.stringify(answer)}`);
    assert.equal(answer.msgs ?? [], []);
    const onA = await a.next(300).then((f) => f, () => null);
    assert.is(onA, null, "nothing arrives on the first connection either");
  } finally {
    await producer.shutdown();
    a.close();
    b.close();
    second.child.kill("SIGTERM");
    await second.exited;
    dir.remove();
  }
});

test.run();
