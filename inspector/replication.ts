// A replicated group as one of its brokers sees it (the overview's broker.replication,
// docs/REPLICATION.md): the members with their roles, the master epoch, the in-sync set and how
// far behind each one is. A master knows every connected slave; a slave knows itself and its
// master. A member of the in-sync set that is not connected is listed as such.
import type { ReplicaInfo } from "../protocol/inspect.ts";
import { h } from "./dom.ts";
import { bytes } from "./human-units.ts";
import { DataTable } from "./table.ts";

export interface MemberRow {
  id: number;
  role: "master" | "slave";
  address: string;
  inSync: boolean;
  /** CommitLog bytes it lacks (null: not known here). */
  lag: number | null;
  connected: boolean;
}

/** The group's members as `r` (the broker at `self`) knows them, sorted by id. */
export function groupMembers(r: ReplicaInfo, self: string): MemberRow[] {
  const inSync = (id: number) => r.syncStateSet.includes(id);
  const rows: MemberRow[] = [{ id: r.brokerId, role: r.role, address: self, inSync: inSync(r.brokerId), lag: r.role === "master" ? 0 : r.lagBytes ?? null, connected: true }];
  if (r.role === "master") {
    for (const s of r.replicas ?? []) rows.push({ id: s.brokerId, role: "slave", address: s.address, inSync: s.inSync, lag: s.lagBytes, connected: s.connected });
    for (const id of r.syncStateSet) if (!rows.some((m) => m.id === id)) rows.push({ id, role: "slave", address: "", inSync: true, lag: null, connected: false });
  } else if (r.masterId >= 0) {
    rows.push({ id: r.masterId, role: "master", address: r.master ?? "", inSync: true, lag: 0, connected: r.connected ?? false });
  }
  return rows.sort((a, b) => a.id - b.id);
}

/** "master, epoch 3" / "slave of #0, epoch 3" / "slave, no master". */
export function roleText(r: ReplicaInfo): string {
  if (r.role === "master") return `master, epoch ${r.masterEpoch}`;
  return r.masterId >= 0 ? `slave of #${r.masterId}, epoch ${r.masterEpoch}` : "slave, no master";
}

export class ReplicationView {
  readonly el: HTMLElement;
  private readonly summary = h("p", { class: "hint", id: "replication-summary" });
  private readonly table = new DataTable<MemberRow>({
    id: "replication-members",
    columns: [
      { key: "id", label: "broker id", numeric: true, value: (m) => m.id },
      { key: "role", label: "role", value: (m) => m.role },
      { key: "address", label: "address", value: (m) => m.address, render: (m) => m.address || "–" },
      { key: "inSync", label: "in sync", value: (m) => (m.inSync ? "yes" : "no"), title: "in the SyncStateSet: holds every acknowledged message, may be elected" },
      { key: "behind", label: "behind", numeric: true, value: (m) => m.lag ?? -1, render: (m) => (m.lag === null ? "–" : bytes(m.lag)), title: "CommitLog bytes it lacks" },
      { key: "connected", label: "connected", value: (m) => (m.connected ? "yes" : "no") },
    ],
    rowKey: (m) => String(m.id),
    rowClass: (m) => (m.connected && m.inSync ? "" : "state-stalled"),
  });

  constructor() {
    this.el = h("section", { id: "replication-box", hidden: true }, h("h2", {}, "Replication"), this.summary, this.table.el);
  }

  /** Shows the group (hidden for a broker that is no group's member). */
  render(r: ReplicaInfo | undefined, self: string): void {
    this.el.hidden = !r;
    if (!r) return;
    const confirmed = r.confirmOffset === undefined ? "" : ` · confirmed to ${bytes(r.confirmOffset)}`;
    this.summary.textContent = `broker #${r.brokerId}, ${roleText(r)} · SyncStateSet [${r.syncStateSet.join(", ")}] · ${r.replication} replication${confirmed}`;
    this.table.update(groupMembers(r, self));
  }
}
