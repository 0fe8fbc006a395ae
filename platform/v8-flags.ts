// V8 flags for a broker process (set by runtime/main.ts on Node; deno.json's start task passes
// them to Deno, which takes V8 flags only on its command line). BROKER_LAUNCH_FLAGS, below, are
// the ones V8 reads only when it makes the heap, so only a command line sets them.
//
// --no-allocation-site-pretenuring. V8 allocates objects from an allocation site straight into
// the old generation once enough of them survive a scavenge. A transaction actor lives a few
// milliseconds, long enough to trip that for XState's Actor objects; then every Actor, dead
// or alive, holds its young snapshot, mailbox and closures through each scavenge until the next
// full GC (scavenges took 4 times as long, and the old generation filled with dead actors).
// Measured with it off: an actor's spawn, END and stop 48 → 28 µs of CPU in process; the
// broker's CPU per committed transaction about 10 % lower; plain produce, consume and timed
// messages the same within the machine's noise (bench/RESULTS.md, "Transactions").
//
// --expose-gc. An idle broker gives memory back with a full GC (runtime/services/memory-reducer.ts).
export const BROKER_V8_FLAGS: readonly string[] = ["--no-allocation-site-pretenuring", "--expose-gc"];

// --max-semi-space-size=4 (MB). Under a burst of sends V8 grows each of the young generation's
// two semi-spaces to 16 MB and keeps them until an idle broker's GCs shrink them: 20,000 pending
// delayed messages cost 1,313-2,399 B each with the default, 641-867 B with 4 MB; publish,
// consume, fan-out, latency and broker CPU the same through the noise (bench/RESULTS.md,
// session 11). `npm start`, the actormq bin (its launcher line, scripts/build.mjs), deno.json's
// start task and the units in docs/DEPLOY.md pass it; set at run time it changes nothing.
export const BROKER_LAUNCH_FLAGS: readonly string[] = ["--max-semi-space-size=4"];
