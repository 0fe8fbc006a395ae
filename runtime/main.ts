// `npm start` / `deno task start`: a standalone broker.
import { Broker } from "./broker.ts";
import { parseConfig, usage } from "./config.ts";
import { loadPlatform } from "./platform-select.ts";
import type { Platform } from "./platform.ts";
import { startNameServer } from "./namesrv-server.ts";
import { BROKER_V8_FLAGS } from "./v8-flags.ts";

// Typed, so that TypeScript sees `platform.process.exit` (never) end the branches below.
const platform: Platform = await loadPlatform();
platform.setV8Flags(BROKER_V8_FLAGS);
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
if (config.role === "namesrv") {
  // A name server only: routes and registrations, no storage.
  const ns = await startNameServer(platform, config, log);
  log(`name server on ${platform.name}: listening on ${ns.address} (broker expiry ${config.brokerExpiryMs} ms)`);
  platform.process.onSignal(async (signal) => {
    log(`${signal}: closing`);
    await ns.shutdown();
    platform.process.exit(0);
  });
} else {
  const broker = await Broker.start(platform, config, log);
  const cluster = config.role === "broker" ? `, registering with ${config.namesrvAddrs.join(", ")} every ${config.registerIntervalMs} ms` : "";
  log(`broker ${config.brokerName} on ${platform.name}: listening on ${broker.address} (health: http://${config.host}:${broker.port}/health)`);
  log(`data directory ${config.dataDir}, flush ${config.flush}${cluster}`);

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
}
