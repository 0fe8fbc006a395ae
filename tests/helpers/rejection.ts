import * as assert from "uvu/assert";
import { BrokerError } from "../../protocol/mod.ts";

/** The BrokerError a promise rejects with; fails the test if it resolves or rejects otherwise. */
export async function rejection(p: Promise<unknown>): Promise<BrokerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BrokerError, `a BrokerError, not ${e}`);
    return e as BrokerError;
  }
  assert.unreachable("resolved");
  throw new Error("unreachable");
}
