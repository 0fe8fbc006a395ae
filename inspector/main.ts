// The console: connects to the broker that served it, keeps the model current, and redraws the
// view on screen after each frame (at most one frame per interval, ~4 a second). Views are
// chosen by the address's hash (#overview, #messages, #actors, #actions, #cluster), so each can
// be bookmarked and the browser's back button works. Served by a name server, the page shows
// the cluster instead.
import type { Push } from "../protocol/mod.ts";
import { ActionsView, confirmer, reporter } from "./actions.ts";
import { ClusterView } from "./cluster.ts";
import { brokerUrl, InspectorConnection, type Status } from "./connection.ts";
import { ActorDetail } from "./detail.ts";
import { $ } from "./dom.ts";
import { EventLog } from "./event-log.ts";
import { ago, clock } from "./human-units.ts";
import { MessageBrowser } from "./messages.ts";
import { type ActorView, Model, type StateNodeView } from "./model.ts";
import { OverviewView } from "./overview.ts";
import { listenForStately } from "./stately.ts";
import { renderCounts, renderTree } from "./tree.ts";

const VIEWS = ["overview", "messages", "actors", "actions", "cluster"] as const;
type View = (typeof VIEWS)[number];

const model = new Model();
let selected: string | null = new URLSearchParams(location.search).get("actor");
let view: View = "overview";
let cluster: ClusterView | null = null;

applyTheme(localStorage.getItem("actormq-theme"));
$("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("actormq-theme", next);
  applyTheme(next);
  render();
});

const conn = new InspectorConnection(brokerUrl(location), {
  onStatus: setStatus,
  onSnapshot: (r) => model.applySnapshot(r as unknown as Parameters<Model["applySnapshot"]>[0]),
  onFrame: (p: Push) => model.applyFrame(p as unknown as Parameters<Model["applyFrame"]>[0]),
  onNotABroker: showCluster,
});
const confirm = confirmer($("confirm") as HTMLDialogElement);
const report = reporter($("action-log"));

const overview = new OverviewView($("view-overview"), {
  openTopic: (topic) => go(`messages?topic=${encodeURIComponent(topic)}`),
  openGroup: (group) => go(`actors?actor=${encodeURIComponent(`group:${group}`)}`),
});
const messages = new MessageBrowser($("view-messages"), conn, model, confirm, report);
const actions = new ActionsView($("view-actions"), conn, model, confirm, report);
const detail = new ActorDetail($("detail"), { topic: (t) => void actions.deleteTopic(t), group: (g) => void actions.deleteGroup(g) });
const log = new EventLog(model, {
  body: $("log").querySelector("tbody")!,
  sequence: $("sequence"),
  actor: $("log-actor") as HTMLInputElement,
  type: $("log-type") as HTMLSelectElement,
  internal: $("log-internal") as HTMLInputElement,
  pause: $("log-pause") as HTMLButtonElement,
  mode: $("log-mode"),
  stats: $("log-stats"),
  explain: $("log-explain"),
}, () => selected);

document.querySelectorAll<HTMLButtonElement>(".subnav button").forEach((b) => {
  b.addEventListener("click", () => document.getElementById(b.dataset.panel!)?.scrollIntoView({ behavior: "smooth", block: "start" }));
});

function select(id: string): void {
  selected = id;
  render();
  // On a narrow screen the detail is below the tree: bring it into view.
  if (matchMedia("(max-width: 900px)").matches) $("panel-detail").scrollIntoView({ behavior: "smooth", block: "start" });
}

function go(hash: string): void {
  location.hash = hash;
}

/** "#messages?topic=T" -> the view and its parameters. */
function route(): void {
  const [name, query = ""] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query);
  view = (VIEWS as readonly string[]).includes(name) ? (name as View) : cluster ? "cluster" : "overview";
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  document.querySelectorAll<HTMLAnchorElement>("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  if (view === "messages") messages.open(params);
  if (view === "actions") actions.open(params);
  if (view === "actors" && params.get("actor")) selected = params.get("actor");
  render();
}
addEventListener("hashchange", route);

let pending = false;
function render(): void {
  $("broker").textContent = cluster ? "cluster" : model.brokerName;
  renderCounts($("counts"), model);
  renderBanner();
  if (view === "overview") overview.render(model);
  else if (view === "messages") messages.render();
  else if (view === "actions") actions.render();
  else if (view === "cluster") cluster?.render();
  else {
    renderTree($("tree"), model, selected, select);
    detail.render(model, selected);
    log.render();
  }
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

/** Disconnected: a banner says since when, and everything on screen is greyed as stale. */
function renderBanner(): void {
  const banner = $("banner");
  const lost = model.disconnectedAt;
  document.body.classList.toggle("stale", lost !== null);
  banner.hidden = lost === null;
  if (lost !== null) {
    banner.textContent = `Disconnected from ${model.brokerName || "the broker"} since ${clock(lost)} (${ago(lost)}). Reconnecting… ` +
      `What you see is from ${model.lastHeard ? clock(model.lastHeard) : "before"} and may be out of date.`;
  }
}
setInterval(() => model.disconnectedAt !== null && renderBanner(), 1000);

function setStatus(status: Status, detailText?: string): void {
  const el = $("status");
  el.dataset.status = status;
  el.textContent = status === "reconnecting" ? "disconnected" : status;
  el.title = detailText ?? "";
  if (status === "reconnecting") model.disconnected();
}

function showCluster(): void {
  cluster = new ClusterView($("view-cluster"), (op, args) => conn.request(op, args));
  ($("nav").querySelector('[data-view="cluster"]') as HTMLElement).hidden = false;
  for (const v of ["messages", "actors", "actions", "overview"]) ($("nav").querySelector(`[data-view="${v}"]`) as HTMLElement).hidden = true;
  setStatus("connected", "a name server");
  cluster.start(render);
  if (!location.hash || location.hash === "#overview") go("cluster");
  else route();
}

function applyTheme(theme: string | null): void {
  const dark = theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

listenForStately(model, window);
conn.start();
route();

// For tests and the console: the model as the page sees it.
(globalThis as unknown as { actormqInspector: unknown }).actormqInspector = { model, conn };
export type { ActorView, StateNodeView };
