// The transaction machine without sockets or files: its states, checks and due times on an
// injected clock, with the effects recorded; and the shard under the root (spawn, route, stop).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type AnyActorRef, createActor, fromTransition } from "xstate";
import { createBrokerMachine, type BrokerDeps } from "../actors/broker.machine.ts";
import { createTransactionMachine, type TxAction, type TxContext, type TxDeps } from "../actors/transaction.machine.ts";
import { txShardId, txShardOf } from "../actors/transactions.machine.ts";
import { decode, encode } from "../protocol/mod.ts";

function effects(max = 3) {
  let now = 1000;
  const armed: [string, number][] = [];
  const checks: number[] = [];
  const writes: TxAction[] = [];
  let producers = true;
  const deps: TxDeps = {
    now: () => now,
    checkIntervalMs: 100,
    maxChecks: max,
    armCheck: (id, at) => armed.push([id, at]),
    checkTransaction: (tx) => (checks.push(tx.checks + 1), producers),
    writeEnd: (_tx, action) => writes.push(action),
  };
  return { deps, armed, checks, writes, tick: (ms: number) => (now += ms), noProducers: () => (producers = false) };
}

const input = { id: "m1", group: "pg", halfOffset: 42, checkAt: 1500 };

/** The root's deps: the transactions' effects recorded, everything else inert. */
function rootDeps(tx: TxDeps): BrokerDeps {
  return {
    ...tx,
    snapshotIntervalMs: 1e9,
    snapshot: () => {},
    restartInput: () => ({}),
    releaseHolds: () => {},
    deliverDue: () => ({ progress: 0, dueAt: 0 }),
    timerTick: () => ({ cursor: 0, nextAt: 1e12 }),
    memberExpiryMs: 1e9,
    membersChanged: () => {},
  } as unknown as BrokerDeps;
}

/** A parent standing in for the shard: it records what its transactions send it. */
function recordingParent() {
  return createActor(fromTransition((got: string[], e: { type: string; id?: string }) => [...got, `${e.type} ${e.id}`], [] as string[])).start();
}

/** A transaction actor under a recording parent (an ended one tells its parent). */
function startTx(deps: TxDeps, opts: { input?: typeof input; snapshot?: unknown } = { input }) {
  const parent = recordingParent();
  const tx = createActor(createTransactionMachine(deps), { ...opts, parent: parent as AnyActorRef } as never).start();
  return { tx, told: () => parent.getSnapshot().context };
}

test("pending arms its check at the transaction timeout; END COMMIT writes the commit and ends", () => {
  const fx = effects();
  const { tx: a, told } = startTx(fx.deps);
  assert.is(a.getSnapshot().value, "pending");
  assert.equal(fx.armed, [["m1", 1500]]);
  assert.equal(told(), []);
  a.send({ type: "END", resolution: "COMMIT" });
  assert.is(a.getSnapshot().value, "committed");
  assert.equal(told(), [], "END always ends it: the shard stops it without being told");
  a.send({ type: "END", resolution: "ROLLBACK" }); // ended: ignored
  a.send({ type: "CHECK_DUE" });
  assert.equal(fx.writes, ["COMMIT"]);
  assert.is(a.getSnapshot().value, "committed");
});

test("END ROLLBACK writes only its op record", () => {
  const fx = effects();
  const { tx: a, told } = startTx(fx.deps);
  a.send({ type: "END", resolution: "ROLLBACK" });
  assert.is(a.getSnapshot().value, "rolledBack");
  assert.equal(fx.writes, ["ROLLBACK"]);
  assert.equal(told(), []);
});

test("CHECK_DUE before the due time does nothing; after it, checks every interval, counting, then discards after maxChecks", () => {
  const fx = effects(3);
  const { tx: a, told } = startTx(fx.deps);
  a.send({ type: "CHECK_DUE" }); // t=1000, due at 1500: an early wake-up
  assert.is(a.getSnapshot().value, "pending");
  assert.equal(fx.checks, []);
  fx.tick(500);
  a.send({ type: "CHECK_DUE" });
  assert.is(a.getSnapshot().value, "checking");
  assert.equal(a.getSnapshot().context.checks, 1);
  assert.equal(fx.armed.at(-1), ["m1", 1600]);
  a.send({ type: "CHECK_DUE" }); // a stale wake-up at 1500 again: not due
  assert.equal(fx.checks, [1]);
  fx.noProducers(); // unanswered checks count whether or not a producer was there (RocketMQ's way)
  for (let i = 0; i < 2; i++) {
    fx.tick(100);
    a.send({ type: "CHECK_DUE" });
  }
  assert.equal(fx.checks, [1, 2, 3]);
  assert.is(a.getSnapshot().context.checks, 3);
  fx.tick(100);
  a.send({ type: "CHECK_DUE" });
  assert.is(a.getSnapshot().value, "discarded");
  assert.equal(fx.writes, ["DISCARD"]);
  assert.equal(fx.checks.length, 3, "no fourth check");
  assert.equal(told(), ["TX_FINISHED m1"], "a transaction that ends by itself asks its shard to stop it");
});

test("a checked transaction still takes END; ENDED (from the op replay) ends it without writing", () => {
  const fx = effects();
  const { tx: a } = startTx(fx.deps);
  fx.tick(600);
  a.send({ type: "CHECK_DUE" });
  a.send({ type: "END", resolution: "COMMIT" });
  assert.is(a.getSnapshot().value, "committed");
  const { tx: b, told } = startTx(fx.deps, { input: { ...input, id: "m2" } });
  b.send({ type: "ENDED", action: "ROLLBACK" });
  assert.is(b.getSnapshot().value, "rolledBack");
  assert.equal(fx.writes, ["COMMIT"]);
  assert.equal(told(), []);
});

