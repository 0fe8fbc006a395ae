// Client-side message handling without a broker: checks and encoding of what a producer sends,
// pull and queryMessage items turned into MessageViews, endpoint strings turned into URLs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError, CborWriter, decode, encode, MAX_MESSAGE_SIZE } from "../protocol/mod.ts";
import { encodeMessage } from "../client/outgoing-message.ts";
import { fromPullItem, fromQueryItem } from "../client/message-view.ts";
import { dialableAddress, normalizeEndpoint, normalizeEndpoints } from "../client/endpoints.ts";
import { TopicPublishInfo } from "../client/topic-route.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof BrokerError, `a BrokerError, not ${e}`);
    return (e as BrokerError).code;
  }
  assert.unreachable("no error");
  return "";
}

test("a message is encoded once as the map PROTOCOL.md names, without absent fields", () => {
  const body = new Uint8Array([1, 2, 3]);
  const m = encodeMessage({ topic: "Orders", body, tags: "paid", keys: ["o-1"], props: { a: "b" } }, "id-1", 1795500000000, "pg");
  assert.is(m.topic, "Orders");
  assert.is(m.msgId, "id-1");
  const map = decode(m.bytes) as Record<string, unknown>;
  assert.equal(Object.keys(map), ["topic", "body", "id", "born", "tags", "keys", "props", "group"]);
  assert.equal(new Uint8Array(map.body as Uint8Array), body);
  assert.equal(map.keys, ["o-1"]);
  assert.is(map.group, "pg");
  const bare = decode(encodeMessage({ topic: "T", body: "hi" }, "x", 1).bytes) as Record<string, unknown>;
  assert.equal(bare, { topic: "T", body: "hi", id: "x", born: 1 });
  // No CBOR undefined (0xf7) on the wire: absent fields are absent.
  assert.not.ok(encodeMessage({ topic: "T", body: "hi", tags: undefined }, "x", 1).bytes.includes(0xf7));
});

test("bodies: bytes and text as given, other buffers as bytes", () => {
  const ab = new Uint8Array([9, 8]).buffer;
  const fromAb = decode(encodeMessage({ topic: "T", body: ab }, "x", 1).bytes) as { body: Uint8Array };
  assert.equal([...fromAb.body], [9, 8]);
  const view = new DataView(new Uint8Array([0, 7, 6, 0]).buffer, 1, 2);
  const fromView = decode(encodeMessage({ topic: "T", body: view as unknown as Uint8Array }, "x", 1).bytes) as { body: Uint8Array };
  assert.equal([...fromView.body], [7, 6]);
});

test("bad messages are refused on the client with the broker's codes", () => {
  const ok = { topic: "T", body: "x" };
  assert.is(code(() => encodeMessage({ body: "x" } as never, "x", 1)), "MISSING_FIELD");
  assert.is(code(() => encodeMessage({ ...ok, topic: 5 } as never, "x", 1)), "WRONG_TYPE");
  assert.is(code(() => encodeMessage({ ...ok, topic: "bad topic!" }, "x", 1)), "BAD_REQUEST");
  assert.is(code(() => encodeMessage({ ...ok, topic: "a".repeat(128) }, "x", 1)), "BAD_REQUEST");
  assert.is(code(() => encodeMessage({ topic: "T" } as never, "x", 1)), "MISSING_FIELD");
  assert.is(code(() => encodeMessage({ ...ok, body: 42 } as never, "x", 1)), "WRONG_TYPE");
  assert.is(code(() => encodeMessage({ ...ok, body: "" }, "x", 1)), "BAD_REQUEST");
  assert.is(code(() => encodeMessage({ ...ok, tags: 1 } as never, "x", 1)), "WRONG_TYPE");
  assert.is(code(() => encodeMessage({ ...ok, keys: "k" } as never, "x", 1)), "WRONG_TYPE");
  assert.is(code(() => encodeMessage({ ...ok, props: { a: 1 } } as never, "x", 1)), "WRONG_TYPE");
  assert.is(code(() => encodeMessage({ ...ok, queueId: -1 }, "x", 1)), "WRONG_TYPE");
  assert.is(code(() => encodeMessage(null as never, "x", 1)), "WRONG_TYPE");
});

test("the 4 MiB limit counts the whole encoded message", () => {
  assert.is(code(() => encodeMessage({ topic: "T", body: new Uint8Array(MAX_MESSAGE_SIZE + 1) }, "x", 1)), "MESSAGE_TOO_LARGE");
  // The body alone fits, the map around it does not.
  assert.is(code(() => encodeMessage({ topic: "T", body: new Uint8Array(MAX_MESSAGE_SIZE - 10) }, "x", 1)), "MESSAGE_TOO_LARGE");
  const fits = encodeMessage({ topic: "T", body: new Uint8Array(MAX_MESSAGE_SIZE - 100) }, "x", 1);
  assert.ok(fits.bytes.length <= MAX_MESSAGE_SIZE);
});

