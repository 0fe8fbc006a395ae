// Delay levels without sockets or files: the delay-level machine and the root's handling of it
// on XState's SimulatedClock, with an in-memory schedule queue behind deliverDue; and the
// --delay-levels syntax.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor, SimulatedClock } from "xstate";
import { createBrokerMachine } from "../actors/broker.machine.ts";
import { createDelayMachine, type DelayDeps } from "../actors/delay.machine.ts";
import { decode, encode, SCHEDULE_TOPIC } from "../protocol/mod.ts";
import { DEFAULT_DELAY_LEVELS, parseConfig, parseDelayLevels } from "../runtime/config.ts";
import { brokerDeps } from "./helpers/broker-deps.ts";

/** A schedule queue in memory: due times in queue order, and what was delivered when. */
function fakeSchedule(clock: SimulatedClock) {
  const due: number[] = [];
  const delivered: { offset: number; at: number }[] = [];
  let calls = 0;
  const deliverDue: DelayDeps["deliverDue"] = (_level, progress) => {
    calls++;
    const now = clock.now();
    let p = progress;
    while (p < due.length && due[p] <= now) delivered.push({ offset: p++, at: now });
    return { progress: p, dueAt: p < due.length ? due[p] : 0 };
  };
  return { due, delivered, deliverDue, calls: () => calls };
}

function delayHarness(snapshot?: unknown, clock = new SimulatedClock(), schedule = fakeSchedule(clock)) {
  const machine = createDelayMachine({ now: () => clock.now(), deliverDue: schedule.deliverDue });
  const actor = createActor(machine, { clock, input: { level: 3, delayMs: 1000 }, ...(snapshot ? { snapshot: snapshot as never } : {}) }).start();
  return { clock, schedule, actor };
}

test("a level waits for its head, delivers it when due, never before, and goes idle when drained", () => {
  const { clock, schedule, actor } = delayHarness();
  assert.is(actor.getSnapshot().value, "idle");
  schedule.due.push(1000);
  actor.send({ type: "APPENDED", maxOffset: 1, lastStoreTimestamp: 0 });
  assert.is(actor.getSnapshot().value, "waiting");
  assert.equal(actor.getSnapshot().context, { level: 3, delayMs: 1000, progress: 0, dueAt: 1000 });
  clock.increment(999);
  assert.is(schedule.delivered.length, 0);
  clock.increment(1);
  assert.equal(schedule.delivered, [{ offset: 0, at: 1000 }]);
  assert.is(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().context, { level: 3, delayMs: 1000, progress: 1, dueAt: 0 });
});

test("queue order is delivery order; appends behind a waiting head cost no reads", () => {
  const { clock, schedule, actor } = delayHarness();
  schedule.due.push(1000, 1000, 1250);
  actor.send({ type: "APPENDED", maxOffset: 3, lastStoreTimestamp: 0 });
  const calls = schedule.calls();
  clock.increment(500);
  schedule.due.push(1500);
  actor.send({ type: "APPENDED", maxOffset: 4, lastStoreTimestamp: 500 });
  assert.is(schedule.calls(), calls, "the head is not due: APPENDED does nothing");
  clock.increment(500);
  assert.equal(schedule.delivered.map((d) => d.offset), [0, 1]);
  clock.increment(250);
  clock.increment(250);
  assert.equal(schedule.delivered, [{ offset: 0, at: 1000 }, { offset: 1, at: 1000 }, { offset: 2, at: 1250 }, { offset: 3, at: 1500 }]);
  for (const d of schedule.delivered) assert.ok(d.at >= schedule.due[d.offset], "never before due");
});

