// The broker-wide limits a request can run into (--max-topics, --max-groups), checked before
// whatever would create the topic or the group. Both counts are kept as topics and groups come and
// go: walking the table for each new one made creating the 10,000th cost as much as 10,000 lookups.
import type { ProcessorContext } from "../context.ts";
import { limitError } from "../security/limits.ts";

/** Throws LIMIT_EXCEEDED when clients have created --max-topics topics (retry, DLQ and system topics aside). */
export function checkTopicLimit(ctx: ProcessorContext): void {
  const n = ctx.topics.userCount;
  if (n >= ctx.config.maxTopics) throw limitError(ctx.security.counters, "topics", `${n} topics exist, the limit (--max-topics); no more are created`);
}

/** Throws LIMIT_EXCEEDED when `group` is new and --max-groups groups exist. */
export function checkGroupLimit(ctx: ProcessorContext, group: string): void {
  if (ctx.groups.exists(group)) return;
  const n = ctx.groups.count();
  if (n >= ctx.config.maxGroups) throw limitError(ctx.security.counters, "groups", `${n} consumer groups exist, the limit (--max-groups); group "${group}" is not created`);
}
