// The inspect op's wire shapes: what the broker sends an inspector and what the page draws.
/** One actor as the inspector shows it: never a message body (actors never hold one). */
export interface ActorView {
  id: string;
  kind: string;
  parent: string | null;
  status: string;
  value: unknown;
  context: unknown;
}

/** One sampled event: when, to and from which actor, its type and its (trimmed) payload. */
export interface EventView {
  t: number;
  to: string;
  from: string | null;
  type: string;
  data?: unknown;
}

/** A machine's states, for drawing it with the current state highlighted. */
export interface StateNodeView {
  key: string;
  type: string;
  initial?: string;
  on: [event: string, targets: string][];
  states: Record<string, StateNodeView>;
}
