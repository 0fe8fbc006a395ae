// Names a client gives the broker to keep (RocketMQ's TopicValidator and Validators): a group's
// name becomes topics (%RETRY%<group>, %DLQ%<group>), directories and actor ids, so it is
// checked in every op that takes it, with a named error, not only where it first appears.
import { BrokerError, ErrorCode } from "./errors.ts";

/** RocketMQ's CHARACTER_MAX_LENGTH for a consumer or producer group. */
export const MAX_GROUP_LENGTH = 255;
/** RocketMQ's legal characters for topics and groups. */
export const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;

/** Throws BAD_REQUEST (WRONG_TYPE for a non-string) unless `group` is 1..255 characters of [%|a-zA-Z0-9_-]. */
export function checkGroupName(group: unknown, what = "group"): string {
  if (typeof group !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `${what} must be a string`);
  if (group.length === 0 || group.length > MAX_GROUP_LENGTH || !NAME_PATTERN.test(group)) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `${what} "${group.slice(0, 40)}${group.length > 40 ? "..." : ""}" must be 1..${MAX_GROUP_LENGTH} characters of [%|a-zA-Z0-9_-]`);
  }
  return group;
}

/** Client ids are RocketMQ's ip@pid@name or anything printable, without spaces, bounded. */
export const MAX_CLIENT_ID_LENGTH = 255;
const CLIENT_ID = /^[\x21-\x7e]+$/;

export function checkClientId(clientId: unknown): string {
  if (typeof clientId !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "clientId must be a string");
  if (clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH || !CLIENT_ID.test(clientId)) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `clientId must be 1..${MAX_CLIENT_ID_LENGTH} printable ASCII characters without spaces`);
  }
  return clientId;
}
