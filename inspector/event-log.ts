// The live event log: the broker's sampled events as a table or as a sequence diagram,
// filterable by actor and event type, pausable (paused, the view holds still while the model
// keeps collecting). Internal events (the routing copies the root, the topics and the groups
// actors make of what their children receive, XState's own timers and start-up events) are
// hidden unless asked for.
import { brief, h } from "./dom.ts";
import { clockMs, count, duration } from "./human-units.ts";
import type { EventView, Model } from "./model.ts";
import { sequenceDiagram } from "./sequence.ts";

const SHOWN = 300;
const SEQUENCE_SHOWN = 60;

/** Events the root only routes on to a child (the child's copy is the one worth reading). */
const ROUTED_BY_ROOT = new Set(["CREATE_TOPIC", "APPEND_BATCH", "PULL", "RELEASE_LEFT", "COMMIT_OFFSET", "RESET_OFFSET", "HEARTBEAT", "UNREGISTER", "TIMER_TICK", "TX_BEGIN", "TX_DELIVER", "TX_REARM", "DELAY_REWIND"]);
/** ... and those the topics and groups actors route on to a queue or a group (CREATE_TOPIC is the topics actor's own). */
const ROUTED_BY_REGISTRY: Record<string, Set<string>> = {
  topics: new Set(["APPEND_BATCH", "PULL", "RELEASE_LEFT"]),
  groups: new Set(["COMMIT_OFFSET", "RESET_OFFSET", "HEARTBEAT", "UNREGISTER"]),
};

/** Plumbing rather than something that happened to the broker's data. */
export function isInternal(e: EventView): boolean {
  if (e.type.startsWith("xstate.")) return !e.type.startsWith("xstate.error.");
  if (e.to === "broker" && ROUTED_BY_ROOT.has(e.type)) return true;
  if (ROUTED_BY_REGISTRY[e.to]?.has(e.type)) return true;
  return e.to === "txs" && (e.type === "BEGIN" || e.type === "DELIVER");
}

/** An actor id that may wrap after its colons (queue:Orders:12), never inside a name. */
function breakable(id: string): (string | HTMLElement)[] {
  return id.split(/(?<=:)/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));
}

export class EventLog {
  paused = false;
  private types = new Set<string>();
  private frozen: EventView[] = [];

  constructor(
    private readonly model: Model,
    private readonly els: {
      body: HTMLElement;
      sequence: HTMLElement;
      actor: HTMLInputElement;
      type: HTMLSelectElement;
      internal: HTMLInputElement;
      pause: HTMLButtonElement;
      mode: HTMLElement;
      stats: HTMLElement;
      explain: HTMLElement;
    },
    /** The actor selected in the tree: the sequence view puts it first. */
    private readonly focus: () => string | null,
  ) {
    els.actor.addEventListener("input", () => this.render(true));
    els.type.addEventListener("change", () => this.render(true));
    els.internal.addEventListener("change", () => this.render(true));
    els.mode.addEventListener("change", () => this.render(true));
    els.pause.addEventListener("click", () => {
      this.paused = !this.paused;
      this.frozen = this.paused ? [...model.events] : [];
      els.pause.textContent = this.paused ? "Resume" : "Pause";
      els.pause.setAttribute("aria-pressed", String(this.paused));
      this.render(true);
    });
  }

  get mode(): "log" | "sequence" {
    return (this.els.mode.querySelector("input:checked") as HTMLInputElement | null)?.value === "sequence" ? "sequence" : "log";
  }

  render(force = false): void {
    this.updateTypes();
    const { model, els } = this;
    const hidden = model.events.filter(isInternal).length;
    els.stats.textContent = `${count(model.sampled)} of ${count(model.seen)} sampled${this.paused ? ", paused" : ""}`;
    els.explain.textContent = `The broker processed ${count(model.seen)} actor events since this page connected and sent ${count(model.sampled)}: ` +
      `at most ${model.maxEvents} per frame, one frame every ${duration(model.intervalMs)}, the latest of each interval. ` +
      `Counts per event type are exact (hover the type filter). ` +
      (els.internal.checked ? "Internal events are shown." : `${count(hidden)} internal events (routing copies, XState timers) are hidden.`);
    if (this.paused && !force) return;
    const actor = els.actor.value.trim();
    const type = els.type.value;
    const showInternal = els.internal.checked;
    const events = this.paused ? this.frozen : model.events;
    const wanted = (e: EventView) =>
      (!type || e.type === type) && (!actor || e.to.includes(actor) || (e.from ?? "").includes(actor)) && (showInternal || !isInternal(e));
    const sequence = this.mode === "sequence";
    els.body.closest("table")!.hidden = sequence;
    els.sequence.hidden = !sequence;
    const picked: EventView[] = [];
    const cap = sequence ? SEQUENCE_SHOWN : SHOWN;
    for (let i = events.length - 1; i >= 0 && picked.length < cap; i--) if (wanted(events[i])) picked.push(events[i]);
    if (sequence) {
      els.sequence.replaceChildren(picked.length ? sequenceDiagram(picked.reverse(), this.focus()) : h("p", { class: "empty" }, "no events match"));
      return;
    }
    els.body.replaceChildren(...picked.map((e) => {
      const data = e.data === undefined ? "" : brief(e.data);
      return h("tr", { class: `log-row${isInternal(e) ? " internal" : ""}`, "data-type": e.type, "data-actor": e.to },
        h("td", { class: "t" }, clockMs(e.t)),
        h("td", { class: "id" }, ...breakable(e.to)),
        h("td", { class: "id" }, ...(e.from ? breakable(e.from) : [h("span", { class: "muted" }, "outside")])),
        h("td", { class: "event", title: e.data === undefined ? undefined : brief(e.data, 2000) }, h("div", {}, e.type), data ? h("div", { class: "data" }, data) : null));
    }));
  }

  private updateTypes(): void {
    const known = [...this.model.counts.keys(), ...this.model.events.map((e) => e.type)];
    let added = false;
    for (const t of known) if (!this.types.has(t)) (this.types.add(t), (added = true));
    const select = this.els.type;
    if (added) {
      const current = select.value;
      select.replaceChildren(h("option", { value: "" }, "all events"), ...[...this.types].sort().map((t) => h("option", { value: t }, t)));
      select.value = current;
    }
    for (const option of Array.from(select.options)) if (option.value) option.title = `${count(this.model.counts.get(option.value) ?? 0)} processed since connecting`;
  }
}
