// A client speaks up: failures are "error" events and log lines (warnings and errors go to the
// console unless you pass a `logger` or a `logLevel`), connections are "connection" events.
import { Producer, PushConsumer } from "actormq";

const endpoints = "ws://127.0.0.1:9876";

const consumer = new PushConsumer({
  endpoints,
  group: "billing",
  subscriptions: { Invoices: "*" },
  logger: console, // the default; anything with debug, info, warn and error methods
  logLevel: "silent", // "debug" | "info" | "warn" (default) | "error" | "silent": here the events report
  reconnect: { initialDelayMs: 100, maxDelayMs: 5000, jitter: 0.5 }, // the defaults
  handler: async (msg) => {
    if (msg.body === "bad") throw new TypeError("cannot bill this");
    return "SUCCESS";
  },
});
consumer.on("connection", (e) => console.log(`${e.address}: ${e.state}`)); // connected, disconnected, reconnecting
const reported = new Promise((resolve) => {
  consumer.on("error", (e) => {
    // e.kind: "handler" (with e.messageId and e.message), "pull", "commit", "heartbeat", "rebalance", "sendBack"
    if (e.kind === "handler") resolve(`${e.error} (message ${e.messageId})`);
  });
});
await consumer.start();

const producer = new Producer({ endpoints });
await producer.start();
await producer.send({ topic: "Invoices", body: "bad" });
console.log(`reported: ${await reported}`); // the message goes back for a retry (10 s later, then more)

// Any send (and PullConsumer.pull) takes an AbortSignal: it stops waiting when the signal aborts.
const sent = await producer.send({ topic: "Invoices", body: "good" }, { signal: AbortSignal.timeout(2000) });
console.log(`sent ${sent.msgId}`);

await consumer.shutdown();
await producer.shutdown();
