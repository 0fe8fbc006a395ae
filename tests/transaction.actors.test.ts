// The transaction machine without sockets or files: its states, checks and due times on an
// injected clock, with the effects recorded; and the transactions actor under the root (spawn,
// route, stop, supervise, persist).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type AnyActorRef, createActor, fromTransition, initialTransition, transition } from "xstate";
import { createBrokerMachine, type BrokerDeps } from "../actors/broker.machine.ts";
import { createTransactionMachine, type EndOutcome, type TxAction, type TxContext, type TxDeps, type TxResolution } from "../actors/transaction.machine.ts";
import { mergeTransactionShards, TX_REGISTRY_ID } from "../actors/transactions.logic.ts";
import { decode, encode } from "../protocol/mod.ts";
import { brokerDeps } from "./helpers/broker-deps.ts";

function effects(max = 3) {
  let now = 1000;
  const armed: [string, number][] = [];
  const checks: number[] = [];
  const writes: TxAction[] = [];
  const answers: [string, EndOutcome][] = [];
  let producers = true;
  const deps: TxDeps = {
    now: () => now,
    checkIntervalMs: 100,
    maxChecks: max,
    armCheck: (id, at) => armed.push([id, at]),
    checkTransaction: (tx) => (checks.push(tx.checks + 1), producers),
    writeEnd: (_tx, action) => writes.push(action),
    notInFlight: (id) => answers.push([id, { state: "NOT_IN_FLIGHT" }]),
  };
  /** An END of producer group pg (or another), its answer recorded under `label`. */
  const end = (resolution: TxResolution | "UNKNOWN", label: string = resolution, group = "pg") =>
    ({ type: "END", resolution, group, answer: (o: EndOutcome) => answers.push([label, o]) }) as const;
  return { deps, armed, checks, writes, answers, end, tick: (ms: number) => (now += ms), noProducers: () => (producers = false) };
}

const input = { id: "m1", group: "pg", halfOffset: 42, checkAt: 1500 };

/** The root's deps: the transactions' effects recorded, everything else inert. */
function rootDeps(tx: TxDeps): BrokerDeps {
  return brokerDeps(tx);
}

/** A parent standing in for the transactions actor: it records what its transactions send it. */
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
  a.send(fx.end("COMMIT"));
  assert.is(a.getSnapshot().value, "committed");
  assert.equal(told(), ["TX_FINISHED m1"], "an ended transaction asks its parent to stop it");
  a.send(fx.end("ROLLBACK")); // ended: it waits for the write (the broker joins it), writes nothing
  a.send({ type: "CHECK_DUE" });
  assert.equal(fx.writes, ["COMMIT"]);
  assert.is(a.getSnapshot().value, "committed");
  assert.equal(fx.answers, [["m1", { state: "NOT_IN_FLIGHT" }]], "the late END is handed to the broker");
});

test("END UNKNOWN is answered IN_FLIGHT, an END of another producer group is refused; neither ends it", () => {
  const fx = effects();
  const { tx: a, told } = startTx(fx.deps);
  a.send(fx.end("UNKNOWN"));
  a.send(fx.end("COMMIT", "other", "someone-else"));
  assert.is(a.getSnapshot().value, "pending");
  assert.equal(fx.answers, [["UNKNOWN", { state: "IN_FLIGHT" }], ["other", { belongsTo: "pg" }]]);
  assert.equal(fx.writes, []);
  assert.equal(told(), []);
});

test("pure transitions: CHECK_DUE when due moves the count and due time, and leaves the push and the re-arm as actions to run", () => {
  const fx = effects();
  const machine = createTransactionMachine(fx.deps);
  const [start, entry] = initialTransition(machine, input);
  assert.equal(entry.map((a) => a.type), ["arm"]);
  fx.tick(600);
  const [next, actions] = transition(machine, start, { type: "CHECK_DUE" });
  assert.is(next.value, "checking");
  assert.equal(next.context, { ...input, checks: 1, checkAt: 1700 } satisfies TxContext);
  assert.equal(actions.map((a) => a.type), ["pushCheck", "arm"], "the effects, in order; the count is an assign, already applied");
  assert.equal([fx.checks, fx.armed], [[], []], "a pure transition runs no effect");
  const [same, asked] = transition(machine, next, fx.end("UNKNOWN"));
  assert.is(same, next, "UNKNOWN changes nothing");
  assert.equal(asked.map((a) => a.type), ["stillInFlight"]);
  assert.equal(fx.answers, [], "and answers only when the action runs");
});

