// A tiny in-memory broker for the client's tests: a real ws WebSocketServer on 127.0.0.1 that
// answers frames per docs/PROTOCOL.md (send, sendBatch, queryRoute, pull, offsets, topics,
// queryMessage, heartbeat) and stores messages in arrays. It lets a test see every frame and
// make the server misbehave (hold a reply, close the socket, answer an error).
import { WebSocketServer, type WebSocket } from "ws";
import {
  BrokerError,
  CborWriter,
  checkMessage,
  decode,
  encode,
  ErrorCode,
  MAX_MESSAGE_SIZE,
  matchesCode,
  parseSubscription,
  tagsCode,
} from "../../protocol/mod.ts";

type Req = Record<string, unknown> & { id: number | string; op: string };

/** What to do with a request instead of answering it normally. */
export type Intercept =
  | undefined // answer normally
  | "drop" // never answer
  | "close" // close the socket without answering
  | { delayMs: number } // answer normally, later
  | { error: string; message?: string }; // answer with this error code

interface Stored {
  bytes: Uint8Array;
  msg: Record<string, unknown>;
  storeTimestamp: number;
  commitLogOffset: number;
}

interface Topic {
  queues: Stored[][];
  perm: number;
  next: number;
}

export interface EchoServer {
  url: string;
  /** Every request received, in order: its op and, for sends, how many messages it carried. */
  requests: { op: string; msgs: number; queueIds?: unknown[] }[];
  /** Decides per request whether to misbehave. */
  intercept: (req: Req) => Intercept;
  topics: Map<string, Topic>;
  /** Connections accepted so far. */
  connections: number;
  /** Closes every client socket (as a crashing broker would), keeping the server up. */
  dropConnections(): void;
  /** Sends a frame without an id to every client. */
  push(frame: Record<string, unknown>): void;
  close(): Promise<void>;
}

