// A broker's place in a cluster, set up after it listens: the embedded name server of a
// standalone broker, and the registration with every name server (embedded and --namesrv).
import pkg from "../package.json" with { type: "json" };
import type { Broker } from "./broker.ts";
import { BrokerRegistrar } from "./broker-registration.ts";
import { NameServer } from "./namesrv.ts";

export function joinCluster(broker: Broker, log: (line: string) => void): void {
  const { config, platform } = broker;
  if (config.role === "standalone") {
    broker.namesrv = new NameServer({ clock: platform.clock, brokerExpiryMs: config.brokerExpiryMs, log });
  }
  broker.registrar = new BrokerRegistrar({
    namesrvAddrs: config.namesrvAddrs,
    local: broker.namesrv,
    intervalMs: config.registerIntervalMs,
    log,
    registration: () => ({
      brokerName: config.brokerName,
      address: broker.address,
      // Every topic, system ones too: retry topics must be routable for their groups.
      topics: Object.fromEntries(Object.entries(broker.topics).map(([name, t]) => [name, { queues: t.queues, perm: t.perm }])),
      // Every broker creates a topic on its first send (topicForWrite), with this many queues.
      autoCreateQueues: config.defaultQueues,
      version: pkg.version,
      runtime: platform.name,
      startedAt: broker.startedAt,
    }),
  });
  broker.registrar.start();
}