test("END ROLLBACK writes only its op record", () => {
  const fx = effects();
  const { tx: a, told } = startTx(fx.deps);
  a.send(fx.end("ROLLBACK"));
  assert.is(a.getSnapshot().value, "rolledBack");
  assert.equal(fx.writes, ["ROLLBACK"]);
  assert.equal(told(), ["TX_FINISHED m1"]);
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
  assert.equal(told(), ["TX_FINISHED m1"], "a transaction that ends by itself asks its parent to stop it");
});

test("a checked transaction still takes END; ENDED (from the op replay) ends it without writing", () => {
  const fx = effects();
  const { tx: a } = startTx(fx.deps);
  fx.tick(600);
  a.send({ type: "CHECK_DUE" });
  a.send(fx.end("COMMIT"));
  assert.is(a.getSnapshot().value, "committed");
  const { tx: b, told } = startTx(fx.deps, { input: { ...input, id: "m2" } });
  b.send({ type: "ENDED", action: "ROLLBACK" });
  assert.is(b.getSnapshot().value, "rolledBack");
  assert.equal(fx.writes, ["COMMIT"]);
  assert.equal(told(), ["TX_FINISHED m2"]);
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
  // A snapshot taken after the transaction ended but before its parent stopped it: REARM finishes it.
  a.send(fx.end("COMMIT"));
  const { tx: c, told } = startTx(effects().deps, { snapshot: decode(encode(a.getPersistedSnapshot())) });
  assert.is(c.getSnapshot().value, "committed");
  assert.equal(told(), []);
  c.send({ type: "REARM" });
  assert.equal(told(), ["TX_FINISHED m1"]);
});

test("the root spawns transactions under the transactions actor, routes events by id, and a finished one is stopped", () => {
  const fx = effects();
  const deps = rootDeps(fx.deps);
  const root = createActor(createBrokerMachine(deps), { input: { brokerName: "b" } }).start();
  const ids = Array.from({ length: 50 }, (_, i) => `msg-${i}`);
  root.send({ type: "TX_BEGIN", txs: ids.map((id, i) => ({ id, group: "pg", halfOffset: i, checkAt: 2000 })) });
  root.send({ type: "TX_BEGIN", txs: [{ id: "msg-0", group: "pg", halfOffset: 999, checkAt: 2000 }] }); // a resent half: ignored
  const tx0 = root.system.get("tx:msg-0");
  assert.ok(tx0);
  assert.is(tx0.getSnapshot().context.halfOffset, 0);
  const registry = root.getSnapshot().children[TX_REGISTRY_ID]!;
  const inFlight = () => Object.keys((registry.getSnapshot() as { children: Record<string, unknown> }).children);
  assert.is(inFlight().length, 50);
  assert.is((tx0 as unknown as { _parent: unknown })._parent, registry);
  assert.is(fx.armed.length, 50);
  root.send({ type: "TX_DELIVER", events: [["msg-1", fx.end("COMMIT")], ["nope", fx.end("COMMIT")]] });
  assert.equal(fx.writes, ["COMMIT"]);
  assert.equal(fx.answers, [["nope", { state: "NOT_IN_FLIGHT" }]], "an END for a transaction not in flight is answered so");
  assert.is(root.system.get("tx:msg-1"), undefined, "stopped and unregistered");
  assert.not.ok(inFlight().includes("tx:msg-1"));
  // One that ends by itself (discarded after maxChecks unanswered checks) is stopped too.
  for (let i = 0; i <= 3; i++) {
    fx.tick(1000);
    root.send({ type: "TX_DELIVER", events: [["msg-3", { type: "CHECK_DUE" }]] });
  }
  assert.equal(fx.writes, ["COMMIT", "DISCARD"]);
  assert.is(root.system.get("tx:msg-3"), undefined, "discarded, stopped");
  // The whole tree, transactions included, survives a CBOR round trip and restores.
  const restored = createActor(createBrokerMachine(deps), { input: { brokerName: "b" }, snapshot: decode(encode(root.getPersistedSnapshot())) as never }).start();
  assert.is(restored.system.get("tx:msg-2")?.getSnapshot().context.halfOffset, 2);
  assert.is(restored.system.get("tx:msg-1"), undefined);
  assert.is(Object.keys((restored.getSnapshot().children[TX_REGISTRY_ID]!.getSnapshot() as { children: object }).children).length, 48);
  root.stop();
  restored.stop(); // the root's snapshot timer would keep the process alive
});

