// A bare member of a consumer group speaking the lock ops itself (heartbeat, lockQueues,
// unlockQueues) over its own connection: the other side of an orderly consumer in lock tests.
import { Transport } from "../../client/transport.ts";
import { resolveWebSocket } from "../../client/websocket-class.ts";

export interface QueueRef {
  topic: string;
  queueId: number;
}

export async function lockMember(url: string, group: string, clientId: string, subscriptions: Record<string, string>) {
  const t = new Transport(url, { WebSocket: resolveWebSocket() });
  const heartbeat = () => t.request("heartbeat", { clientId, consumerGroups: [{ group, model: "clustering", subscriptions }] }, 3000);
  await heartbeat();
  return {
    clientId,
    heartbeat,
    request: (op: string, args: Record<string, unknown>) => t.request(op, args, 3000),
    async lock(queues: QueueRef[]): Promise<number[]> {
      const r = await t.request("lockQueues", { group, clientId, queues }, 3000);
      return (r.locked as QueueRef[]).map((q) => q.queueId).sort((a, b) => a - b);
    },
    async unlock(queues: QueueRef[]): Promise<number[]> {
      const r = await t.request("unlockQueues", { group, clientId, queues }, 3000);
      return (r.unlocked as QueueRef[]).map((q) => q.queueId).sort((a, b) => a - b);
    },
    close: () => t.close(),
  };
}

export const queues = (topic: string, ...ids: number[]): QueueRef[] => ids.map((queueId) => ({ topic, queueId }));
