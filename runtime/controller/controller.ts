// The controller (RocketMQ 5's DLedger controller, with etcd in place of DLedger): it keeps each
// broker group's master, master epoch and SyncStateSet, elects a new master from the set when the
// master is gone, and tells every broker its group's state in answer to its heartbeat.
//
// It is stateless. Everything lives in etcd under `<prefix>/groups/<brokerName>/`:
//   state              the GroupState, JSON, changed only by compare-and-set on its mod revision
//   members/<brokerId> the member's last heartbeat (address, CommitLog end, epoch), written under
//                      a lease of --lease-ttl seconds: it disappears when the broker stops beating
// Any controller process may answer any request, and several may act at once, because:
//  * a member is alive exactly while its key exists: etcd's lease clock decides, not a
//    controller's, so all controllers agree on who is alive;
//  * every change of a group's state is a compare-and-set against the revision it was computed
//    from: of two controllers electing at once one write wins, the other fails, re-reads, finds a
//    live master and does nothing. There is never a second master of one epoch;
//  * a master changes its SyncStateSet only by naming the master epoch and set epoch it knows
//    (alterSyncStateSet): a deposed master's request is refused (FENCED_EPOCH).
// Elections happen lazily, inside heartbeats: a member that beats and finds the master's key gone
// elects. Brokers beat every few hundred ms, so a master's loss is acted on within one beat of its
// lease running out, by whichever controller that beat reached, with no watch to lose.
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";
import type { ControllerStore } from "./etcd-store.ts";
import { type GroupState, isGroupState, type MemberReport, noMaster } from "./group-state.ts";

export interface ControllerOptions {
  /** Key prefix in etcd (several clusters may share one etcd). */
  prefix: string;
  /** A broker silent this long is gone (the etcd lease's TTL). */
  leaseTtlSeconds: number;
  log?: (line: string) => void;
}

/** A member as its key holds it. */
export interface MemberInfo {
  brokerId: number;
  address: string;
  maxOffset: number;
  epoch: number;
  session: string;
  /** The controller's clock at the heartbeat (for people: liveness is the key's existence). */
  at: number;
}

const CAS_ATTEMPTS = 8;

export class Controller {
  constructor(private readonly kv: ControllerStore, private readonly options: ControllerOptions) {}

