// Named error codes of the wire protocol. Errors are values with codes at the protocol edge
// and BrokerError exceptions inside; the server turns one into the other.

export const ErrorCode = {
  MALFORMED_FRAME: "MALFORMED_FRAME", // not CBOR, or not a map
  FRAME_TOO_LARGE: "FRAME_TOO_LARGE", // the socket is closed with this reason
  UNKNOWN_OP: "UNKNOWN_OP",
  MISSING_FIELD: "MISSING_FIELD",
  WRONG_TYPE: "WRONG_TYPE",
  BAD_REQUEST: "BAD_REQUEST", // a field is present and typed right but its value is not allowed
  MESSAGE_TOO_LARGE: "MESSAGE_TOO_LARGE",
  TOPIC_NOT_FOUND: "TOPIC_NOT_FOUND",
  QUEUE_NOT_FOUND: "QUEUE_NOT_FOUND",
  NO_PERMISSION: "NO_PERMISSION", // the topic's perm bits, or the ACL: the message names the resource and action
  AUTH_REQUIRED: "AUTH_REQUIRED", // --auth on and the connection has not signed in
  AUTH_FAILED: "AUTH_FAILED", // unknown access key, wrong signature, stale timestamp, no challenge to answer
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED", // a configured limit; the error's "limit" field names it
  FLUSH_TIMEOUT: "FLUSH_TIMEOUT",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE", // shutting down
  DISK_FULL: "DISK_FULL", // writes refused: the disk is above --disk-full-ratio, or a write found no space; reads go on
  STORAGE_ERROR: "STORAGE_ERROR", // the store could not write this message (the message says why); nothing was stored
  INVALID_RECEIPT_HANDLE: "INVALID_RECEIPT_HANDLE", // POP: not a receipt handle of this group, or its message is visible again
  TIMEOUT: "TIMEOUT", // client side: no response in time
  CONNECTION_CLOSED: "CONNECTION_CLOSED", // client side: the socket went away with requests in flight
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class BrokerError extends Error {
  /** Extra fields for the error response, e.g. where a message was stored before a FLUSH_TIMEOUT. */
  constructor(readonly code: ErrorCode | string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = "BrokerError";
  }
}
