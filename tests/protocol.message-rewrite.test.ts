// rewriteMessage: an encoded message moved to another topic by editing its CBOR map in place must
// decode to exactly what re-encoding the edited map gives, and refuse layouts it cannot edit.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CborWriter, decode, encode } from "../protocol/mod.ts";
import { MessageRewrite, rewriteMessage } from "../protocol/message-rewrite.ts";

/** A one-off edit: the target topic and the properties with their values. */
type OneOffEdit = Parameters<typeof rewriteMessage>[1];

/** What the broker stored before rewriteMessage: the decoded map, edited, re-encoded. */
function reencoded(bytes: Uint8Array, edit: OneOffEdit): Record<string, unknown> {
  const m = { ...(decode(bytes) as Record<string, unknown>) };
  for (const k of edit.drop ?? []) delete m[k];
  const props: Record<string, string> = { ...(m.props as Record<string, string> | undefined) };
  for (const k of edit.dropProps ?? []) delete props[k];
  for (const [k, v] of edit.setProps ?? []) props[k] = v;
  delete m.props;
  const out: Record<string, unknown> = { ...m, topic: edit.topic };
  if (Object.keys(props).length > 0) out.props = props;
  return decode(encode(out)) as Record<string, unknown>;
}

function check(bytes: Uint8Array, edit: OneOffEdit): Record<string, unknown> {
  const out = rewriteMessage(bytes, edit);
  assert.ok(out, "rewritten in place");
  const got = decode(out!) as Record<string, unknown>;
  assert.equal(comparable(got), comparable(reencoded(bytes, edit)));
  return got;
}

/** Byte strings as hex: decode gives a Buffer or a Uint8Array depending on its input's type. */
function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return `h'${Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("")}'`;
  if (Array.isArray(v)) return v.map(comparable);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

const TIMER_EDIT: OneOffEdit = {
  topic: "RMQ_SYS_WHEEL_TIMER",
  drop: ["deliverAt", "delayMs"],
  setProps: [["REAL_TOPIC", "Orders"], ["REAL_QID", "3"], ["DELIVER_AT", "1798675200123"]],
};

test("indefinite-length values inside the map (arrays, maps, chunked strings) are skipped over and kept as they are", () => {
  const text = (t: string) => new CborWriter().text(t).bytes().slice();
  const keys = new Uint8Array([0x9f, ...text("k1"), ...text("k2"), 0xff]);
  const extra = new Uint8Array([0xbf, ...text("x"), 0x9f, 0x01, 0xff, 0xff]); // { x: [1] }
  const msg = (body: Uint8Array) =>
    new CborWriter().map(5).text("topic").text("T").text("id").text("m1").text("body").raw(body).text("keys").raw(keys).text("extra").raw(extra).bytes().slice();
  const got = check(msg(new Uint8Array([0x42, 1, 2])), TIMER_EDIT);
  assert.equal([got.keys, got.extra], [["k1", "k2"], { x: [1] }]);
  // cbor-x decodes no chunked string, so none reaches the broker; the walk still skips one whole.
  const chunked = new Uint8Array([0x5f, 0x42, 1, 2, 0x41, 3, 0xff]); // h'0102' h'03', then break
  const out = rewriteMessage(msg(chunked), TIMER_EDIT);
  const hex = (b: Uint8Array) => String(comparable(b)).slice(2, -1);
  assert.ok(out && hex(out).includes(hex(chunked)), "the chunked body, byte for byte");
  // A chunk of another major type inside a chunked string is not CBOR: refused, not edited.
  assert.is(rewriteMessage(msg(new Uint8Array([0x5f, 0x61, 0x61, 0xff])), TIMER_EDIT), null);
});

