// TimerLog + TimerWheel on real files: entries link per slot, a second's walk takes only its
// own entries (not a later rotation's), and everything, cursor included, survives a reopen; the
// log's segments roll, and retention deletes those whose every timer was delivered.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TIMER_ENTRY_SIZE, TimerLog } from "../storage/timer-log.ts";
import { SLOT_SIZE, TimerStore, TimerWheel } from "../storage/timer-wheel.ts";
import { files, tempDir } from "./helpers/storage-env.ts";

test("timer log: fixed entries, links from 1, reopen keeps them and drops a torn tail", () => {
  const dir = tempDir();
  try {
    const log = new TimerLog(files, `${dir.path}/log`);
    assert.is(log.appendMany([{ commitLogOffset: 2 ** 40, size: 123, deliverAt: 1_700_000_000_123, prev: 0 }]), 1);
    assert.is(log.appendMany([{ commitLogOffset: 7, size: 1, deliverAt: 5, prev: 1 }]), 2);
    assert.equal(log.read(1), { commitLogOffset: 2 ** 40, size: 123, deliverAt: 1_700_000_000_123, prev: 0 });
    assert.is(log.read(0), null);
    assert.is(log.read(3), null);
    log.close();
    const h = files.open(`${dir.path}/log/00000000000000000001`);
    h.write(new Uint8Array(10), 2 * TIMER_ENTRY_SIZE); // a torn third entry
    h.close();
    const again = new TimerLog(files, `${dir.path}/log`);
    assert.is(again.length, 2);
    assert.equal(again.read(2), { commitLogOffset: 7, size: 1, deliverAt: 5, prev: 1 });
    again.markDelivered(2, 1);
    assert.equal(again.read(2), { commitLogOffset: 7, size: 1, deliverAt: 5, prev: 1, delivered: true });
    again.close();
  } finally {
    dir.remove();
  }
});

test("timer log segments: rolled by entry count, delivered ones deleted (never the last), links kept across a reopen; an old single file adopted", () => {
  const dir = tempDir();
  try {
    const entry = (i: number) => ({ commitLogOffset: 1000 + i, size: 10, deliverAt: 5000 + i, prev: 0 });
    const log = new TimerLog(files, `${dir.path}/log`, 4);
    for (let i = 0; i < 10; i += 2) log.appendMany([entry(i), entry(i + 1)]);
    assert.equal(files.list(`${dir.path}/log`), ["00000000000000000001", "00000000000000000005", "00000000000000000009"]);
    assert.is(log.length, 10);
    assert.is(log.dropDelivered(), 0, "nothing delivered, nothing deleted");
    for (let link = 1; link <= 6; link++) log.markDelivered(link, 10);
    assert.is(log.firstPending()!.commitLogOffset, 1006);
    assert.is(log.dropDelivered(), 4 * TIMER_ENTRY_SIZE, "the first segment only: the second still holds pending timers");
    assert.equal(files.list(`${dir.path}/log`), ["00000000000000000005", "00000000000000000009"]);
    assert.is(log.read(2), null, "a deleted entry reads as none");
    assert.equal(log.read(7), entry(6));
    assert.is(log.appendMany([entry(10)]), 11, "links go on counting");
    log.close();
    const again = new TimerLog(files, `${dir.path}/log`, 4);
    assert.is(again.length, 11);
    assert.equal(again.read(11), entry(10));
    assert.is(again.firstPending()!.commitLogOffset, 1006);
    for (let link = 7; link <= 11; link++) again.markDelivered(link, 10);
    again.dropDelivered();
    assert.equal(files.list(`${dir.path}/log`), ["00000000000000000009"], "the segment written to stays");
    again.close();

    // An older data directory: the log was one file; it becomes the first segment.
    const old = `${dir.path}/old-log`;
    const legacy = files.open(old);
    const bytes = new Uint8Array(TIMER_ENTRY_SIZE);
    new DataView(bytes.buffer).setUint32(8, 77);
    legacy.write(bytes, 0);
    legacy.close();
    const adopted = new TimerLog(files, old);
    assert.is(adopted.length, 1);
    assert.is(adopted.read(1)!.size, 77);
    assert.equal(files.list(old), ["00000000000000000001"]);
    adopted.close();
  } finally {
    dir.remove();
  }
});

test("timer wheel: 7 days of seconds by default, slot = second mod slots, cursor persisted", () => {
  const dir = tempDir();
  try {
    const slots = TimerWheel.slotsFor(7 * 86_400_000);
    assert.ok(slots >= 604_800);
    const w = new TimerWheel(files, `${dir.path}/wheel`, slots);
    assert.is(files.stat(`${dir.path}/wheel`)!.size, 24 + slots * SLOT_SIZE);
    assert.is(w.cursor, -1);
    assert.ok(w.fresh);
    w.linked = 42;
    w.set(5, { head: 9, count: 2 });
    assert.equal(w.get(5 + slots), { head: 9, count: 2 });
    w.cursor = 1_700_000_000;
    w.close();
    const again = new TimerWheel(files, `${dir.path}/wheel`, slots);
    assert.is(again.cursor, 1_700_000_000);
    assert.is(again.linked, 42);
    assert.not.ok(again.fresh);
    assert.equal(again.get(5), { head: 9, count: 2 });
    again.close();
    // Another size starts with empty slots rather than misreading them, and keeps the cursor.
    const other = new TimerWheel(files, `${dir.path}/wheel`, 100);
    assert.ok(other.fresh);
    assert.is(other.cursor, 1_700_000_000);
    assert.is(other.linked, 0);
    assert.equal(other.get(5), { head: 0, count: 0 });
    other.close();
  } finally {
    dir.remove();
  }
});

test("timer store: a second's entries, not its neighbours' nor a later rotation's; reopen", () => {
  const dir = tempDir();
  try {
    const maxDelay = 10_000;
    const store = new TimerStore(files, dir.path, maxDelay);
    const slots = store.wheel.slots;
    const base = 1_700_000_000;
    const entry = (commitLogOffset: number, size: number, deliverAt: number) => ({ commitLogOffset, size, deliverAt });
    assert.equal(store.addMany([entry(100, 10, base * 1000 + 5)]), [1]);
    // One batch: a second's second entry, a neighbour, and the same slot a rotation later, all
    // linked behind what the batch itself wrote before them.
    assert.equal(store.addMany([
      entry(200, 20, base * 1000 + 999),
      entry(300, 30, (base + 1) * 1000),
      entry(400, 40, (base + slots) * 1000 + 1),
    ]), [2, 3, 4]);
    assert.is(store.log.read(4)!.prev, 2, "the rotation's entry links behind the batch's own entry of that slot");
    assert.equal(store.entriesOf(base).map((e) => e.commitLogOffset).sort(), [100, 200]);
    assert.equal(store.entriesOf(base + 1).map((e) => e.commitLogOffset), [300]);
    assert.equal(store.entriesOf(base + slots).map((e) => e.commitLogOffset), [400]);
    assert.equal(store.entriesOf(base + 2), []);
    assert.is(store.wheel.get(base).count, 3);
    store.wheel.cursor = base - 1;
    store.close();
    const again = new TimerStore(files, dir.path, maxDelay);
    assert.is(again.wheel.cursor, base - 1);
    assert.equal(again.entriesOf(base).map((e) => e.deliverAt).sort(), [base * 1000 + 5, base * 1000 + 999]);
    again.close();
  } finally {
    dir.remove();
  }
});

test.run();
