export * from "./codec.ts";
export * from "./cbor-writer.ts";
export * from "./errors.ts";
export * from "./frame.ts";
export * from "./message.ts";
export * from "./ops.ts";
export * from "./subscription.ts";
export * from "./topics.ts";
