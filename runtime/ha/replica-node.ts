// A broker that is a member of a replicated group (--broker-name, --broker-id, --controller):
// the Broker plus its role. It heartbeats to the controllers, which answer with the group's
// state, and makes the broker what that state says:
//   master  a slave promoted in place: a new epoch entry, then the master-only services start
//           (Broker.becomeMaster) and slaves are served (HAService);
//   slave   replicates from the master (HAClient); told of a new master, it dials that one;
//   demoted a master told another is master is closed and opened again as a slave, on its port;
//           its log is cut first if the new master says it diverged (an unreplicated tail).
// Every broker of a group starts as a slave (it takes no writes) and is promoted once a
// controller says so, so a restarted master never writes before the controllers have decided.
import { nanoid } from "nanoid";
import { ErrorCode, type ReplicaInfo } from "../../protocol/mod.ts";
import { Broker } from "../broker.ts";
import type { BrokerConfig } from "../config.ts";
import type { Platform } from "../../platform/platform.ts";
import { EpochFile } from "../../storage/epoch-file.ts";
import { truncateStore } from "../../storage/truncate.ts";
import type { GroupState } from "../controller/group-state.ts";
import { ControllerClient } from "./controller-client.ts";
import { HAClient } from "./ha-client.ts";
import { HAService } from "./ha-service.ts";
import { masterSuggestion, slaveSuggestion, type SlaveReadRule } from "./read-suggestion.ts";

export class ReplicaNode {
  private readonly controller: ControllerClient;
  private state: GroupState | null = null;
  /** Names this process to the controllers: a master that restarted must be elected again. */
  private readonly session = nanoid(12);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** The newest state not applied yet, and a cut asked for by the master: applied one at a time. */
  private pending: GroupState | null = null;
  private cutAt: number | null = null;
  private working: Promise<void> | null = null;
  private lastBeatError = "";
  /** The epoch of the master this slave was told to follow (a new epoch means a new handshake). */
  private followingEpoch = -1;
  private readonly slaveRead: SlaveReadRule;

  private constructor(
    private readonly platform: Platform,
    private readonly config: BrokerConfig,
    private readonly log: (line: string) => void,
    private readonly epochs: EpochFile,
    public broker: Broker,
  ) {
    this.controller = new ControllerClient(config.controllerAddrs, platform, Math.max(1000, config.controllerHeartbeatIntervalMs * 2), broker.dial);
    const behind = config.slaveReadBehind;
    this.slaveRead = { enabled: config.slaveReadEnable, behindBytes: "bytes" in behind ? behind.bytes : Math.floor(platform.totalMemory() * behind.percent / 100) };
    this.attach(broker);
  }

  static async start(platform: Platform, config: BrokerConfig, log: (line: string) => void): Promise<ReplicaNode> {
    const epochs = EpochFile.open(platform.files, `${config.dataDir.replace(/\/+$/, "")}/ha`);
    const broker = await Broker.start(platform, config, log, "slave");
    const node = new ReplicaNode(platform, { ...config, port: broker.port }, log, epochs, broker);
    log(`group ${config.brokerName}, broker id ${config.brokerId}: waiting for the controllers (${config.controllerAddrs.join(", ")}) to say who is master`);
    node.beat();
    return node;
  }

  /** The role, epoch and replication of this member, as registrations, clusterList and /metrics show them. */
  info(): ReplicaInfo {
    const b = this.broker;
    const s = this.state;
    const base = {
      brokerId: this.config.brokerId,
      role: b.role === "master" ? "master" as const : "slave" as const,
      epoch: this.epochs.last?.epoch ?? 0,
      masterEpoch: s?.masterEpoch ?? 0,
      masterId: s?.masterId ?? -1,
      syncStateSet: s?.syncStateSet ?? [],
      maxOffset: b.store.maxCommitLogOffset,
      replication: this.config.replication,
    };
    if (b.ha) return { ...base, syncStateSet: b.ha.state.syncStateSet, ...b.ha.status() };
    return { ...base, master: b.replica?.master ?? "", connected: b.replica?.connected ?? false, lagBytes: b.replica?.lagBytes ?? 0 };
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.working;
    await this.broker.shutdown();
    await this.controller.close();
  }

  private attach(b: Broker): void {
    b.groupInfo = () => this.info();
    b.readSuggestion = (queueId, pulledTo) => this.suggestReader(queueId, pulledTo);
  }

  /** The member a consumer should pull a queue from next (read-suggestion.ts). */
  private suggestReader(queueId: number, pulledTo: number | undefined): number {
    const b = this.broker;
    const me = this.config.brokerId;
    if (b.ha) {
      return masterSuggestion(this.slaveRead, me, b.store.maxCommitLogOffset, queueId, pulledTo, b.ha.status().replicas.filter((r) => r.connected));
    }
    const replica = b.replica;
    const master = replica?.connected && this.state ? this.state.masterId : undefined;
    return slaveSuggestion(this.slaveRead, me, master, Math.max(replica?.masterMaxOffset ?? 0, b.store.maxCommitLogOffset), pulledTo);
  }

