// Clients take name servers as endpoints exactly as they take a broker (a standalone broker is
// its own name server). Several may be given; one that does not answer is passed over.
import { Producer } from "actormq";

const producer = new Producer({
  endpoints: ["127.0.0.1:9876"], // name servers: ["10.0.0.1:9876", "10.0.0.2:9876"]
  sendLatencyFaultEnable: true, // default: avoid a broker whose sends were slow or failed
  // latencyMax / notAvailableDuration: RocketMQ's tables by default
});
await producer.start();
for (let i = 0; i < 4; i++) {
  const r = await producer.send({ topic: "Clicks", body: `click ${i}` });
  console.log(`click ${i} -> broker ${r.queue.broker}, queue ${r.queue.queueId}`);
}
await producer.shutdown();
