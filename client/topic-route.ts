// A topic's route (which brokers hold its queues) and the producer's choice of queue in it:
// round-robin over the writable queues, as RocketMQ's TopicPublishInfo.
export const PERM_READ = 4;
export const PERM_WRITE = 2;

export interface BrokerRoute {
  name: string;
  address: string;
  queues: number;
  perm: number;
  /** A replicated group's members, broker id -> address: where a pull answer's suggestWhichBrokerId points. */
  brokerAddrs?: Record<string, string>;
}

export interface TopicRoute {
  topic: string;
  brokers: BrokerRoute[];
}

/** One queue of a topic on one broker. */
export interface MessageQueue {
  broker: string;
  /** The broker's WebSocket URL, dialable from here. */
  address: string;
  topic: string;
  queueId: number;
}

export class TopicPublishInfo {
  /** The writable queues, broker by broker. */
  readonly queues: MessageQueue[];
  /** A name server's auto-create route: the topic exists on no broker yet. */
  autoCreate = false;
  private index: number;

  constructor(readonly route: TopicRoute, dial: (advertised: string) => string, start = Math.floor(Math.random() * 1024)) {
    this.queues = [];
    for (const b of route.brokers) {
      if ((b.perm & PERM_WRITE) === 0) continue;
      const address = dial(b.address);
      for (let q = 0; q < b.queues; q++) this.queues.push({ broker: b.name, address, topic: route.topic, queueId: q });
    }
    // A random start spreads many producers over the queues, as RocketMQ's ThreadLocalIndex does.
    this.index = start;
  }

  /** The next writable queue, round-robin; undefined when none is writable. */
  next(): MessageQueue | undefined {
    if (this.queues.length === 0) return undefined;
    const q = this.queues[this.index % this.queues.length];
    this.index = (this.index + 1) % 0x40000000;
    return q;
  }

  /** The same queue for the same key (while the queue count stays the same). */
  forKey(key: string): MessageQueue | undefined {
    if (this.queues.length === 0) return undefined;
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
    return this.queues[(h >>> 0) % this.queues.length];
  }

  /** A queue id the user chose: the first broker that has it (a standalone broker has them all). */
  byId(queueId: number): MessageQueue | undefined {
    return this.queues.find((q) => q.queueId === queueId);
  }
}
