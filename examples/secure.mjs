// A client of a broker on a network: TLS (wss://) and a user who signs in (docs/SECURITY.md).
// The broker: npm start -- --tls-cert server.pem --tls-key server-key.pem --auth on --acl-file acl.json
// Node 20+: ORDERS_SECRET=... node secure.mjs | Deno: ORDERS_SECRET=... deno run -A secure.mjs
import { readFileSync } from "node:fs";
import { BrokerError, Producer, PushConsumer } from "actormq";

const secretKey = process.env.ORDERS_SECRET;
if (!secretKey) throw new Error("set ORDERS_SECRET to orders-app's secret key");
const options = {
  endpoints: "wss://127.0.0.1:9876",
  // The secret key signs the broker's challenge (HMAC-SHA256); it is never sent.
  credentials: { accessKey: "orders-app", secretKey },
  // The CA that signed the broker's certificate, when the system does not already trust it.
  tls: { ca: readFileSync("ca.pem", "utf8") },
};

const producer = new Producer(options);
await producer.start();
const sent = await producer.send({ topic: "orders-eu", body: "signed in" });
console.log(`sent ${sent.msgId}`);
try {
  await producer.send({ topic: "payroll", body: "not ours" });
} catch (e) {
  if (!(e instanceof BrokerError)) throw e;
  console.log(`refused: ${e.code}: ${e.message}`);
}
await producer.shutdown();

const consumer = new PushConsumer({ ...options, group: "orders-billing", subscriptions: { "orders-eu": "*" } });
for await (const msg of consumer.messages({ max: 1 })) console.log(`received "${msg.body}"`);
