// A SimpleConsumer (RocketMQ 5's POP): ask for messages when you want them, ack each one; one
// not acked within its invisible time comes back.
import { Admin, Producer, SimpleConsumer } from "actormq";

const endpoints = "ws://127.0.0.1:9876";
const admin = new Admin({ endpoints });
await admin.start();
await admin.createTopic("Jobs", 2);
await admin.updateSubscriptionGroup("workers", { maxReconsumeTimes: 3, orderly: false }); // CLI: updateSubGroup

const producer = new Producer({ endpoints });
await producer.start();
await producer.send({ topic: "Jobs", body: "resize image 42" });

const consumer = new SimpleConsumer({ endpoints, group: "workers", subscriptions: { Jobs: "*" } });
await consumer.start();
for (const m of await consumer.receive(16, 30_000)) { // up to 16, hidden for 30 s; long-polls up to 20 s
  console.log(`job "${m.body}", attempt ${m.deliveryAttempt}`);
  await consumer.ack(m); // or consumer.changeInvisibleDuration(m, 0): visible again now
}

await Promise.all([consumer.shutdown(), producer.shutdown(), admin.shutdown()]);
