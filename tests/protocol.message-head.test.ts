// messageHead reads topic, tags, keys and id from a stored message's CBOR bytes without decoding
// the rest (a replica's dispatch), and gives up (null: the caller decodes) on what it does not read.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode } from "../protocol/mod.ts";
import { messageHead } from "../protocol/message-head.ts";

test("the fields as the decoder gives them, whatever comes around them", () => {
  const messages = [
    { topic: "Orders", body: new Uint8Array(5000).fill(1), id: "AB12", born: 1, tags: "TagA", keys: ["k1", "k2"], props: { a: "b", nested: "x" } },
    { body: "text body", topic: "T", id: "x", born: 1795500000000 }, // topic not first, no tags or keys
    { topic: "%RETRY%g_T", body: new Uint8Array(1), id: "é-ü", born: -1, tags: "日本", keys: [] },
    { topic: "T", body: new Uint8Array(1), id: "x".repeat(200), born: 1.5, deliverAt: 2 ** 40, extra: [1, [2, { a: null }], true, 3.25] },
  ];
  for (const m of messages) {
    const h = messageHead(encode(m));
    assert.ok(h, JSON.stringify(m).slice(0, 60));
    assert.equal({ topic: h!.topic, tags: h!.tags, keys: h!.keys, id: h!.id }, { topic: m.topic, tags: (m as { tags?: string }).tags, keys: (m as { keys?: string[] }).keys, id: m.id });
  }
});

test("null for what it does not read: not a map, no topic, a field of another type, truncated, indefinite lengths", () => {
  assert.is(messageHead(encode([1, 2])), null);
  assert.is(messageHead(encode({ body: "b", id: "x" })), null);
  assert.is(messageHead(encode({ topic: 7, body: "b" })), null);
  assert.is(messageHead(encode({ topic: "T", tags: 1 })), null);
  assert.is(messageHead(encode({ topic: "T", keys: "k" })), null);
  const whole = encode({ topic: "T", body: new Uint8Array(100), id: "x" });
  assert.is(messageHead(whole.subarray(0, whole.length - 5)), null);
  // An indefinite-length map (0xbf ... 0xff) with topic "T".
  assert.is(messageHead(Uint8Array.of(0xbf, 0x65, ...new TextEncoder().encode("topic"), 0x61, 0x54, 0xff)), null);
  assert.is(messageHead(new Uint8Array(0)), null);
});

test.run();
