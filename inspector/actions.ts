// Things people do to a running broker from the console: create a topic, change a topic's
// permission, send a test message, move a consumer group's offsets to a time, run a retention
// pass, delete a topic or a consumer group (also from their actors' detail). Each asks for
// confirmation in a dialog, then reports what the broker answered (or its error) in the
// action log, newest first.
import { encodeMessage, newMessageId } from "../client/outgoing-message.ts";
import type { InspectorConnection } from "./connection.ts";
import { h } from "./dom.ts";
import { bytes, clock, clockMs, perm } from "./human-units.ts";
import type { Model } from "./model.ts";

export type Confirm = (question: string) => Promise<boolean>;
/** Runs an action and logs its outcome: the text it returns, or its error. */
export type Report = (what: string, run: () => Promise<string>) => Promise<boolean>;

/** A confirmation dialog (the page's one <dialog>): resolves true on Confirm. */
export function confirmer(dialog: HTMLDialogElement): Confirm {
  return (question) =>
    new Promise((resolve) => {
      dialog.querySelector(".question")!.textContent = question;
      const done = (ok: boolean) => {
        dialog.removeEventListener("close", onClose);
        if (dialog.open) dialog.close();
        resolve(ok);
      };
      const onClose = () => done(dialog.returnValue === "confirm");
      dialog.returnValue = "";
      dialog.addEventListener("close", onClose);
      dialog.showModal();
      (dialog.querySelector("button[value=cancel]") as HTMLButtonElement).focus();
    });
}

export function reporter(log: HTMLElement): Report {
  return async (what, run) => {
    const entry = h("li", { "data-outcome": "running" }, h("time", {}, clockMs(Date.now())), " ", h("b", {}, what), ": ", h("span", { class: "outcome" }, "…"));
    log.prepend(entry);
    log.closest("details")?.setAttribute("open", "");
    try {
      const text = await run();
      entry.dataset.outcome = "ok";
      entry.querySelector(".outcome")!.textContent = text;
      return true;
    } catch (e) {
      entry.dataset.outcome = "error";
      // The broker's named code first (NO_PERMISSION, TOPIC_NOT_FOUND, ...), then what it said.
      const code = (e as { code?: unknown }).code;
      entry.querySelector(".outcome")!.textContent = typeof code === "string" && !(e as Error).message.startsWith(code) ? `${code}: ${(e as Error).message}` : (e as Error).message;
      return false;
    }
  };
}

const PERMS = [6, 4, 2, 0];

export class ActionsView {
  private readonly topicNames = h("datalist", { id: "action-topics" });
  private readonly groupSelect = h("select", { id: "reset-group", name: "group", required: true, "aria-label": "consumer group" }) as HTMLSelectElement;
  private readonly groupNames = h("datalist", { id: "action-groups" });

  constructor(readonly el: HTMLElement, private readonly conn: InspectorConnection, private readonly model: Model, private readonly confirm: Confirm, private readonly report: Report) {
    el.replaceChildren(
      h("h2", {}, "Actions"),
      h("p", { class: "hint" }, "Each action asks for confirmation and reports the broker's answer in the log below."),
      this.topicNames,
      this.groupNames,
      h("div", { class: "action-grid" },
        this.card("create-topic", "Create a topic", [
          field("name", "topic", { required: true, pattern: "[%|a-zA-Z0-9_-]{1,127}", placeholder: "Orders" }),
          field("queues", "queues", { type: "number", min: "1", max: "1024", value: "4", required: true }),
          permSelect("perm"),
        ], "Create", (f) => this.createTopic(f)),
        this.card("set-perm", "Change a topic's permission", [
          field("topic", "topic", { required: true, list: "action-topics" }),
          permSelect("perm"),
        ], "Change", (f) => this.setPerm(f)),
        this.card("send-test", "Send a test message", [
          field("topic", "topic", { required: true, list: "action-topics" }),
          h("label", {}, h("span", {}, "body"), h("textarea", { name: "body", required: true, rows: 3 }, '{"hello":"world"}')),
          field("key", "key", {}),
          field("tags", "tag", {}),
        ], "Send", (f) => this.sendTest(f)),
        this.card("reset-offsets", "Reset a group's offsets to a time", [
          h("label", {}, h("span", {}, "group"), this.groupSelect),
          field("topic", "topic", { required: true, list: "action-topics" }),
          field("time", "to the first message stored at or after", { type: "datetime-local", step: "1", required: true }),
        ], "Reset", (f) => this.resetOffsets(f)),
        this.card("retention", "Run a retention pass", [
          h("p", { class: "hint" }, "Deletes the CommitLog segments older than the broker's --file-reserved-time now, rather than at its --delete-when hour; never one still needed."),
        ], "Run", () => this.retention()),
        this.card("delete-topic", "Delete a topic", [
          field("topic", "topic", { required: true, list: "action-topics" }),
          h("p", { class: "hint" }, "Its queues, routes and every group's offsets of it go; its messages are never served again."),
        ], "Delete", (f) => this.deleteTopic(String(f.get("topic")).trim())),
        this.card("delete-group", "Delete a consumer group", [
          field("group", "group", { required: true, list: "action-groups" }),
          h("label", { class: "check" }, h("input", { type: "checkbox", name: "keepRetryTopics" }), h("span", {}, "keep its %RETRY% and %DLQ% topics")),
        ], "Delete", (f) => this.deleteGroup(String(f.get("group")).trim(), f.get("keepRetryTopics") !== null)),
      ),
    );
  }

