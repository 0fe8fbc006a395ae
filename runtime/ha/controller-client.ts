// A broker's line to its group's controllers (--controller a,b,...): requests go to the one in
// use and move on to the next when it cannot be reached or cannot reach etcd. Any controller
// serves any request: they share nothing but etcd.
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";
import { normalizeEndpoint } from "../../protocol/endpoint-url.ts";
import type { Platform } from "../../platform/platform.ts";
import { type PeerDial, PeerLink } from "../cluster/peer-link.ts";
import { type GroupState, isGroupState, type MemberReport } from "../controller/group-state.ts";

export class ControllerClient {
  private readonly transports: PeerLink[];
  private current = 0;

  constructor(addrs: string[], platform: Pick<Platform, "dial" | "clock">, private readonly timeoutMs: number, dial?: PeerDial) {
    this.transports = addrs.map((a) => new PeerLink(normalizeEndpoint(a), platform, timeoutMs, dial));
  }

  /** The controller in use. */
  get url(): string {
    return this.transports[this.current].url;
  }

  heartbeat(r: MemberReport): Promise<GroupState> {
    return this.request("controllerHeartbeat", { ...r });
  }

  alterSyncStateSet(s: GroupState, set: number[]): Promise<GroupState> {
    return this.request("alterSyncStateSet", {
      brokerName: s.brokerName,
      masterId: s.masterId,
      masterEpoch: s.masterEpoch,
      syncStateSetEpoch: s.syncStateSetEpoch,
      syncStateSet: set,
    });
  }

  close(): Promise<void> {
    return Promise.all(this.transports.map((t) => t.close())).then(() => {});
  }

  /** Tries each controller once, starting with the one in use; an answer other than "unavailable" is final. */
  private async request(op: string, args: Record<string, unknown>): Promise<GroupState> {
    let last: unknown;
    for (let i = 0; i < this.transports.length; i++) {
      const t = this.transports[this.current];
      try {
        const reply = await t.request(op, args, this.timeoutMs);
        if (!isGroupState(reply)) throw new BrokerError(ErrorCode.MALFORMED_FRAME, `${op}: the controller's answer is not a group state`);
        const { brokerName, masterId, masterAddress, masterEpoch, syncStateSet, syncStateSetEpoch, masterSession } = reply;
        return { brokerName, masterId, masterAddress, masterEpoch, syncStateSet, syncStateSetEpoch, ...(typeof masterSession === "string" ? { masterSession } : {}) };
      } catch (e) {
        last = e;
        const code = e instanceof BrokerError ? e.code : "";
        if (code !== ErrorCode.CONNECTION_CLOSED && code !== ErrorCode.TIMEOUT && code !== ErrorCode.SERVICE_UNAVAILABLE) throw e;
        this.current = (this.current + 1) % this.transports.length;
      }
    }
    throw last;
  }
}
