// The inspector page: connects to the broker that served it, keeps the model current, and
// redraws the views after each frame (at most one frame per interval, ~4 a second).
import type { Push } from "../protocol/mod.ts";
import { brokerUrl, InspectorConnection, type Status } from "./connection.ts";
import { renderCharts } from "./charts.ts";
import { renderDetail } from "./detail.ts";
import { $ } from "./dom.ts";
import { EventLog } from "./event-log.ts";
import { type ActorView, Model, type StateNodeView } from "./model.ts";
import { attachSearch } from "./search.ts";
import { listenForStately } from "./stately.ts";
import { renderCounts, renderTree } from "./tree.ts";

const model = new Model();
let selected: string | null = new URLSearchParams(location.search).get("actor");

const log = new EventLog(model, $("log").querySelector("tbody")!, $("log-actor") as HTMLInputElement, $("log-type") as HTMLSelectElement, $("log-pause") as HTMLButtonElement, $("log-stats"));

function select(id: string): void {
  selected = id;
  render();
}

let pending = false;
function render(): void {
  $("broker").textContent = model.brokerName;
  renderCounts($("counts"), model);
  renderTree($("tree"), model, selected, select);
  renderDetail($("detail"), model, selected);
  renderCharts($("charts"), model);
  log.render();
}
// Many changes in one turn (a burst of posted Stately events) draw once.
model.onChange(() => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
});

function setStatus(status: Status, detail?: string): void {
  const el = $("status");
  el.dataset.status = status;
  el.textContent = status;
  el.title = detail ?? "";
}

const conn = new InspectorConnection(brokerUrl(location), {
  onStatus: setStatus,
  onSnapshot: (r) => model.applySnapshot(r as unknown as Parameters<Model["applySnapshot"]>[0]),
  onFrame: (p: Push) => model.applyFrame(p as unknown as Parameters<Model["applyFrame"]>[0]),
});
attachSearch($("search") as HTMLFormElement, $("search-mode") as HTMLSelectElement, $("search-topic") as HTMLInputElement, $("search-input") as HTMLInputElement, $("search-results"), conn, model);
listenForStately(model, window);
conn.start();

// For tests and the console: the model as the page sees it.
(globalThis as unknown as { actormqInspector: unknown }).actormqInspector = { model, conn };
export type { ActorView, StateNodeView };
