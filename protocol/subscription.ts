// Subscription expressions, RocketMQ's tag syntax: "*" (everything), "TagA", "TagA || TagB".
import { BrokerError, ErrorCode } from "./errors.ts";
import { tagsCode } from "./message.ts";

export interface Subscription {
  expression: string;
  /** null: everything matches. */
  tags: Set<string> | null;
  codes: Set<number> | null;
}

export function parseSubscription(expression: string | undefined): Subscription {
  const expr = (expression ?? "*").trim();
  if (expr === "" || expr === "*") return { expression: "*", tags: null, codes: null };
  const tags = expr.split("||").map((t) => t.trim());
  if (tags.some((t) => t === "" || t === "*")) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `bad subscription expression "${expr}": use "*", "TagA" or "TagA || TagB"`);
  }
  return { expression: expr, tags: new Set(tags), codes: new Set(tags.map(tagsCode)) };
}

/** Broker-side test on the ConsumeQueue's tags code. */
export function matchesCode(sub: Subscription, code: number): boolean {
  return sub.codes === null || sub.codes.has(code);
}

/** Client-side confirmation on the tag itself. */
export function matchesTag(sub: Subscription, tags: string | undefined): boolean {
  return sub.tags === null || (tags !== undefined && sub.tags.has(tags));
}