/** `store: false` keeps no message (offsets still count): for measuring the client alone. */
export async function startEchoServer(options: { store?: boolean } = {}): Promise<EchoServer> {
  const store = options.store ?? true;
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const port = (wss.address() as { port: number }).port;
  const url = `ws://127.0.0.1:${port}/ws`;
  const topics = new Map<string, Topic>();
  const offsets = new Map<string, number>();
  let commitLogOffset = 0;
  const sockets = new Set<WebSocket>();

  const server: EchoServer = {
    url,
    requests: [],
    intercept: () => undefined,
    topics,
    connections: 0,
    dropConnections: () => {
      for (const ws of sockets) ws.terminate();
    },
    push: (frame) => {
      for (const ws of sockets) ws.send(encode(frame));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close(() => resolve());
      }),
  };

  const topicFor = (name: string, create: boolean, queues = 4): Topic => {
    let t = topics.get(name);
    if (!t && create) topics.set(name, (t = { queues: Array.from({ length: queues }, () => []), perm: 6, next: 0 }));
    if (!t) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${name}" does not exist`);
    return t;
  };

  const append = (bytes: unknown, queueId: unknown): Record<string, unknown> => {
    if (!(bytes instanceof Uint8Array)) throw new BrokerError(ErrorCode.WRONG_TYPE, "a message must be a byte string");
    if (bytes.length > MAX_MESSAGE_SIZE) throw new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `message is ${bytes.length} bytes`);
    const msg = checkMessage(decode(bytes)) as unknown as Record<string, unknown>;
    const t = topicFor(msg.topic as string, true);
    const q = typeof queueId === "number" ? queueId : t.next++ % t.queues.length;
    if (q >= t.queues.length) throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, `queue ${q} does not exist`);
    const stored = { bytes, msg, storeTimestamp: Date.now(), commitLogOffset };
    // Without storing (for benchmarks), a queue keeps only its count, in a sparse array.
    const queueOffset = t.queues[q].length;
    if (store) t.queues[q].push(stored);
    else t.queues[q].length++;
    commitLogOffset += bytes.length;
    return { msgId: msg.id, topic: msg.topic, queueId: q, queueOffset, commitLogOffset: stored.commitLogOffset };
  };

  const handlers: Record<string, (req: Req, ws: WebSocket) => Record<string, unknown> | void> = {
    send: (req) => append(req.msg, req.queueId),
    sendBatch: (req) => {
      const msgs = req.msgs as unknown[];
      const queueIds = req.queueIds as unknown[] | undefined;
      return {
        results: msgs.map((m, i) => {
          try {
            // As PROTOCOL.md: an item names the place only; the producer knows id and topic.
            const { queueId, queueOffset, commitLogOffset } = append(m, queueIds?.[i]);
            return { code: 0, queueId, queueOffset, commitLogOffset };
          } catch (e) {
            return { code: (e as BrokerError).code ?? ErrorCode.INTERNAL_ERROR, message: (e as Error).message };
          }
        }),
      };
    },
    queryRoute: (req) => {
      const t = topicFor(req.topic as string, false);
      return { topic: req.topic, brokers: [{ name: "echo-broker", address: url, queues: t.queues.length, perm: t.perm }] };
    },
    createTopic: (req) => {
      const t = topicFor(req.topic as string, true, req.queues as number);
      while (t.queues.length < (req.queues as number)) t.queues.push([]);
      if (typeof req.perm === "number") t.perm = req.perm;
      return { topic: req.topic, queues: t.queues.length, perm: t.perm };
    },
    topicList: () => ({ topics: [...topics].map(([topic, t]) => ({ topic, queues: t.queues.length, perm: t.perm })) }),
    topicStatus: (req) => ({
      topic: req.topic,
      queues: topicFor(req.topic as string, false).queues.map((q, queueId) => ({
        queueId,
        minOffset: 0,
        maxOffset: q.length,
        lastStoreTimestamp: q.at(-1)?.storeTimestamp ?? 0,
      })),
    }),
    pull: (req, ws) => {
      const t = topicFor(req.topic as string, false);
      const queue = t.queues[req.queueId as number];
      if (!queue) throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, "no such queue");
      const sub = parseSubscription(req.expression as string | undefined);
      const offset = req.offset as number;
      const max = (req.maxCount as number | undefined) ?? 32;
      const found: Stored[] = [];
      let next = offset;
      while (next < queue.length && found.length < max) {
        const s = queue[next++];
        if (matchesCode(sub, tagsCode(s.msg.tags as string | undefined))) found.push(s);
      }
      const status = offset > queue.length ? "OFFSET_ILLEGAL" : found.length ? "FOUND" : next > offset ? "NO_MATCHED_MSG" : "NO_NEW_MSG";
      // As the broker does: the stored bytes spliced into the response, not re-encoded.
      const w = new CborWriter();
      w.map(7).text("id").value(req.id).text("code").int(0).text("status").text(status)
        .text("nextOffset").int(status === "OFFSET_ILLEGAL" ? queue.length : next).text("minOffset").int(0)
        .text("maxOffset").int(queue.length).text("msgs").array(found.length);
      for (const s of found) {
        w.array(6).int(queue.indexOf(s)).int(s.commitLogOffset).int(s.storeTimestamp).int(0).int(0).raw(s.bytes);
      }
      ws.send(w.bytes());
    },
    commitOffset: (req) => {
      offsets.set(`${req.group}|${req.topic}|${req.queueId}`, req.offset as number);
      return {};
    },
    queryOffset: (req) => ({ offset: offsets.get(`${req.group}|${req.topic}|${req.queueId}`) ?? -1 }),
    queryMessage: (req) => {
      const items: unknown[] = [];
      for (const [topic, t] of topics) {
        t.queues.forEach((q, queueId) =>
          q.forEach((s, queueOffset) => {
            const hit = req.msgId !== undefined
              ? s.msg.id === req.msgId
              : topic === req.topic && (s.msg.keys as string[] | undefined)?.includes(req.key as string);
            if (hit) items.push([topic, queueId, queueOffset, s.commitLogOffset, s.storeTimestamp, 0, 0, s.msg]);
          })
        );
      }
      return { msgs: items };
    },
    heartbeat: () => ({}),
  };

  wss.on("connection", (ws: WebSocket) => {
    server.connections++;
    sockets.add(ws);
    ws.on("close", () => sockets.delete(ws));
    ws.on("message", (data: Uint8Array) => {
      let req: Req;
      try {
        req = decode(data) as Req;
      } catch {
        return ws.send(encode({ id: null, code: ErrorCode.MALFORMED_FRAME, message: "not CBOR" }));
      }
      server.requests.push({
        op: req.op,
        msgs: req.op === "sendBatch" ? (req.msgs as unknown[]).length : req.op === "send" ? 1 : 0,
        queueIds: req.op === "sendBatch" ? (req.queueIds as unknown[] | undefined) : req.op === "send" && req.queueId !== undefined ? [req.queueId] : undefined,
      });
      const answer = () => {
        const handler = handlers[req.op];
        try {
          if (!handler) throw new BrokerError(ErrorCode.UNKNOWN_OP, `unknown op "${req.op}"`);
          const result = handler(req, ws);
          if (result) ws.send(encode({ id: req.id, code: 0, ...result }));
        } catch (e) {
          ws.send(encode({ id: req.id, code: (e as BrokerError).code ?? ErrorCode.INTERNAL_ERROR, message: (e as Error).message }));
        }
      };
      const what = server.intercept(req);
      if (what === "drop") return;
      if (what === "close") return ws.terminate();
      if (what && "delayMs" in what) return void setTimeout(answer, what.delayMs);
      if (what && "error" in what) return ws.send(encode({ id: req.id, code: what.error, message: what.message ?? what.error }));
      answer();
    });
  });
  return server;
}