test("pull items become MessageViews: the stored map plus where and when it was stored", () => {
  const stored = encode({ topic: "Orders", body: new Uint8Array([5]), id: "abc", born: 10, tags: "paid" });
  // Built as the broker builds a pull response: stored bytes spliced in.
  const w = new CborWriter();
  w.map(1).text("msgs").array(1).array(6).int(40).int(1047000).int(1795500000012).int(2).int(0).raw(stored);
  const { msgs } = decode(w.bytes()) as { msgs: unknown[] };
  const v = fromPullItem(msgs[0], 3);
  assert.is(v.topic, "Orders");
  assert.is(v.id, "abc");
  assert.is(v.born, 10);
  assert.is(v.tags, "paid");
  assert.equal([...(v.body as Uint8Array)], [5]);
  assert.is(v.queueId, 3);
  assert.is(v.queueOffset, 40);
  assert.is(v.commitLogOffset, 1047000);
  assert.is(v.storeTimestamp, 1795500000012);
  assert.is(v.reconsumeTimes, 2);
  assert.is(code(() => fromPullItem([1, 2, 3], 0)), "MALFORMED_FRAME");
  assert.is(code(() => fromPullItem([1, 2, 3, 4, 5, "x"], 0)), "MALFORMED_FRAME");
});

test("queryMessage items carry their topic and queue", () => {
  const v = fromQueryItem(["Orders", 2, 40, 1047000, 1795500000012, 0, 0, { topic: "Orders", body: "b", id: "i", born: 1 }]);
  assert.is(v.queueId, 2);
  assert.is(v.queueOffset, 40);
  assert.is(v.body, "b");
  assert.is(code(() => fromQueryItem(["Orders", 2, 40])), "MALFORMED_FRAME");
});

test("endpoints: host:port, ws URLs with or without /ws, lists", () => {
  assert.is(normalizeEndpoint("127.0.0.1:9876"), "ws://127.0.0.1:9876/ws");
  assert.is(normalizeEndpoint("ws://127.0.0.1:9876"), "ws://127.0.0.1:9876/ws");
  assert.is(normalizeEndpoint("ws://127.0.0.1:9876/"), "ws://127.0.0.1:9876/ws");
  assert.is(normalizeEndpoint("ws://127.0.0.1:9876/ws"), "ws://127.0.0.1:9876/ws");
  assert.is(normalizeEndpoint("wss://mq.example.com/broker"), "wss://mq.example.com/broker");
  assert.is(normalizeEndpoint("http://h:1"), "ws://h:1/ws");
  assert.is(normalizeEndpoint("localhost"), "ws://localhost:9876/ws");
  assert.is(normalizeEndpoint("[::1]:9876"), "ws://[::1]:9876/ws");
  assert.equal(normalizeEndpoints("a:1;b:2"), ["ws://a:1/ws", "ws://b:2/ws"]);
  assert.equal(normalizeEndpoints(["a:1", "ws://a:1/ws"]), ["ws://a:1/ws"]);
  assert.is(code(() => normalizeEndpoints([])), "BAD_REQUEST");
  assert.is(code(() => normalizeEndpoint("ws://")), "BAD_REQUEST");
  assert.is(dialableAddress("ws://0.0.0.0:9876/ws", "ws://10.1.2.3:9876/ws"), "ws://10.1.2.3:9876/ws");
  assert.is(dialableAddress("ws://10.0.0.9:9876/ws", "ws://10.1.2.3:9876/ws"), "ws://10.0.0.9:9876/ws");
});

test("queue choice: round-robin over writable queues, by key, by id", () => {
  const info = new TopicPublishInfo({
    topic: "T",
    brokers: [{ name: "a", address: "ws://a:1/ws", queues: 3, perm: 6 }, { name: "ro", address: "ws://b:1/ws", queues: 2, perm: 4 }],
  }, (a) => a, 0);
  assert.equal(Array.from({ length: 7 }, () => info.next()!.queueId), [0, 1, 2, 0, 1, 2, 0]);
  assert.ok(info.queues.every((q) => q.broker === "a"), "read-only brokers take no sends");
  assert.is(info.forKey("order-42")!.queueId, info.forKey("order-42")!.queueId);
  assert.is(info.byId(2)!.queueId, 2);
  assert.is(info.byId(5), undefined);
  const none = new TopicPublishInfo({ topic: "T", brokers: [] }, (a) => a);
  assert.is(none.next(), undefined);
});

test.run();
