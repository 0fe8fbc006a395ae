// What replication needs of the broker it runs in: named here, so runtime/ha/ imports no
// runtime/broker.ts (which holds its HAService and HAClient) and the two do not form a circle.
// The Broker is one; ReplicaNode hands it over.
import type { BrokerEvent } from "../../actors/broker.machine.ts";
import type { Platform } from "../../platform/platform.ts";
import type { MessageStore } from "../../storage/message-store.ts";
import type { BrokerConfig } from "../config.ts";
import type { PeerDial } from "../cluster/peer-link.ts";
import type { TimerService } from "../services/timer-service.ts";
import type { TopicService } from "../services/topic-service.ts";

export interface ReplicaHost {
  readonly platform: Pick<Platform, "afterTurn">;
  readonly config: BrokerConfig;
  readonly store: MessageStore;
  readonly topics: Pick<TopicService, "all" | "get" | "create" | "remove">;
  readonly timer: Pick<TimerService, "cursor" | "followCursor" | "dispatch">;
  /** The broker's own WebSocket address. */
  readonly address: string;
  /** How it dials the master: TLS trust (--tls-trust) and credentials (--credentials). */
  readonly dial: PeerDial;
  /** An event to the root actor. */
  send(event: BrokerEvent): void;
}