  private beat(): void {
    if (this.stopped) return;
    const b = this.broker;
    this.controller.heartbeat({
      brokerName: this.config.brokerName,
      brokerId: this.config.brokerId,
      address: b.address,
      maxOffset: b.store.maxCommitLogOffset,
      epoch: this.epochs.last?.epoch ?? 0,
      session: this.session,
    }).then(
      (s) => {
        if (this.lastBeatError) this.log(`controller ${this.controller.url} answers again`);
        this.lastBeatError = "";
        this.pending = s;
        this.work();
      },
      (e) => {
        const why = `${e?.code ?? ""} ${e?.message ?? e}`.trim();
        if (why !== this.lastBeatError) this.log(`no controller answered the heartbeat (${why}); the role stays ${b.role}`);
        this.lastBeatError = why;
      },
    ).finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.beat(), this.config.controllerHeartbeatIntervalMs);
    });
  }

  /** Applies what is pending, one change at a time. */
  private work(): void {
    if (this.working || this.stopped) return;
    this.working = (async () => {
      while (!this.stopped && (this.pending || this.cutAt !== null)) {
        try {
          if (this.cutAt !== null) {
            const at = this.cutAt;
            this.cutAt = null;
            await this.reopenAsSlave(at);
            if (this.state) this.follow(this.state);
            continue;
          }
          const s = this.pending!;
          this.pending = null;
          await this.apply(s);
        } catch (e) {
          this.log(`role change failed: ${(e as Error)?.stack ?? e}`);
        }
      }
    })().finally(() => {
      this.working = null;
    });
  }

  private async apply(s: GroupState): Promise<void> {
    const before = this.state;
    this.state = s;
    const b = this.broker;
    const me = this.config.brokerId;
    if (s.masterId === me) {
      if (b.role !== "master" || !b.ha || b.ha.state.masterEpoch !== s.masterEpoch) await this.promote(s);
      else b.ha.updateState(s);
    } else if (b.role === "master") {
      this.log(`group ${s.brokerName}: broker ${s.masterId} is master now (epoch ${s.masterEpoch}); this one becomes a slave`);
      await this.reopenAsSlave(null);
      if (s.masterId >= 0) this.follow(s);
    } else if (s.masterId >= 0) {
      this.follow(s);
    }
    if (!before || before.masterId !== s.masterId || before.masterEpoch !== s.masterEpoch || before.syncStateSet.join() !== s.syncStateSet.join()) {
      void this.broker.registrar?.registerAll();
    }
  }

  private async promote(s: GroupState): Promise<void> {
    const b = this.broker;
    b.replica?.stop();
    b.replica = undefined;
    b.ha?.close();
    this.followingEpoch = -1;
    const from = b.store.maxCommitLogOffset;
    // The epoch entry is on disk before the first write of the epoch.
    if ((this.epochs.last?.epoch ?? 0) < s.masterEpoch) await this.epochs.append(s.masterEpoch, from);
    const started = b.role === "slave" ? b.becomeMaster() : null;
    b.ha = new HAService(b, {
      brokerId: this.config.brokerId,
      mode: this.config.replication,
      minInSync: this.config.minInSyncReplicas,
      maxLagMs: this.config.haMaxLagMs,
      state: s,
      epochs: () => this.epochs.entries,
      alterSyncStateSet: (state, set) =>
        this.controller.alterSyncStateSet(state, set).catch((e) => {
          if (e?.code !== ErrorCode.SERVICE_UNAVAILABLE && e?.code !== ErrorCode.CONNECTION_CLOSED && e?.code !== ErrorCode.TIMEOUT) this.log(`alterSyncStateSet refused: ${e?.code} ${e?.message}`);
          return null;
        }),
      changed: () => void this.broker.registrar?.registerAll(),
      log: this.log,
    });
    this.log(`group ${s.brokerName}: master, epoch ${s.masterEpoch} from offset ${from}, SyncStateSet [${s.syncStateSet}], replication ${this.config.replication}${started ? `, timer ${started.timerBehind} s behind, ${started.delayLevels} delay levels` : ""}`);
  }

  /** Follows the master the state names (a new master, or a new epoch of the same one, is a new handshake). */
  private follow(s: GroupState): void {
    const b = this.broker;
    if (b.replica && b.replica.master === s.masterAddress && this.followingEpoch === s.masterEpoch) return;
    b.replica?.stop();
    this.followingEpoch = s.masterEpoch;
    this.log(`group ${s.brokerName}: slave of broker ${s.masterId} (${s.masterAddress}), epoch ${s.masterEpoch}`);
    b.replica = new HAClient(b, {
      master: s.masterAddress,
      brokerId: this.config.brokerId,
      epochs: this.epochs,
      truncate: (offset) => {
        this.cutAt = offset;
        this.work();
      },
      log: this.log,
    });
  }

  /**
   * Closes the broker and opens it again as a slave on the same port: a demoted master (its
   * master-only services stop with it), or a log to cut at `cutAt` first.
   */
  private async reopenAsSlave(cutAt: number | null): Promise<void> {
    const old = this.broker;
    const was = old.store.maxCommitLogOffset;
    await old.shutdown();
    if (cutAt !== null) {
      const removed = truncateStore(this.platform.files, { dir: this.config.dataDir, segmentSize: this.config.segmentSize, timerMaxDelayMs: this.config.timerMaxDelayMs }, cutAt);
      await this.epochs.truncate(cutAt);
      this.log(`cut the CommitLog from ${was} to ${cutAt} (${was - cutAt} bytes no in-sync replica held; ${removed.snapshots} snapshots and ${removed.timers} timers past it dropped)`);
    }
    this.followingEpoch = -1;
    this.broker = await Broker.start(this.platform, this.config, this.log, "slave");
    this.attach(this.broker);
  }
}
