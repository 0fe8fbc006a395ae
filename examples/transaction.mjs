// Transactional messages: the message is stored as a half message no consumer sees, the local
// transaction runs, and the message is committed (delivered) or rolled back. If the producer
// goes quiet, the broker asks a producer of the same group (`check`).
import { TransactionProducer } from "actormq";

const endpoints = "ws://127.0.0.1:9876";
const orders = new Set(); // stands for your database

const producer = new TransactionProducer({
  endpoints,
  group: "order-tx",
  // The broker's check-back for a transaction it was not told about (or not in time):
  check: async (msg) => (orders.has(msg.keys?.[0]) ? "COMMIT" : "ROLLBACK"), // or "UNKNOWN"
});
await producer.start();

const r = await producer.sendInTransaction({ topic: "PaidOrders", body: "order o-1 paid", keys: ["o-1"] }, async () => {
  orders.add("o-1"); // the local transaction
  return "COMMIT"; // "ROLLBACK" | "UNKNOWN"; a throw counts as "UNKNOWN"
});
console.log(`${r.msgId}: local ${r.localTransactionState}, broker ${r.endState}`); // COMMIT, COMMITTED

await producer.shutdown();
