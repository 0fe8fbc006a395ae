import { Admin } from "./client/mod.ts";
import { ClientCore } from "./client/client-core.ts";
const url = process.argv[2];
const admin = new Admin({ endpoints: url });
await admin.start();
const core = new ClientCore({ endpoints: url });
const N = Number(process.argv[3] ?? 500);
const t = performance.now();
for (let i = 0; i < N; i++) {
  await admin.createTopic(`S${i}`, 8);
  await core.request("heartbeat", { clientId: core.clientId, consumerGroups: [{ group: `G${i}`, model: "clustering", subscriptions: { [`S${i}`]: "*" } }] });
}
console.log(`${N} pairs in ${(performance.now() - t).toFixed(0)} ms`);
await admin.shutdown(); await core.close();
