// The message browser: by topic (and queue, and time range), by key, or by message id; each
// message with its body as text, JSON or hex, its properties, and its trace (where it was
// stored, which consumer groups have committed past it, its retries and its dead letter), and
// for a dead letter, a button that resends it to its topic.
import { fromQueryItem } from "../client/message-view.ts";
import type { MessageView } from "../protocol/mod.ts";
import type { Confirm, Report } from "./actions.ts";
import type { InspectorConnection } from "./connection.ts";
import { h } from "./dom.ts";
import { ago, bytes, clock, clockMs } from "./human-units.ts";
import type { Model } from "./model.ts";

const PAGE = 50;
const HEX_LIMIT = 64 * 1024;

export class MessageBrowser {
  private readonly form: HTMLFormElement;
  private readonly results = h("div", { id: "message-results" });
  private readonly detail = h("div", { id: "message-detail", class: "panel" });
  private readonly topics = h("datalist", { id: "topic-names" });
  private readonly field: Record<"mode" | "topic" | "queue" | "from" | "to" | "key" | "msgId", HTMLInputElement | HTMLSelectElement>;
  private list: MessageView[] = [];

  constructor(readonly el: HTMLElement, private readonly conn: InspectorConnection, private readonly model: Model, private readonly confirm: Confirm, private readonly report: Report) {
    const input = (name: string, attrs: Record<string, string>) => h("input", { id: `browse-${name}`, name, ...attrs }) as HTMLInputElement;
    this.field = {
      mode: h("select", { id: "browse-mode", "aria-label": "find messages by" },
        h("option", { value: "topic" }, "topic and time"), h("option", { value: "key" }, "key"), h("option", { value: "msgId" }, "message id")) as HTMLSelectElement,
      topic: input("topic", { placeholder: "topic", list: "topic-names", "aria-label": "topic", autocomplete: "off" }),
      queue: input("queue", { type: "number", min: "0", placeholder: "all queues", "aria-label": "queue" }),
      from: input("from", { type: "datetime-local", step: "1", "aria-label": "stored from" }),
      to: input("to", { type: "datetime-local", step: "1", "aria-label": "stored until" }),
      key: input("key", { placeholder: "key", "aria-label": "key" }),
      msgId: input("msgId", { placeholder: "message id", "aria-label": "message id" }),
    };
    const label = (text: string, el: HTMLElement, cls?: string) => h("label", { class: cls }, h("span", {}, text), el);
    this.form = h("form", { id: "browse", class: "toolbar" },
      label("find by", this.field.mode),
      label("topic", this.field.topic, "by-topic by-key"),
      label("queue", this.field.queue, "by-topic"),
      label("from", this.field.from, "by-topic"),
      label("until", this.field.to, "by-topic"),
      label("key", this.field.key, "by-key"),
      label("message id", this.field.msgId, "by-msgId"),
      h("button", { type: "submit", class: "primary" }, "Find"),
      this.topics) as HTMLFormElement;
    this.field.mode.addEventListener("change", () => this.showFields());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.find();
    });
    this.showFields();
    el.replaceChildren(
      h("h2", {}, "Messages"),
      h("p", { class: "hint" }, "Browse a topic from a time, look a message up by key or id. Dead letters are in %DLQ%<group> topics; select one to resend it."),
      this.form, h("div", { class: "split" }, this.results, this.detail));
    this.detail.replaceChildren(h("p", { class: "hint" }, "Select a message to see its body, properties and trace."));
  }

  /** `#messages?topic=T`: browse T from its beginning. */
  open(params: URLSearchParams): void {
    const topic = params.get("topic");
    const msgId = params.get("msgId");
    if (msgId) {
      this.field.mode.value = "msgId";
      this.field.msgId.value = msgId;
    } else if (topic) {
      this.field.mode.value = "topic";
      this.field.topic.value = topic;
    } else return this.showFields();
    this.showFields();
    void this.find();
  }

  render(): void {
    const names = (this.model.overview?.topics ?? []).map((t) => t.topic).sort();
    if (this.topics.childElementCount !== names.length) this.topics.replaceChildren(...names.map((n) => h("option", { value: n })));
  }

  private showFields(): void {
    const mode = this.field.mode.value;
    this.form.querySelectorAll<HTMLElement>("label[class]").forEach((l) => (l.hidden = !l.classList.contains(`by-${mode}`)));
  }

  private async find(): Promise<void> {
    const mode = this.field.mode.value;
    const topic = this.field.topic.value.trim();
    let op = "queryMessage";
    let args: Record<string, unknown>;
    if (mode === "msgId") args = { msgId: this.field.msgId.value.trim() };
    else if (mode === "key") args = { topic, key: this.field.key.value.trim(), max: PAGE };
    else {
      op = "browseMessages";
      args = { topic, max: PAGE };
      if (this.field.queue.value !== "") args.queueId = Number(this.field.queue.value);
      if (this.field.from.value) args.from = new Date(this.field.from.value).getTime();
      if (this.field.to.value) args.to = new Date(this.field.to.value).getTime() + 999;
    }
    this.results.replaceChildren(h("p", { class: "hint" }, "searching…"));
    try {
      const r = await this.conn.request(op, args);
      this.list = (Array.isArray(r.msgs) ? r.msgs : []).map(fromQueryItem);
      this.drawList(r.more === true);
    } catch (e) {
      this.results.replaceChildren(h("p", { class: "error", role: "alert" }, (e as Error).message));
    }
  }

  private drawList(more: boolean): void {
    if (this.list.length === 0) {
      this.results.replaceChildren(h("p", { class: "empty", "data-found": "0" }, "no messages found"));
      return;
    }
    const rows = this.list.map((m, i) => {
      const tr = h("tr", { class: "clickable", "data-msg-id": m.id, "data-offset": m.commitLogOffset, tabindex: 0 },
        h("td", {}, clock(m.storeTimestamp)), h("td", {}, m.topic), h("td", { class: "num" }, m.queueId), h("td", { class: "num" }, m.queueOffset),
        h("td", { class: "id" }, m.id), h("td", {}, (m.keys ?? []).join(", ")), h("td", {}, m.tags ?? ""), h("td", { class: "num" }, bytes(bodyBytes(m).length)));
      const pick = () => {
        this.results.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected"));
        tr.classList.add("selected");
        void this.show(this.list[i]);
      };
      tr.addEventListener("click", pick);
      tr.addEventListener("keydown", (e) => e.key === "Enter" && pick());
      return tr;
    });
    this.results.replaceChildren(
      h("p", { class: "hint", "data-found": this.list.length }, `${this.list.length} message${this.list.length === 1 ? "" : "s"}${more ? ` (the first ${PAGE}: narrow the time range or pick a queue for the rest)` : ""}`),
      h("div", { class: "scroll-x" }, h("table", { class: "grid", id: "message-list" },
        h("thead", {}, h("tr", {}, ...["stored", "topic", "queue", "offset", "id", "keys", "tags", "size"].map((c) => h("th", {}, c)))),
        h("tbody", {}, ...rows))));
    if (this.list.length === 1) void this.show(this.list[0]);
  }

  private async show(m: MessageView): Promise<void> {
    const body = bodyBytes(m);
    const text = typeof m.body === "string" ? m.body : new TextDecoder("utf-8", { fatal: false }).decode(body);
    let json: string | null = null;
    try {
      json = JSON.stringify(JSON.parse(text), null, 2);
    } catch { /* not JSON */ }
    const views: Record<string, () => string> = { text: () => text, json: () => json ?? "the body is not JSON", hex: () => hexDump(body) };
    const pre = h("pre", { class: "body", id: "message-body" });
    const tabs = h("div", { class: "tabs", role: "tablist" }, ...Object.keys(views).map((k) => {
      const b = h("button", { type: "button", role: "tab", "data-view": k }, k === "json" ? "JSON" : k);
      b.addEventListener("click", () => select(k));
      return b;
    }));
    const select = (k: string) => {
      pre.textContent = views[k]();
      pre.dataset.view = k;
      for (const b of Array.from(tabs.children)) b.setAttribute("aria-selected", String((b as HTMLElement).dataset.view === k));
    };
    select(json !== null ? "json" : "text");
    const props = Object.entries(m.props ?? {});
    const dlq = m.topic.startsWith("%DLQ%");
    const origin = m.props?.ORIGIN_TOPIC;
    const resend = dlq && origin ? h("button", { type: "button", id: "resend", class: "primary" }, `Resend to ${origin}`) : null;
    resend?.addEventListener("click", async () => {
      if (!(await this.confirm(`Resend message ${m.id} from ${m.topic} to ${origin}? Every consumer group of ${origin} will receive it again.`))) return;
      await this.report(`resend ${m.id} to ${origin}`, async () => {
        const r = await this.conn.request("resendMessage", { commitLogOffset: m.commitLogOffset });
        void this.trace(m, traceBox);
        return `stored in ${r.topic} queue ${r.queueId} at offset ${r.queueOffset}`;
      });
    });
    const traceBox = h("div", { id: "message-trace" }, h("p", { class: "hint" }, "tracing…"));
    const kv = (k: string, v: string) => h("tr", { "data-key": k }, h("th", {}, k), h("td", {}, v));
    this.detail.replaceChildren(
      h("h3", { class: "plain" }, `Message ${m.id}`),
      h("table", { class: "kv", id: "message-meta" },
        kv("topic", m.topic), kv("queue", String(m.queueId)), kv("offset", String(m.queueOffset)),
        kv("stored", `${clockMs(m.storeTimestamp)} (${ago(m.storeTimestamp)})`), kv("born", m.born ? clockMs(m.born) : "–"),
        m.tags ? kv("tags", m.tags) : null, m.keys?.length ? kv("keys", m.keys.join(", ")) : null,
        kv("body", `${bytes(body.length)}, ${typeof m.body === "string" ? "text" : "bytes"}`),
        m.reconsumeTimes ? kv("attempts", String(m.reconsumeTimes)) : null,
        kv("commit-log offset", String(m.commitLogOffset))),
      h("div", { class: "actions" }, resend),
      h("h4", {}, "Body"), tabs, pre,
      h("h4", {}, `Properties (${props.length})`),
      props.length ? h("table", { class: "kv", id: "message-props" }, ...props.map(([k, v]) => kv(k, v))) : h("p", { class: "empty" }, "none"),
      h("h4", {}, "Trace"), traceBox);
    await this.trace(m, traceBox);
  }

  /**
   * Every stored copy of the message (they share its id: the original, its retries waiting in
   * the schedule topic, in %RETRY% topics, its dead letter, resends), and per consumer group of
   * the original's queue whether it has committed past it.
   */
  private async trace(m: MessageView, box: HTMLElement): Promise<void> {
    try {
      const r = await this.conn.request("queryMessage", { msgId: m.id, max: 100 });
      const copies = (Array.isArray(r.msgs) ? r.msgs : []).map(fromQueryItem).sort((a, b) => a.storeTimestamp - b.storeTimestamp || a.commitLogOffset - b.commitLogOffset);
      const steps: HTMLElement[] = [];
      const step = (kind: string, text: string, t?: number) => steps.push(h("li", { "data-step": kind }, t ? h("time", {}, clockMs(t)) : null, " ", text));
      const originTopic = m.props?.ORIGIN_TOPIC ?? m.topic;
      for (const c of copies) {
        if (c.topic.startsWith("%DLQ%")) step("dead-lettered", `dead-lettered to ${c.topic} after ${c.reconsumeTimes} failed ${c.reconsumeTimes === 1 ? "attempt" : "attempts"}`, c.storeTimestamp);
        else if (c.topic.startsWith("%RETRY%")) step("retried", `back for retry ${c.reconsumeTimes} in ${c.topic} (queue ${c.queueId}, offset ${c.queueOffset})`, c.storeTimestamp);
        else if (c.topic === "SCHEDULE_TOPIC_XXXX") step("scheduled", `given back: waiting in the schedule topic to be retried (${c.props?.REAL_TOPIC ?? ""})`, c.storeTimestamp);
        else if (c.props?.RESENT_FROM) step("resent", `resent from ${c.props.RESENT_FROM} to ${c.topic} (queue ${c.queueId}, offset ${c.queueOffset})`, c.storeTimestamp);
        else step("stored", `stored in ${c.topic} queue ${c.queueId} at offset ${c.queueOffset}`, c.storeTimestamp);
      }
      // Consumption: a group has consumed a copy when its committed offset on that queue is past it.
      for (const c of copies.filter((x) => x.topic === originTopic || x.topic.startsWith("%RETRY%"))) {
        for (const g of this.model.overview?.groups ?? []) {
          const q = g.queues.find(([t, id]) => t === c.topic && id === c.queueId);
          if (!q) continue;
          const past = q[2] > c.queueOffset;
          step(past ? "consumed" : "pending", `${g.group} has ${past ? "" : "not yet "}committed past it on ${c.topic}:${c.queueId} (its offset there: ${q[2]})`);
        }
      }
      box.replaceChildren(steps.length ? h("ol", { class: "trace" }, ...steps) : h("p", { class: "empty" }, "no stored copy found"));
    } catch (e) {
      box.replaceChildren(h("p", { class: "error" }, (e as Error).message));
    }
  }
}

function bodyBytes(m: MessageView): Uint8Array {
  return typeof m.body === "string" ? new TextEncoder().encode(m.body) : m.body instanceof Uint8Array ? m.body : new Uint8Array(0);
}

/** 16 bytes a line: offset, hex, and the printable ASCII. */
export function hexDump(b: Uint8Array): string {
  const lines: string[] = [];
  const n = Math.min(b.length, HEX_LIMIT);
  for (let i = 0; i < n; i += 16) {
    const chunk = b.subarray(i, Math.min(i + 16, n));
    const hex = [...chunk].map((x) => x.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...chunk].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : ".")).join("");
    lines.push(`${i.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (b.length > n) lines.push(`… ${b.length - n} more bytes`);
  return lines.join("\n");
}