  /** A broker's heartbeat: it is alive for another lease; the answer is its group's state, after an election if one was due. */
  async heartbeat(r: MemberReport): Promise<GroupState> {
    const member: MemberInfo = { brokerId: r.brokerId, address: r.address, maxOffset: r.maxOffset, epoch: r.epoch, session: r.session, at: Date.now() };
    await this.kv.putLeased(this.memberKey(r.brokerName, r.brokerId), JSON.stringify(member), this.options.leaseTtlSeconds);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.kv.get(this.stateKey(r.brokerName));
      const state = current ? parseState(current.value) : null;
      if (!state) {
        // A group's first master is its broker 0, once it beats: RocketMQ's brokerId 0.
        if (r.brokerId !== 0) return noMaster(r.brokerName);
        const first: GroupState = { brokerName: r.brokerName, masterId: 0, masterAddress: r.address, masterEpoch: 1, syncStateSet: [0], syncStateSetEpoch: 1, masterSession: r.session };
        if (await this.kv.compareAndSet(this.stateKey(r.brokerName), JSON.stringify(first), current?.revision ?? "0")) {
          this.options.log?.(`group ${r.brokerName}: broker 0 (${r.address}) is the first master, epoch 1`);
          return first;
        }
        continue;
      }
      const members = await this.members(r.brokerName);
      // A master that restarted may have lost an unflushed tail its slaves hold: it is master
      // again only if it wins an election (with a new epoch) like any other member.
      const restarted = state.masterId === r.brokerId && state.masterSession !== undefined && state.masterSession !== r.session;
      if (state.masterId >= 0 && members.has(state.masterId) && !restarted) return state;
      const next = elect(state, members);
      if (!next) return state;
      if (await this.kv.compareAndSet(this.stateKey(r.brokerName), JSON.stringify(next), current!.revision)) {
        const why = restarted ? `master ${state.masterId} restarted` : state.masterId >= 0 ? `master ${state.masterId} is gone` : "the group had no master";
        this.options.log?.(`group ${r.brokerName}: ${why}; broker ${next.masterId} (${next.masterAddress}) elected, epoch ${next.masterEpoch}, SyncStateSet [${next.syncStateSet}]`);
        return next;
      }
      // Another controller (or a concurrent heartbeat) changed the state first: look again.
    }
    throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, `group ${r.brokerName}: the state kept changing under ${CAS_ATTEMPTS} attempts`);
  }

  /**
   * The master changes its SyncStateSet (RocketMQ's AlterSyncStateSet): accepted only from the
   * current master naming the current master and set epochs, and the set must hold the master.
   */
  async alterSyncStateSet(brokerName: string, masterId: number, masterEpoch: number, syncStateSetEpoch: number, syncStateSet: number[]): Promise<GroupState> {
    if (!syncStateSet.includes(masterId)) throw new BrokerError(ErrorCode.BAD_REQUEST, `alterSyncStateSet: the set must hold the master (${masterId})`);
    const current = await this.kv.get(this.stateKey(brokerName));
    const state = current ? parseState(current.value) : null;
    if (!state) throw new BrokerError(ErrorCode.BAD_REQUEST, `alterSyncStateSet: group ${brokerName} has no state`);
    if (state.masterId !== masterId || state.masterEpoch !== masterEpoch || state.syncStateSetEpoch !== syncStateSetEpoch) {
      throw new BrokerError("FENCED_EPOCH", `alterSyncStateSet: group ${brokerName} is at master ${state.masterId} epoch ${state.masterEpoch}, set epoch ${state.syncStateSetEpoch}, not master ${masterId} epoch ${masterEpoch}, set epoch ${syncStateSetEpoch}`, { state });
    }
    const next: GroupState = { ...state, syncStateSet: [...new Set(syncStateSet)].sort((a, b) => a - b), syncStateSetEpoch: state.syncStateSetEpoch + 1 };
    if (!(await this.kv.compareAndSet(this.stateKey(brokerName), JSON.stringify(next), current!.revision))) {
      throw new BrokerError("FENCED_EPOCH", `alterSyncStateSet: group ${brokerName} changed meanwhile; ask again`);
    }
    this.options.log?.(`group ${brokerName}: SyncStateSet [${state.syncStateSet}] -> [${next.syncStateSet}] (set epoch ${next.syncStateSetEpoch})`);
    return next;
  }

  /** Every group (or one), with its live members: for clusterList and people. */
  async groups(brokerName?: string): Promise<{ state: GroupState; members: MemberInfo[] }[]> {
    const all = await this.kv.list(`${this.options.prefix}/groups/${brokerName !== undefined ? `${brokerName}/` : ""}`);
    const byGroup = new Map<string, { state: GroupState | null; members: MemberInfo[] }>();
    for (const [key, value] of Object.entries(all)) {
      const m = /\/groups\/(.+)\/(state|members\/(\d+))$/.exec(key);
      if (!m) continue;
      let g = byGroup.get(m[1]);
      if (!g) byGroup.set(m[1], (g = { state: null, members: [] }));
      if (m[2] === "state") g.state = parseState(value);
      else {
        const info = parseMember(value);
        if (info) g.members.push(info);
      }
    }
    return [...byGroup.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, g]) => ({ state: g.state ?? noMaster(name), members: g.members.sort((a, b) => a.brokerId - b.brokerId) }));
  }

  close(): Promise<void> {
    return this.kv.close();
  }

  private async members(brokerName: string): Promise<Map<number, MemberInfo>> {
    const out = new Map<number, MemberInfo>();
    for (const value of Object.values(await this.kv.list(`${this.options.prefix}/groups/${brokerName}/members/`))) {
      const info = parseMember(value);
      if (info) out.set(info.brokerId, info);
    }
    return out;
  }

  private stateKey(brokerName: string): string {
    return `${this.options.prefix}/groups/${brokerName}/state`;
  }

  private memberKey(brokerName: string, brokerId: number): string {
    return `${this.options.prefix}/groups/${brokerName}/members/${brokerId}`;
  }
}

/**
 * The next state of a group whose master is gone (or restarted): the live member of the
 * SyncStateSet with the newest epoch, then the longest log, then the lowest id (RocketMQ's
 * DefaultElectPolicy). Its set keeps the live members of the old one, less a deposed master: each
 * of them holds every acknowledged message (a sync ack waits for the whole set), which is what
 * makes any of them electable next time. Null: nobody can be elected (the group waits).
 */
export function elect(state: GroupState, members: Map<number, MemberInfo>): GroupState | null {
  const candidates = state.syncStateSet.map((id) => members.get(id)).filter((m): m is MemberInfo => m !== undefined);
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => b.epoch - a.epoch || b.maxOffset - a.maxOffset || a.brokerId - b.brokerId);
  const chosen = candidates[0];
  const set = state.syncStateSet.filter((id) => members.has(id) && (id !== state.masterId || id === chosen.brokerId));
  return {
    brokerName: state.brokerName,
    masterId: chosen.brokerId,
    masterAddress: chosen.address,
    masterEpoch: state.masterEpoch + 1,
    syncStateSet: [...new Set([...set, chosen.brokerId])].sort((a, b) => a - b),
    syncStateSetEpoch: state.syncStateSetEpoch + 1,
    masterSession: chosen.session,
  };
}

function parseState(text: string): GroupState | null {
  try {
    const v = JSON.parse(text);
    return isGroupState(v) ? v : null;
  } catch {
    return null;
  }
}

function parseMember(text: string): MemberInfo | null {
  try {
    const v = JSON.parse(text) as MemberInfo;
    return Number.isInteger(v?.brokerId) && typeof v.address === "string" && typeof v.maxOffset === "number" && Number.isInteger(v.epoch) && typeof v.session === "string" ? v : null;
  } catch {
    return null;
  }
}
