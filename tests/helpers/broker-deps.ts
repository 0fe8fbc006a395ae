// The root machine's effects for actor tests: every one a no-op (nothing due, nothing to check)
// unless the test gives its own.
import type { BrokerDeps } from "../../actors/broker.machine.ts";

export function brokerDeps(own: Partial<BrokerDeps> & Pick<BrokerDeps, "now">): BrokerDeps {
  return {
    snapshotIntervalMs: 1e9,
    snapshot: () => {},
    restartInput: () => ({}),
    releaseHolds: () => {},
    memberExpiryMs: 1e9,
    membersChanged: () => {},
    deliverDue: () => ({ progress: 0, dueAt: 0 }),
    timerTick: () => 1e12,
    checkIntervalMs: 1e9,
    maxChecks: 0,
    armCheck: () => {},
    checkTransaction: () => false,
    writeEnd: () => {},
    popWaitersDue: () => {},
    notInFlight: () => {},
    ...own,
  };
}
