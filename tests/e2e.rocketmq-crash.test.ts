// A SIGKILL of the broker while messages are invisible (handed out by POP, not acked) loses none:
// after the restart they are visible again when their invisibility ends, with deliveryAttempt 2,
// to RocketMQ's official SimpleConsumer (over gRPC) and to ActorMQ's own (over WebSocket), each
// client kept running across the crash, as an application would.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer as AmqProducer, SimpleConsumer as AmqSimpleConsumer, type SimpleMessage } from "../client/mod.ts";
import { killSpawned, tempDir, until } from "./helpers/broker.ts";
import { logger, SimpleConsumer, spawnGrpcBroker, stopBroker, type MessageView } from "./helpers/rocketmq.ts";

const N = 20;
const dir = tempDir();
const args = ["--default-queues", "4"];
let broker = await spawnGrpcBroker(args, dir.path);

test("SIGKILL while messages are invisible: none lost, each back with deliveryAttempt 2", async () => {
  const producer = new AmqProducer({ endpoints: broker.url });
  await producer.start();
  const ids = new Set<string>();
  for (let i = 0; i < N; i++) ids.add((await producer.send({ topic: "RkCrash", body: `m${i}` })).msgId);
  await producer.shutdown();

  const rmq = new SimpleConsumer({ endpoints: broker.grpc, namespace: "", consumerGroup: "rk-rmq", subscriptions: new Map([["RkCrash", "*"]]), awaitDuration: 1000, logger });
  await rmq.startup();
  const amq = new AmqSimpleConsumer({ endpoints: broker.url, group: "rk-amq", subscriptions: { RkCrash: "*" }, awaitMs: 1000 });
  await amq.start();

  const before = { rmq: new Set<string>(), amq: new Set<string>() };
  await until("all handed out to both groups, none acked", async () => {
    for (const m of await rmq.receive(32, 3000)) before.rmq.add(m.messageId);
    for (const m of await amq.receive(32, 3000)) before.amq.add(m.id);
    return before.rmq.size === N && before.amq.size === N;
  }, 15_000);

  broker.child.kill("SIGKILL");
  assert.is(await broker.exited, "SIGKILL");
  // Where it was, on both ports: the clients keep running across the crash.
  broker = await spawnGrpcBroker([...args, "--port", new URL(broker.url).port], dir.path, broker.grpcPort);

  const after = { rmq: new Map<string, MessageView>(), amq: new Map<string, SimpleMessage>() };
  await until("every message back to both groups", async () => {
    for (const m of await rmq.receive(32, 30_000).catch(() => [] as MessageView[])) after.rmq.set(m.messageId, m);
    for (const m of await amq.receive(32, 30_000).catch(() => [] as SimpleMessage[])) after.amq.set(m.id, m);
    return after.rmq.size === N && after.amq.size === N;
  }, 20_000);
  assert.equal(new Set(after.rmq.keys()), ids, "RocketMQ client: every message again");
  assert.equal(new Set(after.amq.keys()), ids, "ActorMQ SDK: every message again");
  assert.equal([...after.rmq.values()].map((m) => m.deliveryAttempt).filter((a) => a !== 2), []);
  assert.equal([...after.amq.values()].map((m) => m.deliveryAttempt).filter((a) => a !== 2), []);
  for (const m of after.rmq.values()) await rmq.ack(m);
  for (const m of after.amq.values()) await amq.ack(m);
  assert.equal(await rmq.receive(32, 30_000), [], "acked: nothing left");
  assert.equal(await amq.receive(32, 30_000), [], "acked: nothing left");
  await Promise.allSettled([rmq.shutdown(), amq.shutdown()]);
});

test.after(async () => {
  await stopBroker(broker);
  killSpawned();
  dir.remove();
});
test.run();