test("a restored level has no timer until REARM, which re-arms it from dueAt", () => {
  const clock = new SimulatedClock();
  const schedule = fakeSchedule(clock);
  const first = delayHarness(undefined, clock, schedule);
  schedule.due.push(5000, 6000);
  first.actor.send({ type: "APPENDED", maxOffset: 2, lastStoreTimestamp: 0 });
  clock.increment(1000);
  const persisted = decode(encode(first.actor.getPersistedSnapshot())); // what a snapshot file holds
  first.actor.stop();

  const restored = delayHarness(persisted, clock, schedule).actor;
  assert.is(restored.getSnapshot().value, "waiting");
  assert.is(restored.getSnapshot().context.dueAt, 5000);
  // XState restores no timer (statelyai/xstate#5331): without REARM this level would wait forever.
  restored.send({ type: "REARM" });
  clock.increment(3999);
  assert.is(schedule.delivered.length, 0);
  clock.increment(1);
  assert.equal(schedule.delivered, [{ offset: 0, at: 5000 }]);
  clock.increment(1000);
  assert.equal(schedule.delivered.map((d) => d.offset), [0, 1]);
  assert.equal(restored.getSnapshot().context, { level: 3, delayMs: 1000, progress: 2, dueAt: 0 });
});

test("CONFIGURE takes the CommitLog's progress over the snapshot's and delivers what fell due meanwhile", () => {
  const clock = new SimulatedClock();
  const schedule = fakeSchedule(clock);
  const first = delayHarness(undefined, clock, schedule);
  schedule.due.push(100, 200, 300, 5000);
  first.actor.send({ type: "APPENDED", maxOffset: 4, lastStoreTimestamp: 0 });
  clock.increment(150); // offset 0 delivered
  const persisted = decode(encode(first.actor.getPersistedSnapshot()));
  first.actor.stop();
  clock.increment(1000); // "down" while 1 and 2 fell due
  schedule.delivered.length = 0;
  const restored = delayHarness(persisted, clock, schedule).actor;
  restored.send({ type: "CONFIGURE", delayMs: 2000, progress: 1 });
  assert.equal(schedule.delivered.map((d) => d.offset), [1, 2], "due ones at once, from the logged progress");
  assert.equal(restored.getSnapshot().context, { level: 3, delayMs: 2000, progress: 3, dueAt: 5000 });
  clock.increment(3849);
  assert.is(schedule.delivered.length, 2);
  clock.increment(1);
  assert.equal(schedule.delivered.map((d) => d.offset), [1, 2, 3]);
});

test("REWIND goes back to a failed batch's start and retries at retryAt", () => {
  const { clock, schedule, actor } = delayHarness();
  schedule.due.push(10, 20);
  actor.send({ type: "APPENDED", maxOffset: 2, lastStoreTimestamp: 0 });
  clock.increment(20);
  assert.is(actor.getSnapshot().context.progress, 2);
  actor.send({ type: "REWIND", progress: 0, retryAt: 1020 });
  assert.equal(actor.getSnapshot().context, { level: 3, delayMs: 1000, progress: 0, dueAt: 1020 });
  clock.increment(999);
  assert.is(schedule.delivered.length, 2);
  clock.increment(1);
  assert.equal(schedule.delivered.map((d) => d.offset), [0, 1, 0, 1]);
});

function brokerHarness(deliverDue: DelayDeps["deliverDue"], snapshot?: unknown, clock = new SimulatedClock()) {
  const deps = brokerDeps({
    now: () => clock.now(),
    snapshotIntervalMs: 30_000,
    memberExpiryMs: 120_000,
    deliverDue,
    restartInput: (id) => ({ level: Number(id.split(":")[1]), delayMs: 100, progress: 7, dueAt: 0 }),
  });
  const actor = createActor(createBrokerMachine(deps), { clock, input: { brokerName: "b" }, ...(snapshot ? { snapshot: snapshot as never } : {}) }).start();
  return { actor, clock };
}

const levels = (n: number) => Array.from({ length: n }, (_, i) => ({ level: i + 1, delayMs: (i + 1) * 50 }));

test("the root spawns delay:<level> per level and forwards its schedule queue's APPENDED", () => {
  const calls: [number, number][] = [];
  const { actor } = brokerHarness((level, progress) => {
    calls.push([level, progress]);
    return { progress: progress + 1, dueAt: 0 };
  });
  actor.send({ type: "DELAY_LEVELS", levels: levels(18) });
  const ids = Object.keys(actor.getSnapshot().children).filter((id) => id.startsWith("delay:"));
  assert.is(ids.length, 18);
  for (let l = 1; l <= 18; l++) {
    const ctx = actor.system.get(`delay:${l}`)!.getSnapshot().context;
    assert.equal(ctx, { level: l, delayMs: l * 50, progress: 0, dueAt: 0 });
  }
  actor.send({ type: "CREATE_TOPIC", topic: SCHEDULE_TOPIC, queues: 18, perm: 6 });
  actor.send({ type: "CREATE_TOPIC", topic: "Other", queues: 1, perm: 6 });
  actor.send({ type: "APPEND_BATCH", queues: [[SCHEDULE_TOPIC, 4, 1, 0], ["Other", 0, 9, 0]] });
  assert.equal(calls, [[5, 0]], "queue 4 of the schedule topic is level 5's; other topics are not");
});

