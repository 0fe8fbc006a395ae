import { test } from "uvu";
import * as assert from "uvu/assert";
import { CborWriter, checkMessage, decode, encode, ErrorCode, parseSubscription, matchesCode, matchesTag, tagsCode, BrokerError } from "../protocol/mod.ts";

test("codec round-trips plain data as standard CBOR (no tags, no records)", () => {
  const value = { a: 1, b: "x", c: new Uint8Array([1, 2, 3]), d: [true, null, -5, 1.5], e: { f: "g" } };
  const bytes = encode(value);
  assert.equal(bytes[0] >> 5, 5, "a map");
  assert.not.ok(bytes.includes(0xd8) && bytes.includes(0x40), "no typed-array tag 64");
  const back = decode(bytes) as typeof value;
  assert.equal(back.a, 1);
  assert.equal([...back.c], [1, 2, 3]);
  assert.equal(back.d, [true, null, -5, 1.5]);
  assert.equal(back.e, { f: "g" });
});

test("CborWriter splices pre-encoded items and writes every integer width", () => {
  const inner = encode({ topic: "T", body: "hi" });
  const w = new CborWriter(8);
  w.map(3).text("n").array(5).int(0).int(23).int(255).int(65536).int(2 ** 40).text("m").raw(inner).text("neg").int(-7);
  const back = decode(w.bytes()) as Record<string, unknown>;
  assert.equal(back.n, [0, 23, 255, 65536, 2 ** 40]);
  assert.equal(back.m, { topic: "T", body: "hi" });
  assert.equal(back.neg, -7);
});

test("checkMessage names what is wrong", () => {
  const ok = { topic: "T", body: "b", id: "x", born: 1 };
  assert.equal(checkMessage(ok).topic, "T");
  const cases: [unknown, string][] = [
    [5, ErrorCode.WRONG_TYPE],
    [{ ...ok, topic: undefined }, ErrorCode.MISSING_FIELD],
    [{ ...ok, topic: 5 }, ErrorCode.WRONG_TYPE],
    [{ ...ok, topic: "bad topic!" }, ErrorCode.BAD_REQUEST],
    [{ ...ok, body: 5 }, ErrorCode.WRONG_TYPE],
    [{ ...ok, keys: "k" }, ErrorCode.WRONG_TYPE],
    [{ ...ok, props: { a: 1 } }, ErrorCode.WRONG_TYPE],
    [{ ...ok, id: undefined }, ErrorCode.MISSING_FIELD],
  ];
  for (const [m, code] of cases) {
    try {
      checkMessage(m);
      assert.unreachable(`accepted ${JSON.stringify(m)}`);
    } catch (e) {
      assert.instance(e, BrokerError);
      assert.is((e as BrokerError).code, code);
    }
  }
});

test("tags codes are Java's String.hashCode, unsigned; subscriptions match on code and tag", () => {
  assert.is(tagsCode("TagA"), 2598919 >>> 0); // "TagA".hashCode() in Java
  assert.is(tagsCode(undefined), 0);
  const sub = parseSubscription("TagA || TagB");
  assert.ok(matchesCode(sub, tagsCode("TagB")));
  assert.not.ok(matchesCode(sub, tagsCode("TagC")));
  assert.ok(matchesTag(sub, "TagA"));
  assert.not.ok(matchesTag(sub, undefined));
  assert.ok(matchesTag(parseSubscription("*"), undefined));
  assert.throws(() => parseSubscription("A || "), (e: BrokerError) => e.code === ErrorCode.BAD_REQUEST);
});

test.run();
