// One owner per data directory: a second broker on a directory in use exits at once with a
// one-line error naming the holder, while the first keeps serving; after a SIGKILL of the first,
// a new broker takes the stale lock over and starts.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer, PullConsumer } from "../client/mod.ts";
import { isDeno, killSpawned, spawnBroker, tempDir } from "./helpers/broker.ts";

test.after(() => killSpawned());

/** Runs a broker to its exit: code and output. */
function runToExit(args: string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const [cmd, argv] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", "runtime/main.ts"]] : [process.execPath, ["dist/broker.mjs"]];
  const started = Date.now();
  const child = spawn(cmd, [...argv, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  return new Promise((resolve) => child.on("close", (code) => {
    clearTimeout(killer);
    resolve({ code, out, ms: Date.now() - started });
  }));
}

test("a second broker on a directory in use exits with the holder's pid; after a SIGKILL the lock is taken over", async () => {
  const dir = tempDir();
  const first = await spawnBroker(["--port", "0", "--data-dir", dir.path]);
  const producer = new Producer({ endpoints: first.url, group: "pg" });
  await producer.start();
  assert.is((await producer.send({ topic: "L", body: "one" })).status, "SEND_OK");

  const second = await runToExit(["--port", "0", "--data-dir", dir.path]);
  assert.is(second.code, 1);
  const line = second.out.trim();
  assert.not.match(line, /\n/, `one line: ${line}`);
  assert.match(line, new RegExp(`^actormq: data directory .* is in use by pid ${first.child.pid} \\(broker broker-a, port 0\\)`));
  assert.ok(second.ms < 10_000);

  // The first is untouched and keeps serving.
  assert.is((await producer.send({ topic: "L", body: "two" })).status, "SEND_OK");
  await producer.shutdown();

  first.child.kill("SIGKILL");
  await first.exited;
  const third = await spawnBroker(["--port", "0", "--data-dir", dir.path]);
  assert.match(third.output(), new RegExp(`took over the lock of pid ${first.child.pid}`));
  const consumer = new PullConsumer({ endpoints: third.url, group: "cg" });
  await consumer.start();
  let bodies: unknown[] = [];
  for (let q = 0; q < 4; q++) bodies = bodies.concat((await consumer.pull({ topic: "L", queueId: q, offset: 0 })).msgs.map((m) => m.body));
  assert.equal(bodies.sort(), ["one", "two"]);
  await consumer.shutdown();
  third.child.kill("SIGTERM");
  await third.exited;
  dir.remove();
});

test.run();