  render(): void {
    const o = this.model.overview;
    if (!o) return;
    const names = o.topics.filter((t) => t.kind !== "system").map((t) => t.topic).sort();
    if (this.topicNames.childElementCount !== names.length) this.topicNames.replaceChildren(...names.map((n) => h("option", { value: n })));
    const groups = o.groups.map((g) => g.group).sort();
    if (this.groupNames.childElementCount !== groups.length) this.groupNames.replaceChildren(...groups.map((n) => h("option", { value: n })));
    const have = Array.from(this.groupSelect.options).map((x) => x.value);
    if (have.join("\n") !== groups.join("\n")) {
      const current = this.groupSelect.value;
      this.groupSelect.replaceChildren(...groups.map((g) => h("option", { value: g }, g)));
      if (groups.includes(current)) this.groupSelect.value = current;
    }
  }

  /** `#actions?group=G&topic=T`: fills the reset form. */
  open(params: URLSearchParams): void {
    const group = params.get("group");
    const topic = params.get("topic");
    if (group) this.groupSelect.value = group;
    if (topic) this.el.querySelectorAll<HTMLInputElement>("input[name=topic]").forEach((f) => (f.value = topic));
  }

  private card(id: string, title: string, fields: HTMLElement[], button: string, run: (f: FormData) => Promise<void>): HTMLElement {
    const form = h("form", { id, class: "action card" }, h("h3", {}, title), ...fields, h("button", { type: "submit", class: "primary" }, button)) as HTMLFormElement;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void run(new FormData(form));
    });
    return form;
  }

  private async createTopic(f: FormData): Promise<void> {
    const topic = String(f.get("name")).trim();
    const queues = Number(f.get("queues"));
    const p = Number(f.get("perm"));
    if (this.model.overview?.topics.some((t) => t.topic === topic)) {
      if (!(await this.confirm(`Topic ${topic} exists. Widen it to ${queues} queues (never fewer) and make it ${perm(p)}?`))) return;
    } else if (!(await this.confirm(`Create topic ${topic} with ${queues} queues, ${perm(p)}?`))) return;
    await this.report(`create topic ${topic}`, async () => {
      const r = await this.conn.request("createTopic", { topic, queues, perm: p });
      return `${r.topic}: ${r.queues} queues, ${perm(Number(r.perm))}`;
    });
  }

  private async setPerm(f: FormData): Promise<void> {
    const topic = String(f.get("topic")).trim();
    const p = Number(f.get("perm"));
    const t = this.model.overview?.topics.find((x) => x.topic === topic);
    if (!t) return void this.report(`change permission of ${topic}`, () => Promise.reject(new Error(`no topic ${topic} on this broker`)));
    if (!(await this.confirm(`Make ${topic} ${perm(p)} (it is ${perm(t.perm)} now)?${p & 2 ? "" : " Producers will be refused."}${p & 4 ? "" : " Consumers will get nothing."}`))) return;
    await this.report(`change permission of ${topic}`, async () => {
      const r = await this.conn.request("createTopic", { topic, queues: t.queues, perm: p });
      return `${r.topic} is ${perm(Number(r.perm))}`;
    });
  }

  private async sendTest(f: FormData): Promise<void> {
    const topic = String(f.get("topic")).trim();
    const body = String(f.get("body"));
    const key = String(f.get("key") ?? "").trim();
    const tags = String(f.get("tags") ?? "").trim();
    if (!(await this.confirm(`Send a ${body.length}-character test message to ${topic}? Its consumers will receive it.`))) return;
    await this.report(`send to ${topic}`, async () => {
      const m = encodeMessage({ topic, body, ...(key ? { keys: [key] } : {}), ...(tags ? { tags } : {}), props: { SENT_BY: "actormq-console" } }, newMessageId(), Date.now());
      const r = await this.conn.request("send", { msg: m.bytes });
      return `message ${r.msgId} stored in queue ${r.queueId} at offset ${r.queueOffset}`;
    });
  }

  private async retention(): Promise<void> {
    if (!(await this.confirm("Run a retention pass now? CommitLog segments past the broker's retention time are deleted, with their messages."))) return;
    await this.report("retention pass", async () => retentionOutcome(await this.conn.request("deleteExpiredCommitLog", {})));
  }

  /** deleteTopic, confirmed (the form, or the Delete button of a queue actor's detail). */
  async deleteTopic(topic: string): Promise<void> {
    if (!(await this.confirm(`Delete topic ${topic}? Its queues, routes and every group's offsets of it go, and its messages are never served again. A topic created later with this name starts empty.`))) return;
    await this.report(`delete topic ${topic}`, async () => `${(await this.conn.request("deleteTopic", { topic })).topic} deleted`);
  }

  /** deleteSubGroup, confirmed (the form, or the Delete button of a group actor's detail). */
  async deleteGroup(group: string, keepRetryTopics = false): Promise<void> {
    const topics = keepRetryTopics ? "" : ` with its %RETRY%${group} and %DLQ%${group} topics`;
    if (!(await this.confirm(`Delete consumer group ${group}${topics}? Its committed offsets and settings go; members still running start it again from their next heartbeat.`))) return;
    await this.report(`delete group ${group}`, async () => {
      const r = await this.conn.request("deleteSubGroup", { group, keepRetryTopics });
      const gone = r.topicsDeleted as string[];
      return `${r.group} deleted${gone.length ? `, with ${gone.join(", ")}` : ""}`;
    });
  }

  private async resetOffsets(f: FormData): Promise<void> {
    const group = String(f.get("group"));
    const topic = String(f.get("topic")).trim();
    const timestamp = new Date(String(f.get("time"))).getTime();
    if (!Number.isFinite(timestamp)) return;
    if (!(await this.confirm(`Move ${group}'s offsets on every queue of ${topic} to the first message stored at or after ${clock(timestamp)}? Its members re-consume (or skip) what lies between.`))) return;
    await this.report(`reset ${group} on ${topic}`, async () => {
      const r = await this.conn.request("resetOffset", { group, topic, timestamp });
      const offsets = Object.entries(r.offsets as Record<string, number>).map(([q, o]) => `queue ${q} → ${o}`);
      return `offsets now ${offsets.join(", ")}`;
    });
  }
}

/** "3 segments (192 MiB)" and what holds the rest, from deleteExpiredCommitLog's answer. */
function retentionOutcome(r: Record<string, unknown>): string {
  const held = r.heldBy ? `; the oldest segment left is held by ${r.heldBy} (CommitLog offset ${r.holdOffset})` : "";
  return `deleted ${r.deletedSegments} segment${r.deletedSegments === 1 ? "" : "s"} (${bytes(Number(r.deletedBytes))}), ${r.queuesTruncated} queues truncated; the CommitLog now starts at ${r.minCommitLogOffset}${held}`;
}

function field(name: string, label: string, attrs: Record<string, string | boolean>): HTMLElement {
  return h("label", {}, h("span", {}, label), h("input", { name, ...attrs }));
}

function permSelect(name: string): HTMLElement {
  return h("label", {}, h("span", {}, "permission"), h("select", { name }, ...PERMS.map((p) => h("option", { value: p }, perm(p)))));
}
