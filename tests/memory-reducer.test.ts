// The idle memory reducer's schedule, on a clock the test moves: nothing while traffic flows or
// before any; once a spell has been quiet for --idle-gc, the caches go once and a GC runs, then
// two more GCs at the same interval, and no more until traffic starts a new spell.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IDLE_ROUNDS, MemoryReducer } from "../runtime/services/memory-reducer.ts";
import { manualClock } from "./helpers/manual-clock.ts";

function setup(idleMs = 3000) {
  const clock = manualClock();
  const calls: string[] = [];
  let activity = 0;
  const reducer = new MemoryReducer({
    clock,
    activity: () => activity,
    releaseCaches: () => calls.push(`release@${clock.now()}`),
    collectGarbage: () => calls.push(`gc@${clock.now()}`),
    rss: () => 0,
    idleMs,
  });
  return { clock, calls, reducer, traffic: () => activity++ };
}

test("a broker that has had no traffic since it started gives nothing back", () => {
  const { clock, calls, reducer } = setup();
  reducer.start();
  clock.advance(60_000);
  assert.equal(calls, []);
  reducer.close();
  assert.is(clock.pending(), 0);
});

test("after traffic: caches once and a GC at 1, 2 and 3 idle intervals, then nothing", () => {
  const { clock, calls, reducer, traffic } = setup();
  reducer.start();
  clock.advance(500);
  traffic(); // seen at the tick at 1000 ms: the quiet spell starts there
  clock.advance(60_000);
  assert.equal(calls, ["release@4000", "gc@4000", "gc@7000", "gc@10000"]);
  assert.is(reducer.roundsRun, IDLE_ROUNDS);
  reducer.close();
});

test("traffic within a spell starts the count again, and a new spell runs its own rounds", () => {
  const { clock, calls, reducer, traffic } = setup();
  reducer.start();
  traffic();
  clock.advance(3500); // tick at 1000 sees it; quiet from there; at 4000 the first round is due
  traffic(); // ... but the tick at 4000 sees this instead
  clock.advance(1000);
  assert.equal(calls, []);
  // Busy every second for a while: no round.
  for (let i = 0; i < 10; i++) {
    traffic();
    clock.advance(1000);
  }
  assert.equal(calls, []);
  clock.advance(20_000);
  assert.equal(calls, ["release@17000", "gc@17000", "gc@20000", "gc@23000"]);
  traffic();
  clock.advance(20_000);
  assert.is(calls.length, 8, calls.join(" "));
  assert.is(calls[4], "release@38000"); // traffic at 34,500, seen at the tick at 35,000
  reducer.close();
});

test("--idle-gc 0 never arms a timer; without a GC the caches still go", () => {
  const off = setup(0);
  off.reducer.start();
  assert.is(off.clock.pending(), 0);
  const clock = manualClock();
  let released = 0;
  let activity = 0;
  const reducer = new MemoryReducer({ clock, activity: () => activity, releaseCaches: () => released++, rss: () => 0, idleMs: 500 });
  reducer.start();
  activity++;
  clock.advance(5000);
  assert.is(released, 1);
  assert.is(reducer.roundsRun, IDLE_ROUNDS);
  reducer.close();
});

test.run();
