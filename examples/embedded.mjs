// A broker inside your program (tests, a desktop app, one process): `actormq/broker`.
// Its options are the broker's flags in camelCase, as in a config file.
import { startBroker } from "actormq/broker";
import { Producer, PullConsumer } from "actormq";

const broker = await startBroker({ port: 0, dataDir: "./embedded-data", flush: "sync" }); // port 0: any free port
console.log(`broker listening on ${broker.address}`);

const producer = new Producer({ endpoints: broker.address });
await producer.start();
await producer.send({ topic: "Events", body: "started", queueId: 0 });

const reader = new PullConsumer({ endpoints: broker.address, group: "reader" });
await reader.start();
const { msgs } = await reader.pull({ topic: "Events", queueId: 0, offset: 0, maxCount: 10 });
console.log(`read ${msgs.length} message(s): ${msgs.map((m) => m.body).join(", ")}`);

await Promise.all([producer.shutdown(), reader.shutdown()]);
await broker.shutdown(); // flushes, snapshots, closes
