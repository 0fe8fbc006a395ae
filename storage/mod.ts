// The storage layer: bytes on disk. The broker uses the MessageStore facade and the snapshot
// store; the pieces below them are exported for tests and tools.
export * from "./message-store.ts";
export { SnapshotStore, type Snapshot } from "./snapshot-store.ts";
export { CommitLog } from "./commit-log.ts";
export { ConsumeQueue, CQ_ENTRY_SIZE } from "./consume-queue.ts";
export { KeyIndex, hashKey, hashId } from "./key-index.ts";
export { IndexFile } from "./index-file.ts";
export { type Checkpoint, readCheckpoint } from "./checkpoint.ts";
export { BLANK_MIN, HEADER_SIZE, MAGIC_BLANK, MAGIC_MESSAGE } from "./record.ts";