test("a timed message: topic replaced, deliverAt dropped, props merged, body and the rest byte for byte", () => {
  const body = new Uint8Array(1024).map((_, i) => i & 255);
  const sent = encode({ topic: "Orders", body, id: "m-1", born: 1798675000000, tags: "TagA", keys: ["k1", "k2"], props: { a: "1", REAL_QID: "forged" }, deliverAt: 1798675200123 });
  const got = check(sent, TIMER_EDIT);
  assert.equal(got.topic, "RMQ_SYS_WHEEL_TIMER");
  assert.equal(got.deliverAt, undefined);
  assert.equal(got.props, { a: "1", REAL_QID: "3", REAL_TOPIC: "Orders", DELIVER_AT: "1798675200123" });
  assert.equal([...(got.body as Uint8Array)], [...body]);
  // The forged REAL_QID is replaced, not repeated: the props map holds 4 entries.
  const out = rewriteMessage(sent, TIMER_EDIT)!;
  const at = indexOf(out, encode("props"));
  assert.equal(out[at + 6], 0xa0 | 4);
});

test("a message without props gets them; a text body and delayMs work the same", () => {
  const got = check(encode({ topic: "T", body: "hello", id: "x", born: 1, delayMs: 5000 }), TIMER_EDIT);
  assert.equal(got.props, { REAL_TOPIC: "Orders", REAL_QID: "3", DELIVER_AT: "1798675200123" });
  assert.equal(got.body, "hello");
});

test("dropping every property removes the props map (the re-put of a waiting record)", () => {
  const waiting = encode({ topic: "RMQ_SYS_WHEEL_TIMER", body: "b", id: "x", born: 1, props: { REAL_TOPIC: "T", REAL_QID: "0", DELIVER_AT: "9" } });
  const got = check(waiting, { topic: "T", dropProps: ["REAL_TOPIC", "REAL_QID", "DELAY", "DELIVER_AT"] });
  assert.equal(got, { topic: "T", body: "b", id: "x", born: 1 });
  const kept = check(encode({ topic: "X", body: "b", id: "x", born: 1, props: { u: "v", REAL_TOPIC: "T" } }), { topic: "T", dropProps: ["REAL_TOPIC"] });
  assert.equal(kept.props, { u: "v" });
});

test("wide heads: many properties, long names and values, non-ASCII text, big integers", () => {
  const props: Record<string, string> = {};
  for (let i = 0; i < 300; i++) props[`p${i}`] = "v".repeat(i);
  const sent = encode({ topic: "T", body: new Uint8Array(70_000).fill(7), id: "é-ü", born: 2 ** 40, props, extra: [1, [2, { x: -3.5 }], null, true] });
  check(sent, { topic: "%RETRY%group-with-a-rather-long-name_0123456789", setProps: [["ORIGIN", "ünïcödé ✓"], ["LONG", "x".repeat(70_000)]] });
});

test("entries of any CBOR type are copied verbatim: an integer key, a tag, a half float", () => {
  // {"topic": "T", "body": h'010203', "id": "x", "born": 1, 7: tag 1(1.5), "deliverAt": 10}
  const w = new CborWriter();
  w.map(6).text("topic").text("T");
  w.text("body").raw(new Uint8Array([0x43, 1, 2, 3]));
  w.text("id").text("x").text("born").int(1);
  w.int(7).raw(new Uint8Array([0xc1, 0xf9, 0x3e, 0x00]));
  w.text("deliverAt").int(10);
  const sent = w.bytes().slice();
  const out = rewriteMessage(sent, TIMER_EDIT)!;
  assert.ok(out);
  const got = decode(out) as Record<string, unknown>;
  assert.equal([...(got.body as Uint8Array)], [1, 2, 3]);
  assert.equal(got.topic, "RMQ_SYS_WHEEL_TIMER");
  assert.equal(got.deliverAt, undefined);
  assert.ok(indexOf(out, new Uint8Array([0x07, 0xc1, 0xf9, 0x3e, 0x00])) >= 0, "the tagged entry, byte for byte");
});

