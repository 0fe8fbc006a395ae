// `npm start` / `deno task start`: a standalone broker (or a cluster broker, or a name server).
// Anything that stops the start is one line on stderr and exit code 1, never a stack trace.
import pkg from "../package.json" with { type: "json" };
import { Broker } from "./broker.ts";
import { type BrokerConfig, ConfigError, parseCommandLine, usage } from "./config.ts";
import { configureLogging, getLogger, lineLogger } from "./log.ts";
import { loadPlatform } from "../platform/select.ts";
import type { Platform } from "../platform/platform.ts";
import { startNameServer } from "./cluster/name-server-process.ts";
import { startupErrorLine } from "./startup-errors.ts";
import { BROKER_V8_FLAGS } from "../platform/v8-flags.ts";
import { securitySummary } from "./security/setup.ts";

const platform: Platform = await loadPlatform();
platform.setV8Flags(BROKER_V8_FLAGS);

let config: BrokerConfig;
try {
  const cmd = parseCommandLine(platform.process.args(), platform.process.readText);
  if (cmd.kind !== "run") {
    console.log(cmd.kind === "help" ? usage() : `actormq ${pkg.version}`);
    platform.process.exit(0);
  } else config = cmd.config;
} catch (e) {
  fail(e instanceof ConfigError ? e.message : startupErrorLine(e));
}

configureLogging({ level: config.logLevel, format: config.logFormat });
const logger = getLogger(["actormq", "main"]);
const log = lineLogger(["broker"]);

try {
  await run(platform, config);
} catch (e) {
  fail(startupErrorLine(e, config));
}

async function run(platform: Platform, config: BrokerConfig): Promise<void> {
  if (config.role === "namesrv") {
    // A name server only: routes and registrations, no storage.
    const ns = await startNameServer(platform, config, log);
    platform.process.onSignal(async (signal) => {
      logger.info("{signal}: closing", { signal });
      await ns.shutdown();
      platform.process.exit(0);
    });
    logger.info("ActorMQ {version}, name server on {runtime}: listening on {url} (broker expiry {expiry} ms)", {
      version: pkg.version, runtime: platform.name, url: ns.address, expiry: config.brokerExpiryMs,
    });
    if (ns.grpcAddress) logger.info("gRPC (apache.rocketmq.v2 routes for RocketMQ 5 clients) on {address}", { address: ns.grpcAddress });
    logger.info("{security}", { security: securitySummary(config, ns.secure) });
    return;
  }
  if (config.role === "controller") {
    // A replication controller: its state in etcd, whose client is loaded only here.
    const { startController } = await import("./controller/controller-server.ts");
    const { EtcdStore } = await import("./controller/etcd-store.ts");
    const c = await startController(platform, config, new EtcdStore(config.etcdEndpoints.map((a) => `http://${a}`)), log);
    platform.process.onSignal(async (signal) => {
      logger.info("{signal}: closing", { signal });
      await c.shutdown();
      platform.process.exit(0);
    });
    logger.info("ActorMQ {version}, controller on {runtime}: listening on {url} (etcd {etcd}, prefix {prefix}, member lease {ttl} s)", {
      version: pkg.version, runtime: platform.name, url: c.address, etcd: config.etcdEndpoints.join(","), prefix: config.etcdPrefix, ttl: config.leaseTtlSeconds,
    });
    return;
  }
  const stat = platform.files.stat(config.dataDir);
  if (stat && !stat.isDirectory) throw new ConfigError(`--data-dir ${config.dataDir} is not a directory`);
  await checkPort(platform, config);
  // A member of a replicated group starts as a slave; its controllers say whether it is master.
  const node = config.controllerAddrs.length > 0 ? await (await import("./ha/replica-node.ts")).ReplicaNode.start(platform, config, log) : null;
  const broker = node ? node.broker : await Broker.start(platform, config, log);
  // Before the listening line: whoever waits for it may stop the broker at once.
  platform.process.onSignal(async (signal) => {
    logger.info("{signal}: flushing, snapshotting and closing", { signal });
    try {
      await (node ?? broker).shutdown();
      logger.info("stopped cleanly");
      platform.process.exit(0);
    } catch (e) {
      logger.error("shutdown failed: {error}", { error: e });
      platform.process.exit(1);
    }
  });
  const http = `${broker.secure.tls ? "https" : "http"}://${config.host}:${broker.port}`;
  const advertised = broker.address !== broker.listenAddress ? ` (advertised as ${broker.address})` : "";
  logger.info("ActorMQ {version}, broker {name} on {runtime}: listening on {url}{advertised}", { version: pkg.version, name: config.brokerName, runtime: platform.name, url: broker.listenAddress, advertised });
  logger.info("inspector {http}/inspector, metrics {http}/metrics, health {http}/health", { http });
  const group = node ? `, group ${config.brokerName} broker id ${config.brokerId} (controllers ${config.controllerAddrs.join(", ")}), replication ${config.replication}${config.replication === "sync" ? ` (min in sync ${config.minInSyncReplicas})` : ""}` : "";
  const cluster = config.role === "broker" ? `, registering with ${config.namesrvAddrs.join(", ")} every ${config.registerIntervalMs} ms${group}` : "";
  logger.info("data directory {dir}, flush {flush}{cluster}", { dir: config.dataDir, flush: config.flush, cluster });
  logger.info("{security}", { security: securitySummary(config, broker.secure) });
}

/**
 * The port is free: found out by listening on it and closing again, before storage is touched
 * (a start that cannot listen must not open, let alone recover, a data directory first).
 */
async function checkPort(platform: Platform, config: BrokerConfig): Promise<void> {
  if (config.port === 0) return;
  const probe = await platform.serve({
    host: config.host,
    port: config.port,
    maxFrameSize: 1024,
    socket: { onOpen: (s) => s.close(1013, "starting"), onMessage: () => {}, onClose: () => {} },
    http: () => ({ status: 503, body: "starting\n" }),
  });
  await probe.close();
}

function fail(line: string): never {
  console.error(`actormq: ${line}`);
  return platform.process.exit(1);
}
