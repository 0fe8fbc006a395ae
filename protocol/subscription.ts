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
  // A lone "|", a space or a "*" inside a tag is a mistyped expression ("a | b", "a b", "a || *"),
  // not a tag anyone sends: refused rather than matched against nothing.
  if (tags.some((t) => t === "" || t.includes("*") || /[|\s]/.test(t))) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `bad subscription expression "${expr}": use "*", "TagA" or "TagA || TagB" (tags joined by ||, without spaces or | inside a tag)`);
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
