// The frame envelope: one WebSocket binary message is one CBOR map.
// Requests { id, op, ...args }, responses { id, code, ...result } (code 0 = success, otherwise a
// named ErrorCode and a message), pushes { op, ... } without an id.
import type { ErrorCode } from "./errors.ts";

export type RequestId = number | string;

export interface Request {
  id: RequestId;
  op: string;
  [arg: string]: unknown;
}

export interface OkResponse {
  id: RequestId;
  code: 0;
  [field: string]: unknown;
}

export interface ErrorResponse {
  id: RequestId | null;
  code: ErrorCode | string;
  message: string;
}

export type Response = OkResponse | ErrorResponse;

export interface Push {
  op: string;
  [field: string]: unknown;
}

/** Largest frame the broker accepts by default: a full batch of maximum-size messages and some. */
export const MAX_FRAME_SIZE = 16 * 1024 * 1024;

/**
 * One item of a pull response's `msgs` array: store metadata, then the stored message map
 * exactly as the producer encoded it.
 */
export type PulledItem = [
  queueOffset: number,
  commitLogOffset: number,
  storeTimestamp: number,
  reconsumeTimes: number,
  flags: number,
  message: Record<string, unknown>,
];