test("delay actors survive a snapshot: restored with their context, re-armed by REARM, reconfigured by DELAY_LEVELS", () => {
  const clock = new SimulatedClock();
  const delivered: number[] = [];
  const deliverDue: DelayDeps["deliverDue"] = (level, progress) => {
    const due = level === 2 ? [1000] : []; // only level 2 holds a message
    if (progress < due.length && due[progress] <= clock.now()) {
      delivered.push(level);
      return { progress: progress + 1, dueAt: 0 };
    }
    return { progress, dueAt: progress < due.length ? due[progress] : 0 };
  };
  const first = brokerHarness(deliverDue, undefined, clock).actor;
  first.send({ type: "DELAY_LEVELS", levels: levels(2) });
  first.send({ type: "CREATE_TOPIC", topic: SCHEDULE_TOPIC, queues: 2, perm: 6 });
  first.send({ type: "APPEND_BATCH", queues: [[SCHEDULE_TOPIC, 1, 1, 0]] });
  assert.is(first.system.get("delay:2")!.getSnapshot().context.dueAt, 1000);
  const persisted = decode(encode(first.getPersistedSnapshot()));
  first.stop();

  const restored = brokerHarness(deliverDue, persisted, clock).actor;
  assert.equal(restored.system.get("delay:2")!.getSnapshot().context, { level: 2, delayMs: 100, progress: 0, dueAt: 1000 });
  restored.send({ type: "REARM" });
  restored.send({ type: "DELAY_LEVELS", levels: [...levels(2), { level: 3, delayMs: 150 }] });
  assert.ok(restored.system.get("delay:3"), "a level added to the configuration is spawned");
  clock.increment(1000);
  assert.equal(delivered, [2]);
});

test("a delay actor whose effect throws is restarted from restartInput", () => {
  let fail = true;
  const { actor } = brokerHarness((_level, progress) => {
    if (fail) throw new Error("boom");
    return { progress, dueAt: 0 };
  });
  actor.send({ type: "DELAY_LEVELS", levels: levels(1) });
  actor.send({ type: "CREATE_TOPIC", topic: SCHEDULE_TOPIC, queues: 1, perm: 6 });
  actor.send({ type: "APPEND_BATCH", queues: [[SCHEDULE_TOPIC, 0, 1, 0]] });
  assert.is(actor.getSnapshot().context.restarts["delay:1"], 1);
  const child = actor.system.get("delay:1")!;
  assert.is(child.getSnapshot().status, "active");
  assert.is(child.getSnapshot().context.progress, 7);
  fail = false;
});

test("delay levels parse RocketMQ's messageDelayLevel syntax, plus ms", () => {
  assert.equal(parseDelayLevels("100ms 1s 2m 1h 1d"), [100, 1000, 120_000, 3_600_000, 86_400_000]);
  const rocketmq = parseDelayLevels(DEFAULT_DELAY_LEVELS);
  assert.is(rocketmq.length, 18);
  assert.is(rocketmq[2], 10_000);
  assert.is(rocketmq[17], 7_200_000);
  assert.throws(() => parseDelayLevels("1s 5x"), /expected 1\.\.1024 delays .*got "1s 5x"/);
  assert.throws(() => parseDelayLevels("0s"), /got "0s"/);
  assert.throws(() => parseDelayLevels("  "), /1\.\.1024/);
  assert.equal(parseConfig(["--delay-levels", "1s 2s"], () => "")!.delayLevels, [1000, 2000]);
  assert.equal(parseConfig(["--config", "c.json"], () => '{"delayLevels": "3s 4m"}')!.delayLevels, [3000, 240_000]);
  assert.is(parseConfig([], () => "")!.delayLevels.length, 18);
});

test.run();
