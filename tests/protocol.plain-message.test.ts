// plainMessage checks a plain message (topic, body, id, born, tags, keys, group) by walking its bytes;
// for anything else it answers null and the broker decodes and checks with checkMessage. The two
// must agree: whatever plainMessage takes, checkMessage takes with the same fields, and nothing
// checkMessage refuses gets through plainMessage.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkMessage, decode, encode, type Message } from "../protocol/mod.ts";
import { encodePlainMessage, plainMessage } from "../protocol/plain-message.ts";
import { encodeMessage, newMessageId } from "../client/outgoing-message.ts";

const body = new Uint8Array(1024).fill(42);

/** checkMessage's verdict on the bytes: the fields it gives, or its error code. */
function slow(bytes: Uint8Array): { topic: string; id: string; tags?: string; keys?: string[] } | string {
  try {
    const m: Message = checkMessage(decode(bytes));
    return { topic: m.topic, id: m.id, tags: m.tags, keys: m.keys };
  } catch (e) {
    return (e as { code?: string }).code ?? "MALFORMED";
  }
}

/** Hand-written CBOR: a map of text keys to items already encoded. */
function map(entries: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0xa0 | entries.length])];
  for (const [k, v] of entries) parts.push(encode(k), v);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

test("what the client sends is plain, and read as checkMessage reads it", () => {
  const sent = [
    { topic: "Orders", body },
    { topic: "Orders", body: "text body", tags: "TagA", keys: ["k1", "k2"] },
    { topic: "%RETRY%g_1", body, keys: [] },
    { topic: "T", body, tags: "" }, // the client drops an empty tag
  ];
  for (const m of sent) {
    const bytes = encodeMessage(m, newMessageId(), Date.now(), "producers").bytes;
    const fast = plainMessage(bytes);
    assert.ok(fast, `plain: ${JSON.stringify(m).slice(0, 60)}`);
    assert.equal({ ...fast }, slow(bytes));
  }
});

test("anything but the plain fields goes to checkMessage: props, group, delays, unknown keys", () => {
  const base = { topic: "T", body, id: "x", born: 1 };
  for (const extra of [{ props: { a: "b" } }, { delayLevel: 2 }, { deliverAt: 1 }, { delayMs: 5 }, { other: 1 }]) {
    const bytes = encode({ ...base, ...extra });
    assert.is(plainMessage(bytes), null, JSON.stringify(extra));
    assert.type(slow(bytes), "object", `checkMessage still takes ${JSON.stringify(extra)}`);
  }
});

test("whatever checkMessage refuses, plainMessage does not take", () => {
  const ok: Record<string, unknown> = { topic: "T", body, id: "x", born: 1 };
  const bad: Record<string, unknown>[] = [
    { ...ok, topic: undefined },
    { ...ok, topic: "" },
    { ...ok, topic: "has space" },
    { ...ok, topic: "x".repeat(200) },
    { ...ok, topic: 7 },
    { ...ok, body: undefined },
    { ...ok, body: new Uint8Array(0) },
    { ...ok, body: "" },
    { ...ok, body: 5 },
    { ...ok, id: undefined },
    { ...ok, id: "" },
    { ...ok, id: 3 },
    { ...ok, born: undefined },
    { ...ok, born: "1" },
    { ...ok, born: true },
    { ...ok, born: null },
    { ...ok, tags: 1 },
    { ...ok, keys: "k" },
    { ...ok, keys: ["k", 2] },
    { ...ok, group: 1 },
  ];
  for (const m of bad) {
    for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
    const bytes = encode(m);
    assert.type(slow(bytes), "string", `checkMessage refuses ${JSON.stringify(m).slice(0, 80)}`);
    assert.is(plainMessage(bytes), null, `plainMessage refuses ${JSON.stringify(m).slice(0, 80)}`);
  }
  // Not a map; a truncated map; bytes after the map.
  assert.is(plainMessage(encode(["T"])), null);
  const whole = encode(ok);
  assert.is(plainMessage(whole.subarray(0, whole.length - 3)), null);
  const trailing = new Uint8Array([...whole, 0x01]);
  assert.is(plainMessage(trailing), null);
});