test("a restored snapshot (CBOR round trip) keeps its count and due time and re-arms from it on REARM", () => {
  const fx = effects();
  const { tx: a } = startTx(fx.deps);
  fx.tick(600);
  a.send({ type: "CHECK_DUE" }); // checks 1, next at 1700
  const snap = decode(encode(a.getPersistedSnapshot()));
  const fx2 = effects();
  const { tx: b } = startTx(fx2.deps, { snapshot: snap });
  assert.is(b.getSnapshot().value, "checking");
  assert.equal(b.getSnapshot().context, { id: "m1", group: "pg", halfOffset: 42, checks: 1, checkAt: 1700 } satisfies TxContext);
  assert.equal(fx2.armed, [], "restoring runs no entry action");
  b.send({ type: "REARM" });
  assert.equal(fx2.armed, [["m1", 1700]]);
  fx2.tick(700);
  b.send({ type: "CHECK_DUE" });
  assert.equal(fx2.checks, [2]);
  // A snapshot taken after the transaction ended but before its shard stopped it: REARM finishes it.
  a.send({ type: "END", resolution: "COMMIT" });
  const { tx: c, told } = startTx(effects().deps, { snapshot: decode(encode(a.getPersistedSnapshot())) });
  assert.is(c.getSnapshot().value, "committed");
  assert.equal(told(), []);
  c.send({ type: "REARM" });
  assert.equal(told(), ["TX_FINISHED m1"]);
});

test("the root spawns transactions under their shard, routes events by id, and a finished one is stopped", () => {
  const fx = effects();
  const deps = rootDeps(fx.deps);
  const root = createActor(createBrokerMachine(deps), { input: { brokerName: "b" } }).start();
  const ids = Array.from({ length: 50 }, (_, i) => `msg-${i}`);
  root.send({ type: "TX_BEGIN", txs: ids.map((id, i) => ({ id, group: "pg", halfOffset: i, checkAt: 2000 })) });
  root.send({ type: "TX_BEGIN", txs: [{ id: "msg-0", group: "pg", halfOffset: 999, checkAt: 2000 }] }); // a resent half: ignored
  const tx0 = root.system.get("tx:msg-0");
  assert.ok(tx0);
  assert.is(tx0.getSnapshot().context.halfOffset, 0);
  const shards = new Set(ids.map(txShardOf));
  assert.ok(shards.size > 1, "spread over shards");
  for (const s of shards) assert.ok(root.getSnapshot().children[txShardId(s)]);
  assert.is(fx.armed.length, 50);
  root.send({ type: "TX_DELIVER", events: [["msg-1", { type: "END", resolution: "COMMIT" }], ["nope", { type: "END", resolution: "COMMIT" }]] });
  assert.equal(fx.writes, ["COMMIT"]);
  assert.is(root.system.get("tx:msg-1"), undefined, "stopped and unregistered");
  const shard = root.getSnapshot().children[txShardId(txShardOf("msg-1"))]!;
  assert.not.ok((shard.getSnapshot() as { children: Record<string, unknown> }).children["tx:msg-1"]);
  // One that ends by itself (discarded after maxChecks unanswered checks) is stopped too.
  for (let i = 0; i <= 3; i++) {
    fx.tick(1000);
    root.send({ type: "TX_DELIVER", events: [["msg-3", { type: "CHECK_DUE" }]] });
  }
  assert.equal(fx.writes, ["COMMIT", "DISCARD"]);
  assert.is(root.system.get("tx:msg-3"), undefined, "discarded, stopped");
  // The whole tree, transactions included, survives a CBOR round trip and restores.
  const restored = createActor(createBrokerMachine(deps), { snapshot: decode(encode(root.getPersistedSnapshot())) as never }).start();
  assert.is(restored.system.get("tx:msg-2")?.getSnapshot().context.halfOffset, 2);
  assert.is(restored.system.get("tx:msg-1"), undefined);
  root.stop();
  restored.stop(); // the root's snapshot timer would keep the process alive
});

test("the shards see a fixed set of event types however many transactions end (no per-transaction done events)", () => {
  // XState memoizes a machine's transitions per event type for good: an event type per
  // transaction (a final child's xstate.done.actor.<id>) grew the shard's heap by 370 B each.
  const fx = effects();
  const types = new Set<string>();
  const deps = rootDeps(fx.deps);
  const root = createActor(createBrokerMachine(deps), {
    input: { brokerName: "b" },
    inspect: (e) => {
      if (e.type === "@xstate.event" && e.actorRef.id.startsWith("txs:")) types.add((e as { event: { type: string } }).event.type);
    },
  }).start();
  for (let round = 0; round < 20; round++) {
    const ids = Array.from({ length: 50 }, (_, i) => `r${round}-${i}`);
    root.send({ type: "TX_BEGIN", txs: ids.map((id) => ({ id, group: "pg", halfOffset: 0, checkAt: 2000 })) });
    root.send({ type: "TX_DELIVER", events: ids.map((id, i) => [id, { type: "END", resolution: i % 2 ? "COMMIT" : "ROLLBACK" }]) });
  }
  assert.is(fx.writes.length, 1000);
  assert.is(Object.values(root.getSnapshot().children).reduce((n, c) => n + Object.keys((c!.getSnapshot() as { children?: object }).children ?? {}).length, 0), 0, "all stopped");
  assert.ok(types.size <= 4, `shards saw ${types.size} event types: ${[...types].slice(0, 5).join(", ")}`);
  root.stop();
});

test.run();
