// The POP service's turns (one step of a group at a time, each asking the group's actors for
// their state first) must not stall a group for good when an actor never answers — it failed
// and is being restarted, or the broker is closing. The service is driven here through its
// seams alone, with a clock the test moves and a group owner that never answers: the e2e tests
// (e2e.pop, e2e.rocketmq-consumer) cover the path where the actors do answer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PopService, type PopServiceDeps } from "../runtime/services/pop-service.ts";
import type { SubscriptionGroups } from "../runtime/services/subscription-groups.ts";
import { ErrorCode, type BrokerError } from "../protocol/mod.ts";
import { PERM_RW } from "../actors/broker.machine.ts";
import { manualClock } from "./helpers/manual-clock.ts";

test("a step whose group never answers is given up after its timeout: its receive gets a named error, the group's next step goes on, a late answer runs nothing", async () => {
  const clock = manualClock();
  const asked: ((view: undefined) => void)[] = [];
  const deps = {
    clock,
    maxPollMs: 30_000,
    topics: { forRead: () => ({ perm: PERM_RW }), get: () => ({ queues: 1, perm: PERM_RW }), create: () => {} },
    timer: { ensureTopic: () => {} },
    groups: { view: (_group: string, reply: (view: undefined) => void) => void asked.push(reply) },
  } as unknown as PopServiceDeps;
  const groups = { get: () => ({ orderly: false }) } as unknown as SubscriptionGroups;
  const pop = new PopService(deps, groups);

  const answers: { n: number; err?: BrokerError }[] = [];
  const receive = (n: number) => pop.receive({ group: "g", topic: "T", maxCount: 1, invisibleMs: 30_000, expression: "*", pollMs: 0 }, (err) => answers.push({ n, err }));
  receive(1);
  receive(2); // waits for the first's turn
  assert.is(asked.length, 1, "one step of a group at a time");

  clock.advance(9_999);
  assert.equal(answers, [], "not given up before its timeout");
  clock.advance(1);
  assert.is(answers.length, 1);
  assert.is(answers[0].n, 1);
  assert.is(answers[0].err?.code, ErrorCode.INTERNAL_ERROR);
  assert.match(answers[0].err!.message, /did not answer/);
  assert.is(asked.length, 2, "the group's next step asked in its turn");

  asked[0](undefined); // the first answer, late: its step was given up
  await new Promise((r) => setTimeout(r, 0));
  assert.is(answers.length, 1, "a late answer runs nothing and answers nothing twice");

  clock.advance(10_000);
  assert.is(answers.length, 2);
  assert.is(answers[1].n, 2);
  assert.is(clock.pending(), 0, "no watchdog left behind");
});

test.run();
