// Message search by msgId or by topic and key (the queryMessage op): where the message is
// (topic, queue, offset, store time) and which consumer groups have consumed it, i.e. whose
// committed offset on its queue is past it. Bodies are not shown: only their size.
import { fromQueryItem } from "../client/message.ts";
import type { MessageView } from "../protocol/mod.ts";
import type { InspectorConnection } from "./connection.ts";
import { h } from "./dom.ts";
import type { Model } from "./model.ts";

export function attachSearch(form: HTMLFormElement, mode: HTMLSelectElement, topic: HTMLInputElement, input: HTMLInputElement, out: HTMLElement, conn: InspectorConnection, model: Model): void {
  mode.addEventListener("change", () => {
    topic.hidden = mode.value !== "key";
    topic.required = mode.value === "key";
    input.placeholder = mode.value === "key" ? "key" : "message id";
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const args: Record<string, unknown> = mode.value === "key" ? { topic: topic.value.trim(), key: input.value.trim() } : { msgId: input.value.trim() };
    out.replaceChildren(h("p", { class: "hint" }, "searching…"));
    try {
      const r = await conn.request("queryMessage", args);
      const msgs = (Array.isArray(r.msgs) ? r.msgs : []).map(fromQueryItem);
      out.replaceChildren(...(msgs.length ? msgs.map((m) => result(m, model)) : [h("p", { class: "empty", "data-found": "0" }, "no such message")]));
    } catch (e) {
      out.replaceChildren(h("p", { class: "error" }, (e as Error).message));
    }
  });
}

function result(m: MessageView, model: Model): HTMLElement {
  const consumedBy: string[] = [];
  const notYet: string[] = [];
  for (const a of model.actors.values()) {
    if (a.kind !== "group") continue;
    const offsets = (a.context as { offsets?: Record<string, number> })?.offsets ?? {};
    const committed = offsets[`${m.topic}:${m.queueId}`];
    if (committed === undefined) continue;
    (committed > m.queueOffset ? consumedBy : notYet).push(a.id.slice("group:".length));
  }
  const bodySize = typeof m.body === "string" ? new TextEncoder().encode(m.body).length : m.body?.length ?? 0;
  const row = (k: string, v: string) => h("tr", { "data-key": k }, h("th", {}, k), h("td", {}, v));
  return h("div", { class: "result", "data-msg-id": m.id },
    h("table", { class: "kv" },
      row("msgId", m.id),
      row("topic", m.topic),
      row("queue", String(m.queueId)),
      row("offset", String(m.queueOffset)),
      row("stored", new Date(m.storeTimestamp).toISOString()),
      m.tags ? row("tags", m.tags) : null,
      m.keys?.length ? row("keys", m.keys.join(", ")) : null,
      row("body", `${bodySize} bytes`),
      row("consumed by", consumedBy.join(", ") || "no group yet"),
      notYet.length ? row("not yet by", notYet.join(", ")) : null));
}
