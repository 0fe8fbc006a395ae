// Limits and checks that hold with --auth off too: connections beyond --max-connections are
// closed with a reason; a connection that sends nothing (handshake timeout) or goes silent (idle
// timeout) is closed with a reason; held pulls, topics and groups stop at their limits; a
// heartbeat with 10,000 groups is refused at once; group names with ../ or over 255 characters
// get BAD_REQUEST in every op that takes one and create nothing on disk; a browser handshake from
// another origin is closed unless listed. Each refusal is counted in /metrics.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { encode } from "../protocol/mod.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { startBroker, tempDir } from "./helpers/broker.ts";
import { slowReader } from "./helpers/slow-reader.ts";

const msg = (topic: string, body = "x") => encode({ topic, body, id: `id-${Math.random()}`, born: Date.now() });

async function metric(url: string, limit: string): Promise<number> {
  const text = await (await fetch(`${url.replace("ws://", "http://").replace(/\/ws$/, "")}/metrics`, { headers: { connection: "close" } })).text();
  return Number(new RegExp(`actormq_limit_refusals_total\\{limit="${limit}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

test("connections beyond --max-connections are closed with LIMIT_EXCEEDED; a freed slot is usable", async () => {
  const b = await startBroker({ maxConnections: 3 });
  try {
    const open = await Promise.all([1, 2, 3].map(() => rawSocket(b.url)));
    const fourth = await rawSocket(b.url);
    const closed = await fourth.closed;
    assert.is(closed.code, 1013);
    assert.match(closed.reason, /^LIMIT_EXCEEDED: 3 connections are open \(--max-connections\)/);
    open[0].close();
    await open[0].closed;
    const again = await rawSocket(b.url);
    again.send(encode({ id: 1, op: "topicList" }));
    assert.is((await again.next()).code, 0);
    assert.is(await metric(b.url, "connections"), 1);
    for (const s of [again, ...open.slice(1)]) s.close();
  } finally {
    await b.stop();
  }
});

test("a connection that sends nothing, or goes silent, is closed with a reason", async () => {
  const b = await startBroker({ handshakeTimeoutMs: 300, idleTimeoutMs: 1500 });
  try {
    const mute = await rawSocket(b.url);
    const started = Date.now();
    const active = await rawSocket(b.url);
    active.send(encode({ id: 1, op: "topicList" }));
    assert.is((await active.next()).code, 0);
    assert.equal(await mute.closed, { code: 1008, reason: "HANDSHAKE_TIMEOUT: no frame within 300 ms" });
    assert.ok(Date.now() - started < 2000, "closed within the timeout and a sweep");
    const idle = await active.closed;
    assert.equal(idle, { code: 1008, reason: "IDLE_TIMEOUT: nothing sent or received for 1500 ms" });
    assert.is(await metric(b.url, "handshakeTimeout"), 1);
    assert.is(await metric(b.url, "idleTimeout"), 1);
  } finally {
    await b.stop();
  }
});

test("held pulls stop at --max-held-pulls; one answered frees its place", async () => {
  const b = await startBroker({ maxHeldPulls: 2 });
  try {
    const s = await rawSocket(b.url);
    s.send(encode({ id: 1, op: "createTopic", topic: "Held", queues: 1 }));
    await s.next();
    for (const id of [2, 3]) s.send(encode({ id, op: "pull", topic: "Held", queueId: 0, offset: 0, pollMs: 20_000 }));
    s.send(encode({ id: 4, op: "pull", topic: "Held", queueId: 0, offset: 0, pollMs: 20_000 }));
    const refused = await s.next();
    assert.equal([refused.id, refused.code, refused.limit], [4, "LIMIT_EXCEEDED", "heldPulls"]);
    // A message wakes both held pulls; then a third may wait again.
    const p = await rawSocket(b.url);
    p.send(encode({ id: 1, op: "send", msg: msg("Held"), queueId: 0 }));
    await p.next();
    const woken = [await s.next(), await s.next()].map((r) => r.id).sort();
    assert.equal(woken, [2, 3]);
    s.send(encode({ id: 5, op: "pull", topic: "Held", queueId: 0, offset: 1, pollMs: 100 }));
    assert.equal([(await s.next()).id], [5]);
    s.close();
    p.close();
  } finally {
    await b.stop();
  }
});

test("a heartbeat with 10,000 groups is refused at once; nothing is created", async () => {
  const b = await startBroker();
  try {
    const s = await rawSocket(b.url);
    const groups = Array.from({ length: 10_000 }, (_, i) => ({ group: `g${i}`, subscriptions: { T: "*" } }));
    const started = Date.now();
    s.send(encode({ id: 1, op: "heartbeat", clientId: "c@1", consumerGroups: groups }));
    const r = await s.next();
    const ms = Date.now() - started;
    assert.equal([r.code, r.limit], ["LIMIT_EXCEEDED", "heartbeatGroups"]);
    assert.match(String(r.message), /10000 groups in one heartbeat, the limit is 100/);
    assert.ok(ms < 1000, `refused in ${ms} ms`);
    s.send(encode({ id: 2, op: "topicList", system: true }));
    const topics = ((await s.next()).topics as { topic: string }[]).map((t) => t.topic);
    assert.not.ok(topics.some((t) => t.startsWith("%RETRY%")), "no retry topic made");
    s.close();
  } finally {
    await b.stop();
  }
});

test("topics and groups stop at --max-topics and --max-groups; a deletion frees a place; a restart keeps the counts", async () => {
  const dir = tempDir();
  const b = await startBroker({ maxTopics: 2, maxGroups: 2, dataDir: dir.path });
  try {
    const s = await rawSocket(b.url);
    for (const [id, t] of [[1, "T1"], [2, "T2"]] as const) {
      s.send(encode({ id, op: "send", msg: msg(t), queueId: 0 }));
      assert.is((await s.next()).code, 0);
    }
    s.send(encode({ id: 3, op: "send", msg: msg("T3") }));
    assert.equal(((r) => [r.code, r.limit])(await s.next()), ["LIMIT_EXCEEDED", "topics"]);
    s.send(encode({ id: 4, op: "createTopic", topic: "T4" }));
    assert.is((await s.next()).code, "LIMIT_EXCEEDED");
    s.send(encode({ id: 5, op: "send", msg: msg("T1") }));
    assert.is((await s.next()).code, 0, "an existing topic takes sends");
    const hb = (id: number, groups: string[]) => s.send(encode({ id, op: "heartbeat", clientId: "c@1", consumerGroups: groups.map((group) => ({ group, subscriptions: { T1: "*" } })) }));
    // Answers, past the rebalance pushes a heartbeat causes.
    const answer = async (id: number) => {
      for (;;) {
        const f = await s.next();
        if (f.id === id) return f;
      }
    };
    hb(6, ["G1", "G2"]);
    assert.is((await answer(6)).code, 0, "retry topics do not count as topics");
    hb(7, ["G1", "G2", "G3"]);
    assert.equal(((r) => [r.code, r.limit])(await answer(7)), ["LIMIT_EXCEEDED", "groups"]);
    s.send(encode({ id: 8, op: "commitOffset", group: "G4", topic: "T1", queueId: 0, offset: 0 }));
    assert.is((await answer(8)).code, "LIMIT_EXCEEDED");
    // A deletion frees its place: the counts follow topics and groups going as well as coming.
    s.send(encode({ id: 9, op: "deleteTopic", topic: "T2" }));
    assert.is((await answer(9)).code, 0);
    s.send(encode({ id: 10, op: "createTopic", topic: "T5" }));
    assert.is((await answer(10)).code, 0, "a deleted topic's place is free");
    s.send(encode({ id: 11, op: "createTopic", topic: "T6" }));
    assert.is((await answer(11)).code, "LIMIT_EXCEEDED");
    hb(12, ["G1"]);
    assert.is((await answer(12)).code, 0);
    s.send(encode({ id: 13, op: "deleteSubGroup", group: "G2" }));
    assert.is((await answer(13)).code, 0);
    s.send(encode({ id: 14, op: "commitOffset", group: "G4", topic: "T1", queueId: 0, offset: 0 }));
    assert.is((await answer(14)).code, 0, "a deleted group's place is free");
    s.close();
  } finally {
    await b.stop();
  }
  // Restarted on the same data, the counts are the restored table's and actors'.
  const again = await startBroker({ maxTopics: 2, maxGroups: 2, dataDir: b.dir });
  try {
    const s = await rawSocket(again.url);
    s.send(encode({ id: 1, op: "createTopic", topic: "T7" }));
    assert.equal(((r) => [r.code, r.limit])(await s.next()), ["LIMIT_EXCEEDED", "topics"]);
    s.send(encode({ id: 2, op: "commitOffset", group: "G5", topic: "T1", queueId: 0, offset: 0 }));
    assert.equal(((r) => [r.code, r.limit])(await s.next()), ["LIMIT_EXCEEDED", "groups"]);
    s.close();
  } finally {
    await again.stop();
    dir.remove();
  }
});

test("group names with ../ or over 255 characters: BAD_REQUEST in every op, nothing on disk", async () => {
  const b = await startBroker();
  try {
    const s = await rawSocket(b.url);
    s.send(encode({ id: 0, op: "send", msg: msg("Names"), queueId: 0 }));
    const sent = await s.next();
    s.send(encode({ id: 0.5, op: "pull", topic: "Names", queueId: 0, offset: 0 }));
    const commitLogOffset = ((await s.next()).msgs as number[][])[0][1];
    const bad = ["../../evil", "..", "a/b", "x".repeat(256), "x".repeat(1 << 20)];
    let id = 1;
    for (const group of bad) {
      const frames: Record<string, unknown>[] = [
        { op: "sendBack", group, commitLogOffset },
        { op: "commitOffset", group, topic: "Names", queueId: 0, offset: 0 },
        { op: "queryOffset", group, topic: "Names", queueId: 0 },
        { op: "resetOffset", group, topic: "Names", timestamp: 0 },
        { op: "consumerList", group },
        { op: "consumerProgress", group },
        { op: "lockQueues", group, clientId: "c@1", queues: [] },
        { op: "pull", group, commitOffset: 0, topic: "Names", queueId: 0, offset: 0 },
        { op: "heartbeat", clientId: "c@1", consumerGroups: [{ group }] },
        { op: "heartbeat", clientId: "c@1", producerGroups: [group] },
        { op: "endTransaction", group, msgId: "m", resolution: "COMMIT" },
      ];
      for (const f of frames) {
        s.send(encode({ id: ++id, ...f }));
        const r = await s.next();
        assert.is(r.code, "BAD_REQUEST", `${f.op} with group ${group.slice(0, 20)}: ${JSON.stringify(r).slice(0, 200)}`);
      }
    }
    s.send(encode({ id: ++id, op: "topicList", system: true }));
    const topics = ((await s.next()).topics as { topic: string }[]).map((t) => t.topic);
    assert.not.ok(topics.some((t) => t.includes("evil") || t.length > 255 + "%RETRY%".length), topics.join(","));
    assert.not.ok(existsSync(join(dirname(b.dir), "evil")) || existsSync(join(b.dir, "evil")));
    assert.not.ok(readdirSync(join(b.dir, "consumequeue")).some((d) => d.includes("evil") || d.includes("xxxxx")));
    assert.ok(sent.code === 0);
    s.close();
  } finally {
    await b.stop();
  }
});

test("a handshake from another origin is closed unless listed; the broker's own origin and clients without Origin connect", async () => {
  const b = await startBroker({ allowedOrigins: ["https://app.example"] });
  // Dropped once the broker is stopped: Deno keeps a client socket dropped between others alive for seconds.
  const sockets: { destroy(): void }[] = [];
  try {
    const port = new URL(b.url).port;
    const evil = await slowReader(b.url, { Origin: "http://evil.example" });
    sockets.push(evil);
    assert.equal(await evil.readToClose(), { code: 1008, reason: "ORIGIN_NOT_ALLOWED: http://evil.example is not in --allowed-origins" });
    for (const origin of [`http://127.0.0.1:${port}`, "https://app.example"]) {
      const ok = await slowReader(b.url, { Origin: origin });
      sockets.push(ok);
      ok.send({ id: 1, op: "topicList" });
      assert.is((await ok.next()).code, 0, origin);
    }
    const plain = await rawSocket(b.url); // Node's and Deno's clients send no Origin
    plain.send(encode({ id: 1, op: "topicList" }));
    assert.is((await plain.next()).code, 0);
    plain.close();
    assert.is(await metric(b.url, "origin"), 1);
  } finally {
    await b.stop();
    for (const s of sockets) s.destroy();
  }
});

test.run();
