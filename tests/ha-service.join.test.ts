// A slave out of the SyncStateSet rejoins while the master keeps writing. The master's HAService
// on a real store, with a slave that is always one append behind (as a live slave under constant
// writes is: the master appends again before its acknowledgement arrives). Under async it joins
// once it is caught up within --ha-max-lag-ms; under sync it must also hold the confirmed offset,
// and confirmation waits for it meanwhile so that it can. Before either rule, the confirmed offset
// (the log's end) was never reached when a tick looked, and the slave stayed out for good.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "../protocol/mod.ts";
import { HAService } from "../runtime/ha/ha-service.ts";
import type { ReplicaHost } from "../runtime/ha/replica-host.ts";
import type { Session } from "../runtime/session.ts";
import type { GroupState } from "../runtime/controller/group-state.ts";
import { item, Sandbox } from "./helpers/storage-env.ts";

const SEG = 64 * 1024;
const small = { segmentSize: SEG, flushIntervalMs: 60_000, indexSlots: 1024, indexEntries: 4096, cqEntriesPerFile: 64 };

for (const mode of ["async", "sync"] as const) {
  test(`${mode}: a slave one append behind under constant writes rejoins the set`, async () => {
    const sb = new Sandbox();
    let ha: HAService | undefined;
    try {
      const store = sb.open(sb.dir(), small);
      const host = {
        platform: { afterTurn: (f: () => void) => queueMicrotask(f) },
        config: { brokerName: "g", segmentSize: SEG, syncFlushTimeoutMs: 5000 },
        store,
        topics: { all: () => ({}) },
        timer: { cursor: 0 },
        address: "master",
        send() {},
      } as unknown as ReplicaHost;
      let acked = 0;
      const proposals: { set: number[]; acked: number; confirmed: number }[] = [];
      ha = new HAService(host, {
        brokerId: 0,
        mode,
        minInSync: 1,
        maxLagMs: 200,
        state: { brokerName: "g", masterId: 0, masterAddress: "master", masterEpoch: 1, syncStateSet: [0], syncStateSetEpoch: 1 },
        epochs: () => [{ epoch: 1, startOffset: 0 }],
        alterSyncStateSet: (s: GroupState, set: number[]) => {
          proposals.push({ set, acked, confirmed: ha!.confirmOffset });
          return Promise.resolve({ ...s, syncStateSet: set, syncStateSetEpoch: s.syncStateSetEpoch + 1 });
        },
        changed() {},
        log() {},
      });
      // The slave: every haData frame it is sent, by where it ends.
      const ends: number[] = [];
      const conn = {
        id: "slave-2",
        open: true,
        bufferedAmount: 0,
        replyEncoded(frame: Uint8Array) {
          const f = decode(frame) as { offset: number; data: Uint8Array };
          if (f.data.length > 0) ends.push(f.offset + f.data.length);
        },
        push() {},
      } as unknown as Session;
      ha.handshake(conn, { id: 1, op: "haHandshake", brokerName: "g", brokerId: 2, address: "slave-2", maxOffset: 0, segmentSize: SEG, epochs: [[1, 0]] });

      const deadline = Date.now() + 5000;
      for (let i = 0; !ha.state.syncStateSet.includes(2); i++) {
        assert.ok(Date.now() < deadline, `slave 2 still out of the set after 5 s (acked ${acked}, confirmed ${ha.confirmOffset}, end ${store.maxCommitLogOffset})`);
        store.appendBatch([item("T", 0, { body: `m${i}` })]);
        ha.appended();
        // It acknowledges what it was sent before this append: never the log's end.
        const upTo = ends.filter((e) => e < store.maxCommitLogOffset).at(-1);
        if (upTo !== undefined && upTo > acked) ha.ack(conn, (acked = upTo));
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(proposals.at(-1)!.set, [0, 2]);
      assert.ok(acked < store.maxCommitLogOffset, "the slave was behind the log's end when it joined");
      // Under sync, a member never lacks what is confirmed: it joined holding it.
      if (mode === "sync") assert.ok(proposals.at(-1)!.acked >= proposals.at(-1)!.confirmed, `joined at ${proposals.at(-1)!.acked} < confirmed ${proposals.at(-1)!.confirmed}`);
    } finally {
      ha?.close();
      await sb.cleanup();
    }
  });
}

test.run();
