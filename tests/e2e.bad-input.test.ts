// Bad input over a real socket: each gets a named error (or a close with a reason), costs
// nothing, and the broker then still serves a normal send and pull.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode, ErrorCode } from "../protocol/mod.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { startBroker } from "./helpers/broker.ts";

const env = await startBroker({ maxFrameSize: 64 * 1024 });
const msg = (topic: string, body: string) => encode({ topic, body, id: `id-${body}`, born: Date.now() });

async function sendAndPull(topic: string, body: string) {
  const s = await rawSocket(env.url);
  s.send(encode({ id: 1, op: "send", queueId: 0, msg: msg(topic, body) }));
  const sent = await s.next();
  assert.is(sent.code, 0, JSON.stringify(sent));
  s.send(encode({ id: 2, op: "pull", topic, queueId: 0, offset: sent.queueOffset }));
  const pulled = await s.next();
  s.close();
  return { sent, pulled: pulled as { code: number; msgs: [number, number, number, number, number, { body: string }][] } };
}

test("a normal send and pull work before anything bad happens", async () => {
  const { pulled } = await sendAndPull("Good", "first");
  assert.is(pulled.msgs[0][5].body, "first");
});

const cases: [string, Uint8Array | string, string][] = [
  ["non-CBOR bytes", new Uint8Array([0xff, 0xfe, 0x00, 0x13]), ErrorCode.MALFORMED_FRAME],
  ["a CBOR array, not a map", encode([1, 2, 3]), ErrorCode.MALFORMED_FRAME],
  ["no id", encode({ op: "send" }), ErrorCode.MISSING_FIELD],
  ["an unknown op", encode({ id: 7, op: "explode" }), ErrorCode.UNKNOWN_OP],
  ["a missing field", encode({ id: 8, op: "pull", topic: "Good", queueId: 0 }), ErrorCode.MISSING_FIELD],
  ["a wrong type", encode({ id: 9, op: "pull", topic: "Good", queueId: "zero", offset: 0 }), ErrorCode.WRONG_TYPE],
  ["a negative offset", encode({ id: 10, op: "pull", topic: "Good", queueId: 0, offset: -1 }), ErrorCode.WRONG_TYPE],
  ["a message that is not CBOR", encode({ id: 11, op: "send", msg: new Uint8Array([0xff]) }), ErrorCode.MALFORMED_FRAME],
  ["a message without a body", encode({ id: 12, op: "send", msg: encode({ topic: "Good", id: "x", born: 1 }) }), ErrorCode.MISSING_FIELD],
  ["an empty body", encode({ id: 17, op: "send", msg: encode({ topic: "Good", body: "", id: "x", born: 1 }) }), ErrorCode.BAD_REQUEST],
  ["a forged offset commit", encode({ id: 18, op: "send", msg: msg("RMQ_SYS_CONSUMER_OFFSETS", "x") }), ErrorCode.NO_PERMISSION],
  ["a bad topic name", encode({ id: 13, op: "send", msg: msg("no spaces allowed", "x") }), ErrorCode.BAD_REQUEST],
  ["a queue that does not exist", encode({ id: 14, op: "send", queueId: 99, msg: msg("Good", "x") }), ErrorCode.QUEUE_NOT_FOUND],
  ["a pull on an unknown topic", encode({ id: 15, op: "pull", topic: "Nope", queueId: 0, offset: 0 }), ErrorCode.TOPIC_NOT_FOUND],
  ["a bad subscription expression", encode({ id: 16, op: "pull", topic: "Good", queueId: 0, offset: 0, expression: "A ||" }), ErrorCode.BAD_REQUEST],
];

for (const [name, frame, code] of cases) {
  test(`${name} gets ${code} and the connection stays usable`, async () => {
    const s = await rawSocket(env.url);
    s.send(frame);
    const r = await s.next();
    assert.is(r.code, code, JSON.stringify(r));
    assert.type(r.message, "string");
    s.send(encode({ id: 100, op: "topicList" }));
    assert.is((await s.next()).code, 0);
    s.close();
  });
}

test("a sendBatch with one bad message stores the others and names the bad one", async () => {
  const s = await rawSocket(env.url);
  s.send(encode({ id: 1, op: "sendBatch", msgs: [msg("Good", "a"), new Uint8Array([0xff]), msg("Good", "b")] }));
  const r = (await s.next()) as { code: number; results: { code: number | string }[] };
  assert.is(r.code, 0);
  assert.equal(r.results.map((x) => x.code), [0, ErrorCode.MALFORMED_FRAME, 0]);
  s.close();
});

test("an oversized frame closes the socket with 1009 and FRAME_TOO_LARGE", async () => {
  const s = await rawSocket(env.url);
  s.send(new Uint8Array(100 * 1024));
  const { code, reason } = await s.closed;
  assert.is(code, 1009);
  assert.match(reason, "FRAME_TOO_LARGE");
});

test("a text frame is refused with a reason", async () => {
  const s = await rawSocket(env.url);
  s.send("hello");
  const { code, reason } = await s.closed;
  assert.is(code, 1003);
  assert.match(reason, "MALFORMED_FRAME");
});

test("after all that the broker still serves sends and pulls, and nothing stored changed", async () => {
  const { pulled } = await sendAndPull("Good", "after");
  assert.is(pulled.code, 0);
  assert.is(pulled.msgs[0][5].body, "after");
  const s = await rawSocket(env.url);
  s.send(encode({ id: 1, op: "pull", topic: "Good", queueId: 0, offset: 0, maxCount: 100 }));
  const all = (await s.next()) as { msgs: [number, number, number, number, number, { body: string }][] };
  const bodies = all.msgs.map((m) => m[5].body);
  assert.is(bodies[0], "first");
  assert.is(bodies[bodies.length - 1], "after");
  s.close();
});

test.after(() => env.stop());
test.run();
