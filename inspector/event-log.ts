// The live event log: the broker's sampled events, filterable by actor and event type, and
// pausable (paused, the view holds still while the model keeps collecting).
import { brief, h, time } from "./dom.ts";
import type { Model } from "./model.ts";

const SHOWN = 300;

export class EventLog {
  paused = false;
  private types = new Set<string>();

  constructor(
    private readonly model: Model,
    private readonly body: HTMLElement,
    private readonly actorFilter: HTMLInputElement,
    private readonly typeFilter: HTMLSelectElement,
    private readonly pauseButton: HTMLButtonElement,
    private readonly stats: HTMLElement,
  ) {
    actorFilter.addEventListener("input", () => this.render(true));
    typeFilter.addEventListener("change", () => this.render(true));
    pauseButton.addEventListener("click", () => {
      this.paused = !this.paused;
      pauseButton.textContent = this.paused ? "Resume" : "Pause";
      pauseButton.setAttribute("aria-pressed", String(this.paused));
      this.render(true);
    });
  }

  render(force = false): void {
    this.updateTypes();
    const { model } = this;
    this.stats.textContent = `(${model.sampled} of ${model.seen} events sampled${this.paused ? ", paused" : ""})`;
    if (this.paused && !force) return;
    const actor = this.actorFilter.value.trim();
    const type = this.typeFilter.value;
    const rows: HTMLElement[] = [];
    for (let i = model.events.length - 1; i >= 0 && rows.length < SHOWN; i--) {
      const e = model.events[i];
      if (type && e.type !== type) continue;
      if (actor && !e.to.includes(actor) && !(e.from ?? "").includes(actor)) continue;
      rows.push(h("tr", { class: "log-row", "data-type": e.type, "data-actor": e.to }, h("td", {}, time(e.t)), h("td", { title: e.to }, e.to), h("td", { title: e.from ?? "" }, e.from ?? ""), h("td", { title: e.type }, e.type), h("td", { title: e.data === undefined ? undefined : brief(e.data, 2000) }, e.data === undefined ? "" : brief(e.data))));
    }
    this.body.replaceChildren(...rows);
  }

  private updateTypes(): void {
    const known = [...this.model.counts.keys(), ...this.model.events.map((e) => e.type)];
    let added = false;
    for (const t of known) if (!this.types.has(t)) (this.types.add(t), (added = true));
    if (!added) return;
    const current = this.typeFilter.value;
    this.typeFilter.replaceChildren(h("option", { value: "" }, "all events"), ...[...this.types].sort().map((t) => h("option", { value: t }, t)));
    this.typeFilter.value = current;
  }
}
