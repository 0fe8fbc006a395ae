// Ordered consumption: one 8-queue topic filled once, then drained from the first offset by an
// orderly group and by a concurrent group of the same size, one after the other, over the same
// messages. The concurrent drain is the baseline: orderly runs one handler per queue at a time
// (8 at most here) behind the broker's order locks, concurrent up to 20 per member. A first,
// untimed drain warms the broker (measured: whichever timed drain went first was up to 2x
// slower), and which timed drain goes first alternates between runs.
import { Admin, PushConsumer } from "../client/mod.ts";
import { produce } from "./broker-workloads.ts";

const TOPIC = "OrderedDrain";
const MEMBERS = 4;

async function drain(url: string, group: string, total: number, orderly: boolean): Promise<number> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const started = performance.now();
  const cs = Array.from({ length: MEMBERS }, () =>
    new PushConsumer({
      endpoints: url,
      group,
      subscriptions: { [TOPIC]: "*" },
      consumeFrom: "first",
      orderly,
      handler: () => {
        if (++got === total) done();
        return "SUCCESS";
      },
    }));
  await Promise.all(cs.map((c) => c.start()));
  await finished;
  const rate = total / ((performance.now() - started) / 1000);
  await Promise.all(cs.map((c) => c.shutdown()));
  return rate;
}

/** Fills the topic with `total` messages; messages/s of a concurrent and of an orderly 4-member drain of them. */
export async function orderedDrain(url: string, total: number, orderlyFirst = false): Promise<{ concurrent: number; orderly: number }> {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic(TOPIC, 8);
  await admin.shutdown();
  await produce(url, TOPIC, total, 1000);
  await drain(url, "drain-warmup", total, false);
  if (orderlyFirst) {
    const orderly = await drain(url, "drain-orderly", total, true);
    return { orderly, concurrent: await drain(url, "drain-concurrent", total, false) };
  }
  const concurrent = await drain(url, "drain-concurrent", total, false);
  return { concurrent, orderly: await drain(url, "drain-orderly", total, true) };
}
