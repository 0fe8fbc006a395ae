// Order locks (RocketMQ's RebalanceLockManager): the lock of each queue lives on its queue actor
// (actors/order-lock.ts); this service asks the actors and gathers their answers. Each LOCK and
// UNLOCK carries a reply the queue actor calls once it has decided, so nothing here reads an
// actor's context or counts on an event being handled before `send` returns.
import type { Actors, Clock, OrderLockOps, QueueRef } from "../context.ts";

export interface OrderLockDeps {
  clock: Clock;
  actors: Actors;
  /** A lock not renewed for this long is free (RocketMQ: 60 s). */
  expiryMs: number;
}

export class OrderLockService implements OrderLockOps {
  constructor(private readonly deps: OrderLockDeps) {}

  lock(group: string, clientId: string, members: string[], queues: QueueRef[], answer: (locked: QueueRef[]) => void): void {
    const now = this.deps.clock.now();
    const expiresAt = now + this.deps.expiryMs;
    gather(queues, answer, (q, reply) => this.deps.actors.sendToQueue(q.topic, q.queueId, { type: "LOCK", group, clientId, members, now, expiresAt, reply }));
  }

  unlock(group: string, clientId: string, queues: QueueRef[], answer: (unlocked: QueueRef[]) => void): void {
    gather(queues, answer, (q, reply) => this.deps.actors.sendToQueue(q.topic, q.queueId, { type: "UNLOCK", group, clientId, reply }));
  }
}

/**
 * Asks every queue (`ask` says false when a queue has no actor to ask), and answers once all
 * have replied with the queues that said yes, in the order asked.
 */
function gather(queues: QueueRef[], answer: (yes: QueueRef[]) => void, ask: (q: QueueRef, reply: (yes: boolean) => void) => boolean): void {
  const said: boolean[] = new Array(queues.length).fill(false);
  let left = queues.length + 1;
  const settle = () => {
    if (--left === 0) answer(queues.filter((_, i) => said[i]));
  };
  queues.forEach((q, i) => {
    let replied = false;
    const reply = (yes: boolean) => {
      if (replied) return;
      replied = true;
      said[i] = yes;
      settle();
    };
    if (!ask(q, reply)) reply(false);
  });
  settle();
}