test("numbers as any encoder writes them; what it cannot be sure of goes to checkMessage", () => {
  const fields = (born: Uint8Array): [string, Uint8Array][] => [["topic", encode("T")], ["body", encode(body)], ["id", encode("x")], ["born", born]];
  for (const born of [new Uint8Array([0x01]), new Uint8Array([0x20]), new Uint8Array([0x1b, 0, 0, 1, 0x9a, 0, 0, 0, 0]), new Uint8Array([0xf9, 0x3c, 0x00]), new Uint8Array([0xfa, 0x3f, 0x80, 0, 0]), encode(1.5)]) {
    const bytes = map(fields(born));
    assert.ok(plainMessage(bytes), `born ${[...born]}`);
    assert.equal({ ...plainMessage(bytes) }, slow(bytes));
  }
  // A repeated key, a non-ASCII string, an indefinite-length body, a tagged number: decoded instead.
  assert.is(plainMessage(map([...fields(encode(1)), ["id", encode("y")]])), null);
  assert.is(plainMessage(map([["topic", encode("T")], ["body", encode(body)], ["id", encode("é")], ["born", encode(1)]])), null);
  assert.is(plainMessage(map([["topic", encode("T")], ["body", new Uint8Array([0x5f, 0x41, 1, 0xff])], ["id", encode("x")], ["born", encode(1)]])), null);
  assert.is(plainMessage(map(fields(new Uint8Array([0xc1, 0x01])))), null);
  for (const bytes of [
    map([...fields(encode(1)), ["id", encode("y")]]),
    map([["topic", encode("T")], ["body", encode(body)], ["id", encode("é")], ["born", encode(1)]]),
  ]) assert.type(slow(bytes), "object", "checkMessage takes what plainMessage left to it");
});

/** A decoded value with byte strings as plain arrays, to compare what two encodings decode to. */
function plainly(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(plainly);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainly(x)]));
  return v;
}

test("encodePlainMessage writes what the general encoder would, as far as any decoder can tell", () => {
  const messages: Message[] = [
    { topic: "Orders", body, id: "A".repeat(22), born: 1_795_500_000_123 },
    { topic: "T", body: "text, ütf-8 ✓", id: "x", born: 0, tags: "TagA", keys: ["k1", "ключ"], group: "producers" },
    { topic: "T", body: new Uint8Array(70_000).fill(7), id: "é", born: -5, keys: [] },
    { topic: "T", body: new Uint8Array(1), id: "x", born: 1.5, tags: "日本" },
    { topic: "T", body: new Uint8Array(300), id: "x", born: 2 ** 60, group: "g" },
    { topic: "T", body: new Uint8Array(3), id: "x", born: 255, tags: "t".repeat(300) },
  ];
  for (const m of messages) {
    const bytes = encodePlainMessage(m);
    assert.ok(bytes, JSON.stringify(m).slice(0, 60));
    assert.equal(plainly(decode(bytes!)), plainly(decode(encode(m))), JSON.stringify(m).slice(0, 60));
    // The broker reads it without decoding when every string is ASCII.
    const ascii = [m.topic, m.id, m.tags ?? "", m.group ?? "", ...(m.keys ?? [])].every((x) => /^[\x00-\x7f]*$/.test(x));
    if (ascii) assert.equal({ ...plainMessage(bytes!) }, slow(bytes!));
  }
  for (const extra of [{ props: { a: "b" } }, { delayLevel: 2 }, { deliverAt: 1 }, { delayMs: 5 }]) {
    assert.is(encodePlainMessage({ topic: "T", body, id: "x", born: 1, ...extra }), null, JSON.stringify(extra));
  }
});

test.run();