test("layouts it does not edit in place, and malformed bytes: null (the caller re-encodes)", () => {
  const ok = encode({ topic: "T", body: "b", id: "x", born: 1 });
  assert.ok(rewriteMessage(ok, TIMER_EDIT));
  const indefinite = new Uint8Array([0xbf, ...ok.subarray(1), 0xff]);
  assert.is(rewriteMessage(indefinite, TIMER_EDIT), null, "indefinite-length map");
  const twoProps = new CborWriter().map(3).text("topic").text("T").text("props").map(0).text("props").map(0).bytes().slice();
  assert.is(rewriteMessage(twoProps, TIMER_EDIT), null, "two props maps");
  const propsIndef = new CborWriter().map(2).text("topic").text("T").text("props").raw(new Uint8Array([0xbf, 0xff])).bytes().slice();
  assert.is(rewriteMessage(propsIndef, TIMER_EDIT), null, "indefinite-length props");
  assert.is(rewriteMessage(new Uint8Array([...ok, 0]), TIMER_EDIT), null, "trailing bytes");
  for (let n = 0; n < ok.length; n++) assert.is(rewriteMessage(ok.subarray(0, n), TIMER_EDIT), null, `truncated at ${n}`);
  assert.is(rewriteMessage(encode(["not", "a", "map"]), TIMER_EDIT), null);
  assert.is(rewriteMessage(new Uint8Array([0xa1, 0x61, 0x61, 0x1c]), TIMER_EDIT), null, "reserved additional info 28");
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.is(rewriteMessage(encode({ topic: "T", body: "b", deep }), TIMER_EDIT), null, "nested past the depth limit");
});

test("move: edited in place when it can be, else the decoded map re-encoded with the same edit", () => {
  const rw = new MessageRewrite({ drop: ["deliverAt", "delayMs"], dropProps: ["gone"], setProps: ["REAL_TOPIC", "REAL_QID"] });
  const edit: OneOffEdit = { topic: "RMQ_SYS_WHEEL_TIMER", drop: ["deliverAt", "delayMs"], dropProps: ["gone"], setProps: [["REAL_TOPIC", "Orders"], ["REAL_QID", "3"]] };
  const sent = encode({ topic: "Orders", body: new Uint8Array([9, 8]), id: "m1", deliverAt: 5, props: { user: "1", gone: "x" } });
  const indefinite = new Uint8Array([0xbf, ...sent.subarray(1), 0xff]);
  const map = decode(sent) as Record<string, unknown>;
  const expected = comparable(reencoded(sent, edit));
  for (const [why, bytes] of [["in place", sent], ["indefinite-length map", indefinite], ["no bytes", undefined]] as const) {
    const out = rw.move(bytes, map, "RMQ_SYS_WHEEL_TIMER", ["Orders", "3"]);
    assert.equal(comparable(decode(out)), expected, why);
  }
  // Properties all dropped: no props map at all, either way.
  const bare = new MessageRewrite({ dropProps: ["gone"] });
  const lone = encode({ topic: "T", body: "b", props: { gone: "x" } });
  for (const bytes of [lone, undefined]) assert.not.ok("props" in (decode(bare.move(bytes, decode(lone) as Record<string, unknown>, "U", [])) as object));
});

test("random messages decode to what re-encoding gives", () => {
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const text = () => Array.from({ length: rnd(40) }, () => String.fromCharCode(rnd(4) === 0 ? 0x100 + rnd(500) : 0x20 + rnd(90))).join("");
  for (let i = 0; i < 500; i++) {
    const m: Record<string, unknown> = { topic: "T" + rnd(100), body: rnd(2) ? new Uint8Array(rnd(5000)) : text(), id: text(), born: rnd(2 ** 30) * 1000 };
    if (rnd(2)) m.tags = text();
    if (rnd(2)) m.keys = Array.from({ length: rnd(5) }, text);
    if (rnd(2)) m.props = Object.fromEntries(Array.from({ length: rnd(30) }, () => [rnd(3) ? text() : "REAL_TOPIC", text()]));
    if (rnd(2)) m.deliverAt = rnd(2 ** 30) * 1000;
    if (rnd(3) === 0) m.delayLevel = 1 + rnd(18);
    check(encode(m), rnd(2) ? TIMER_EDIT : { topic: text() || "X", drop: ["delayLevel"], dropProps: ["REAL_TOPIC"], setProps: [[text(), text()]] });
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

test.run();
