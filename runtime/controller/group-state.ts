// What a controller keeps per broker group, and what every party exchanges: the group's master,
// its epoch, and the SyncStateSet (RocketMQ 5's names). Plain data, JSON in etcd, CBOR on the wire.

/** One broker group's replication state, changed only by compare-and-set. */
export interface GroupState {
  brokerName: string;
  /** The master's broker id; -1: the group has no master (none of its in-sync members is alive). */
  masterId: number;
  /** The master's advertised ws:// address; "" without a master. */
  masterAddress: string;
  /** Grows by one at every election: a replica's data of an older epoch may be cut back. */
  masterEpoch: number;
  /** The members known to hold every acknowledged message, the master included: only they may be elected. */
  syncStateSet: number[];
  /** Grows by one at every change of the set (and at every election). */
  syncStateSetEpoch: number;
  /** The session (one per process) of the master as elected: a heartbeat of its id from another session is a restarted master. */
  masterSession?: string;
}

/** What a broker says in each heartbeat (and what its member key in etcd holds). */
export interface MemberReport {
  brokerName: string;
  brokerId: number;
  address: string;
  /** Its CommitLog's end and the epoch of its last epoch entry: the election prefers the largest. */
  maxOffset: number;
  epoch: number;
  /** Names this process (random at its start): a master that restarted is not master again without an election. */
  session: string;
}

export function isGroupState(v: unknown): v is GroupState {
  const s = v as GroupState | null;
  return s !== null && typeof s === "object" && typeof s.brokerName === "string" && Number.isInteger(s.masterId) &&
    typeof s.masterAddress === "string" && Number.isInteger(s.masterEpoch) && Array.isArray(s.syncStateSet) &&
    s.syncStateSet.every((id) => Number.isInteger(id)) && Number.isInteger(s.syncStateSetEpoch);
}

export function noMaster(brokerName: string): GroupState {
  return { brokerName, masterId: -1, masterAddress: "", masterEpoch: 0, syncStateSet: [], syncStateSetEpoch: 0 };
}
