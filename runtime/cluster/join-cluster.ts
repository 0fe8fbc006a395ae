// A broker's place in a cluster, set up after it listens: the embedded name server of a
// standalone broker, and the registration with every name server (embedded and --namesrv).
import pkg from "../../package.json" with { type: "json" };
import type { Platform } from "../../platform/platform.ts";
import type { BrokerConfig } from "../config.ts";
import type { ReplicaInfo } from "../../protocol/mod.ts";
import type { Topics } from "../context.ts";
import { BrokerRegistrar } from "./broker-registrar.ts";
import { NameServer } from "./name-server.ts";
import type { PeerDial } from "./peer-link.ts";

export interface ClusterMember {
  config: BrokerConfig;
  platform: Platform;
  /** The address clients dial (known once the broker listens). */
  address: string;
  startedAt: number;
  topics: Pick<Topics, "all">;
  /** A replicated group's member: its id, role, epoch and replication, read at each registration. */
  groupInfo?: () => ReplicaInfo;
  /** Its gRPC endpoint for RocketMQ 5 clients ("host:port"), when it serves one. */
  grpcAddress?: string;
  /** How this broker dials name servers and brokers (--tls-trust, --credentials). */
  dial: PeerDial;
}

export function joinCluster(member: ClusterMember, log: (line: string) => void): { namesrv?: NameServer; registrar: BrokerRegistrar } {
  const { config, platform, topics } = member;
  const namesrv = config.role === "standalone" ? new NameServer({ platform, brokerExpiryMs: config.brokerExpiryMs, log, dial: member.dial }) : undefined;
  const registrar = new BrokerRegistrar({
    namesrvAddrs: config.namesrvAddrs,
    local: namesrv,
    intervalMs: config.registerIntervalMs,
    log,
    platform,
    dial: member.dial,
    registration: (live) => ({
      brokerName: config.brokerName,
      address: member.address,
      // Every topic, system ones too: retry topics must be routable for their groups.
      topics: live ? topics.all() : Object.fromEntries(Object.entries(topics.all()).map(([name, t]) => [name, { queues: t.queues, perm: t.perm }])),
      // A broker that creates a topic on its first send (topicForWrite) says with how many queues;
      // one started with --auto-create-topics false is left out of routes for unknown topics.
      ...(config.autoCreateTopics ? { autoCreateQueues: config.defaultQueues } : {}),
      version: pkg.version,
      runtime: platform.name,
      startedAt: member.startedAt,
      ...(member.grpcAddress ? { grpcAddress: member.grpcAddress } : {}),
      ...(member.groupInfo ? { group: member.groupInfo() } : {}),
    }),
  });
  return { namesrv, registrar };
}
