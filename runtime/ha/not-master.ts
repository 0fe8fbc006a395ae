import { BrokerError } from "../../protocol/mod.ts";

/** What a replicated group's slave answers a write: its master takes them. */
export function notMaster(brokerName: string, master: string | undefined): BrokerError {
  return new BrokerError("NOT_MASTER", `broker ${brokerName} is a slave of its group${master ? `; its master is ${master}` : ""}: writes go to the master`, master ? { master } : undefined);
}