test("the transactions actor sees a fixed set of event types however many transactions end (no per-transaction done events)", () => {
  // XState memoizes a machine's transitions per event type for good: an event type per
  // transaction (a final child's xstate.done.actor.<id>) grew the parent's heap by 370 B each.
  const fx = effects();
  const types = new Set<string>();
  const deps = rootDeps(fx.deps);
  const root = createActor(createBrokerMachine(deps), {
    input: { brokerName: "b" },
    inspect: (e) => {
      if (e.type === "@xstate.event" && (e.actorRef as { id?: string }).id === TX_REGISTRY_ID) types.add((e as { event: { type: string } }).event.type);
    },
  }).start();
  for (let round = 0; round < 20; round++) {
    const ids = Array.from({ length: 50 }, (_, i) => `r${round}-${i}`);
    root.send({ type: "TX_BEGIN", txs: ids.map((id) => ({ id, group: "pg", halfOffset: 0, checkAt: 2000 })) });
    root.send({ type: "TX_DELIVER", events: ids.map((id, i) => [id, fx.end(i % 2 ? "COMMIT" : "ROLLBACK")]) });
  }
  assert.is(fx.writes.length, 1000);
  assert.is(Object.values(root.getSnapshot().children).reduce((n, c) => n + Object.keys((c!.getSnapshot() as { children?: object }).children ?? {}).length, 0), 0, "all stopped");
  assert.ok(types.size <= 4, `txs saw ${types.size} event types: ${[...types].slice(0, 5).join(", ")}`);
  root.stop();
});

test("a transaction whose effect throws is restarted from its context, due after a check interval", () => {
  const fx = effects();
  let fail = true;
  const deps = rootDeps({ ...fx.deps, checkTransaction: (tx) => {
    if (fail) throw new Error("disk on fire");
    return fx.deps.checkTransaction(tx);
  } });
  const root = createActor(createBrokerMachine(deps), { input: { brokerName: "b" } }).start();
  root.send({ type: "TX_BEGIN", txs: [{ id: "m", group: "pg", halfOffset: 7, checkAt: 1500 }] });
  const first = root.system.get("tx:m");
  fx.tick(600);
  root.send({ type: "TX_DELIVER", events: [["m", { type: "CHECK_DUE" }]] });
  const again = root.system.get("tx:m");
  assert.ok(again && again !== first, "a new actor under the same id");
  assert.is(again.getSnapshot().value, "pending");
  assert.is(again.getSnapshot().context.halfOffset, 7);
  assert.is(again.getSnapshot().context.checkAt, 1700, "now + the check interval");
  assert.equal(fx.armed.at(-1), ["m", 1700]);
  assert.is(root.getSnapshot().context.restarts[TX_REGISTRY_ID], undefined, "the transactions actor itself did not fail");
  fail = false;
  fx.tick(200);
  root.send({ type: "TX_DELIVER", events: [["m", { type: "CHECK_DUE" }]] });
  assert.equal(fx.checks, [1]);
  root.stop();
  assert.is(again.getSnapshot().status, "stopped", "stopping the root stops the transactions");
});

test("a snapshot from the 64 machine shards (txs:<n>) restores its transactions under txs", () => {
  const fx = effects();
  const deps = rootDeps(fx.deps);
  const tx = createActor(createTransactionMachine(fx.deps), { input: { id: "old", group: "pg", halfOffset: 3, checkAt: 1500 } }).start();
  const shard = (n: number, children: Record<string, unknown>) => ({ snapshot: { status: "active", value: {}, context: { shard: n }, children, historyValue: {} }, src: "txShard", systemId: `txs:${n}` });
  const persisted = decode(encode(createActor(createBrokerMachine(deps), { input: { brokerName: "b" } }).getPersistedSnapshot())) as { children: Record<string, unknown> };
  persisted.children["txs:5"] = shard(5, { "tx:old": { snapshot: tx.getPersistedSnapshot(), src: "tx", systemId: "tx:old" } });
  persisted.children["txs:9"] = shard(9, {});
  mergeTransactionShards(persisted as never);
  assert.equal(Object.keys(persisted.children).filter((id) => id.startsWith("txs")), [TX_REGISTRY_ID]);
  const root = createActor(createBrokerMachine(deps), { input: { brokerName: "b" }, snapshot: persisted as never }).start();
  assert.is(root.system.get("tx:old")?.getSnapshot().context.halfOffset, 3);
  root.send({ type: "TX_DELIVER", events: [["old", fx.end("ROLLBACK")]] });
  assert.equal(fx.writes, ["ROLLBACK"]);
  assert.is(root.system.get("tx:old"), undefined);
  root.stop();
  tx.stop();
});

test.run();
