// The transport against a real WebSocket server on 127.0.0.1: correlation by id, timeouts,
// closed sockets, reconnection with backoff, pushes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import { startEchoServer } from "./helpers/client-echo-server.ts";
import { rejection } from "./helpers/rejection.ts";

const WebSocket = resolveWebSocket();
const server = await startEchoServer();


test.after.each(() => {
  server.intercept = () => undefined;
});

test("responses find their requests by id, whatever their order", async () => {
  const t = new Transport(server.url, { WebSocket });
  server.intercept = (req) => (req.topic === "Slow" ? { delayMs: 50 } : undefined);
  const order: string[] = [];
  const slow = t.request("createTopic", { topic: "Slow", queues: 2 }, 3000).then((r) => (order.push("slow"), r));
  const fast = t.request("createTopic", { topic: "Fast", queues: 3 }, 3000).then((r) => (order.push("fast"), r));
  const [s, f] = await Promise.all([slow, fast]);
  assert.is(s.topic, "Slow");
  assert.is(s.queues, 2);
  assert.is(f.topic, "Fast");
  assert.is(f.queues, 3);
  assert.equal(order, ["fast", "slow"]);
  assert.is(t.pending, 0);
  await t.close();
});

test("a broker error rejects with its code and message", async () => {
  const t = new Transport(server.url, { WebSocket });
  const e = await rejection(t.request("queryRoute", { topic: "Nope" }, 3000));
  assert.is(e.code, "TOPIC_NOT_FOUND");
  assert.match(e.message, /Nope/);
  assert.is((await rejection(t.request("noSuchOp", {}, 3000))).code, "UNKNOWN_OP");
  await t.close();
});

test("no response in time rejects with TIMEOUT; a late response is ignored", async () => {
  const t = new Transport(server.url, { WebSocket });
  await t.connect();
  server.intercept = () => ({ delayMs: 150 });
  const started = Date.now();
  const e = await rejection(t.request("topicList", {}, 50));
  assert.is(e.code, "TIMEOUT");
  assert.ok(Date.now() - started < 140, "rejected at the timeout, not at the answer");
  server.intercept = () => undefined;
  await new Promise((r) => setTimeout(r, 150)); // the late answer arrives and finds no one
  const r = await t.request("topicList", {}, 3000);
  assert.ok(Array.isArray(r.topics));
  await t.close();
});

test("a socket that closes fails its requests in flight with CONNECTION_CLOSED; the next request reconnects", async () => {
  const t = new Transport(server.url, { WebSocket });
  await t.connect();
  const before = server.connections;
  server.intercept = () => "drop";
  const inFlight = [t.request("topicList", {}, 5000), t.request("topicList", {}, 5000)];
  await new Promise((r) => setTimeout(r, 20));
  server.dropConnections();
  for (const p of inFlight) assert.is((await rejection(p)).code, "CONNECTION_CLOSED");
  server.intercept = () => undefined;
  const r = await t.request("topicList", {}, 3000);
  assert.ok(Array.isArray(r.topics));
  assert.is(server.connections, before + 1, "a fresh connection");
  await t.close();
});

test("a broker that is down: CONNECTION_CLOSED, and redials wait out an exponential backoff", async () => {
  const other = await startEchoServer();
  const url = other.url;
  await other.close();
  const t = new Transport(url, { WebSocket, minBackoffMs: 100, maxBackoffMs: 1000 });
  const first = await rejection(t.request("topicList", {}, 3000));
  assert.is(first.code, "CONNECTION_CLOSED");
  let started = Date.now();
  await rejection(t.connect());
  const second = Date.now() - started;
  assert.ok(second >= 80, `second dial waited ${second} ms`);
  started = Date.now();
  await rejection(t.connect());
  const third = Date.now() - started;
  assert.ok(third >= 180, `third dial waited ${third} ms`);
  // A request whose timeout ends during the backoff is a TIMEOUT, not a hang.
  assert.is((await rejection(t.request("topicList", {}, 50))).code, "TIMEOUT");
  await t.close();
});

test("frames without an id are pushes", async () => {
  const pushes: unknown[] = [];
  const t = new Transport(server.url, { WebSocket, onPush: (p) => pushes.push(p) });
  await t.connect();
  server.push({ op: "rebalance", topic: "T" });
  const r = await t.request("topicList", {}, 3000); // ordered after the push on the same socket
  assert.ok(r);
  assert.equal(pushes, [{ op: "rebalance", topic: "T" }]);
  await t.close();
});

test("close rejects requests in flight and refuses new ones", async () => {
  const t = new Transport(server.url, { WebSocket });
  await t.connect();
  server.intercept = () => "drop";
  const p = rejection(t.request("topicList", {}, 5000));
  await t.close();
  assert.is((await p).code, "CONNECTION_CLOSED");
  assert.is((await rejection(t.request("topicList", {}, 100))).code, "CONNECTION_CLOSED");
  assert.not.ok(t.isOpen);
});

test("a request that cannot be encoded is refused, not sent", async () => {
  const t = new Transport(server.url, { WebSocket });
  assert.is((await rejection(t.request("topicList", { bad: () => 1 }, 100))).code, "WRONG_TYPE");
  await t.close();
});

test.after(() => server.close());
test.run();
