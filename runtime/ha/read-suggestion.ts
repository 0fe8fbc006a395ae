// Which member of its group a consumer should pull a queue from next (RocketMQ's
// suggestWhichBrokerId, under slaveReadEnable), answered with every pull a group member serves.
//
// The rule (docs/REPLICATION.md#reads-from-slaves): a pull whose last message ends more than
// `behindBytes` before the master's CommitLog end is reading what the master's memory probably
// no longer holds (RocketMQ's accessMessageInMemoryMaxRatio: 40% of physical memory); serving it
// would read the disk and push out of the page cache what consumers that keep up and the
// slaves' stream read. The master suggests a slave that holds more than the consumer has read;
// the slave serves it, and suggests the master again once the consumer is within half of that
// distance (the half keeps a consumer near the line from moving at every pull) or has read all
// the slave holds. Commits never go to a slave (the client sends them to the master).

export interface SlaveReadRule {
  enabled: boolean;
  /** A pull further behind the master's end than this is suggested a slave. */
  behindBytes: number;
}

/** What a master knows of a slave, for choosing one. */
export interface SlaveView {
  brokerId: number;
  /** What it holds: everything below this CommitLog offset. */
  ackOffset: number;
  inSync: boolean;
}

/**
 * A master's suggestion: a slave when the pull ended (at `pulledTo`, the end of its last
 * message; undefined when it found none) far behind `end`; else itself. Of the connected slaves
 * that hold more than the consumer read, the in-sync ones first, spread over queues by id.
 */
export function masterSuggestion(rule: SlaveReadRule, selfId: number, end: number, queueId: number, pulledTo: number | undefined, slaves: readonly SlaveView[]): number {
  if (!rule.enabled || pulledTo === undefined || end - pulledTo <= rule.behindBytes) return selfId;
  const holding = slaves.filter((s) => s.ackOffset > pulledTo);
  const inSync = holding.filter((s) => s.inSync);
  const pick = inSync.length > 0 ? inSync : holding;
  return pick.length > 0 ? pick[queueId % pick.length].brokerId : selfId;
}

/**
 * A slave's suggestion: the master (`masterId`, undefined while this slave is not replicating
 * from one) once the consumer is within half the distance of the master's end, or found nothing
 * more here; else itself.
 */
export function slaveSuggestion(rule: SlaveReadRule, selfId: number, masterId: number | undefined, masterEnd: number, pulledTo: number | undefined): number {
  if (masterId === undefined) return selfId;
  if (!rule.enabled || pulledTo === undefined || masterEnd - pulledTo <= rule.behindBytes / 2) return masterId;
  return selfId;
}
