// The three SDK clients most end-to-end tests need, against one broker.
import { Admin, Producer, PullConsumer } from "../../client/mod.ts";

export async function clients(url: string) {
  const producer = new Producer({ endpoints: url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: url, group: "cg" });
  const admin = new Admin({ endpoints: url });
  await Promise.all([producer.start(), consumer.start(), admin.start()]);
  return { producer, consumer, admin, close: () => Promise.allSettled([producer.shutdown(), consumer.shutdown(), admin.shutdown()]) };
}

/** How many messages a topic holds, summed over its queues. */
export async function delivered(admin: Admin, topic: string): Promise<number> {
  const s = await admin.topicStatus(topic);
  return s.queues.reduce((n, q) => n + q.maxOffset, 0);
}
