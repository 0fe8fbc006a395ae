// Start-up progress of storage recovery on real files: a crash image with no checkpoint (so the
// whole CommitLog is CRC-checked and the consume queues are rebuilt from it) opened with the
// broker's progress printer: periodic "verified X of Y" lines that rise, then a final line per
// phase naming the whole log.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Clock } from "../platform/platform.ts";
import { recoveryProgress } from "../runtime/recovery-progress.ts";
import { bodyOf, copyDir, item, Sandbox } from "./helpers/storage-env.ts";

const cfg = { segmentSize: 64 * 1024, flushIntervalMs: 60_000, indexSlots: 256, indexEntries: 4096, cqEntriesPerFile: 256 };

test("recovery prints bytes verified of total, rising, then the total; and the re-dispatch phase", async () => {
  const sb = new Sandbox();
  try {
    const dir = sb.dir();
    const store = sb.open(dir, cfg);
    for (let i = 0; i < 400; i++) store.appendBatch([item("P", i % 4, { body: bodyOf(2000, i) }), item("P", (i + 1) % 4, { body: bodyOf(500, i) })]);
    const total = store.maxCommitLogOffset;
    assert.ok(total > 900_000);
    const image = sb.dir();
    copyDir(dir, image); // no flush, so no checkpoint: everything is verified and re-dispatched

    // A clock that moves 100 ms per reading: a slow disk, in effect, so periodic lines appear.
    let t = 0;
    const clock: Clock = { now: () => (t += 100), setTimeout: () => 0, clearTimeout: () => {} };
    const lines: string[] = [];
    const recovered = sb.open(image, cfg, { onProgress: recoveryProgress((l) => lines.push(l), clock, 250) });
    assert.is(recovered.maxCommitLogOffset, total);

    const verify = lines.filter((l) => l.includes("verified"));
    const periodic = verify.slice(0, -1).map((l) => {
      const m = /verified (\d+) bytes of [\d.]+ MiB \((\d+) bytes\) \((\d+)%\)/.exec(l) ?? /verified [\d.]+ MiB \((\d+) bytes\) of [\d.]+ MiB \((\d+) bytes\) \((\d+)%\)/.exec(l);
      assert.ok(m, `a progress line: ${l}`);
      assert.is(Number(m![2]), total);
      return Number(m![1]);
    });
    assert.ok(periodic.length >= 2, `several progress lines while verifying: ${verify.join(" | ")}`);
    for (let i = 1; i < periodic.length; i++) assert.ok(periodic[i] > periodic[i - 1], "progress rises");
    assert.ok(periodic.every((v) => v < total));
    assert.match(verify[verify.length - 1], new RegExp(`verified [\\d.]+ MiB \\(${total} bytes\\) of [\\d.]+ MiB \\(${total} bytes\\) in \\d+ ms`));
    const dispatch = lines.filter((l) => l.includes("re-dispatched"));
    assert.ok(dispatch.length >= 1);
    assert.match(dispatch[dispatch.length - 1], new RegExp(`re-dispatched to consume queues and the index [\\d.]+ MiB \\(${total} bytes\\) of [\\d.]+ MiB \\(${total} bytes\\) in`));
    // Nothing after each phase's final line for that phase.
    assert.is(lines.filter((l) => / in \d+ ms$/.test(l)).length, 2);
  } finally {
    await sb.cleanup();
  }
});

test.run();
