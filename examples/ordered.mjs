// Ordered messages: one key's messages go to one queue (a sharding key, or a selector), and an
// orderly consumer reads each queue with one handler call at a time, oldest first.
import { Admin, Producer, PushConsumer, selectMessageQueueByHash } from "actormq";

const endpoints = "ws://127.0.0.1:9876";
const admin = new Admin({ endpoints });
await admin.start();
await admin.createTopic("OrderEvents", 4); // a selector needs the topic's queues: create it first

const producer = new Producer({ endpoints });
await producer.start();
for (const step of ["created", "paid", "shipped"]) {
  for (const id of ["o-1", "o-2", "o-3"]) {
    // Send a key's next message once the previous one's send resolved.
    await producer.send({ topic: "OrderEvents", body: `${id} ${step}`, shardingKey: id });
  }
}
// RocketMQ's send(msg, selector, arg): the selector returns a queue of `queues`, or its index.
await producer.send({ topic: "OrderEvents", body: "o-1 delivered" }, selectMessageQueueByHash, "o-1");

// The consumer: orderly, so each queue is read by one member, one message at a time, oldest first.
const consumer = new PushConsumer({
  endpoints,
  group: "order-tracking",
  subscriptions: { OrderEvents: "*" },
  orderly: true,
});
const seen = new Map(); // order id -> its steps, as consumed
for await (const msg of consumer.messages({ max: 10 })) {
  const [id, step] = String(msg.body).split(" ");
  seen.set(id, [...(seen.get(id) ?? []), step]);
}
for (const [id, steps] of seen) console.log(`${id}: ${steps.join(" -> ")}`);

await Promise.all([producer.shutdown(), admin.shutdown()]);
