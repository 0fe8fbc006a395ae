// `npm start` / `deno task start`: a standalone broker.
import { Broker } from "./broker.ts";
import { parseConfig, usage } from "./config.ts";
import { loadPlatform } from "./platform-select.ts";

const platform = await loadPlatform();
let config;
try {
  config = parseConfig(platform.process.args(), platform.process.readText);
} catch (e) {
  console.error(`actormq: ${(e as Error).message}\n\n${usage}`);
  platform.process.exit(2);
}
if (!config) {
  console.log(usage);
  platform.process.exit(0);
}

const log = (line: string) => console.log(`[actormq] ${line}`);
const broker = await Broker.start(platform, config, log);
log(`broker ${config.brokerName} on ${platform.name}: listening on ${broker.address} (health: http://${config.host}:${broker.port}/health)`);
log(`data directory ${config.dataDir}, flush ${config.flush}`);

platform.process.onSignal(async (signal) => {
  log(`${signal}: flushing, snapshotting and closing`);
  try {
    await broker.shutdown();
    log("stopped cleanly");
    platform.process.exit(0);
  } catch (e) {
    console.error("shutdown failed:", e);
    platform.process.exit(1);
  }
});
