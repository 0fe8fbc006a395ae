// Consumers made with a handler run it for each message (RocketMQ's way: see the other
// examples); one made without is iterated, as with nats.js. A message counts as consumed when
// the loop asks for the next one. Leaving the loop (break, a throw) stops the consumer, and
// the message it was on is read again by the group later; messages({ max }) ends by itself.
import { Producer, PushConsumer } from "actormq";

const endpoints = "ws://127.0.0.1:9876";

const producer = new Producer({ endpoints });
await producer.start();
for (const n of [1, 2, 3]) await producer.send({ topic: "Tasks", body: `task ${n}` });
await producer.shutdown();

const consumer = new PushConsumer({ endpoints, group: "workers", subscriptions: { Tasks: "*" } });
for await (const msg of consumer.messages({ max: 3 })) {
  console.log(`working on "${msg.body}"`);
}
