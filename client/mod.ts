// ActorMQ's client SDK: the same code in browsers, Deno and Node (>= 20).
export { Producer, SendBatchError } from "./producer.ts";
export type { ProducerOptions, SendResult } from "./producer.ts";
export { PullConsumer } from "./pull-consumer.ts";
export type { PullConsumerOptions, PullOptions, PullResult, QueueRef } from "./pull-consumer.ts";
export { PushConsumer } from "./push-consumer.ts";
export type { BatchMessageHandler, ConsumeResult, ConsumerStats, MessageHandler, PushConsumerOptions } from "./push-consumer.ts";
export type { QueueStats } from "./process-queue.ts";
export { allocateAveragely, allocateAveragelyByCircle, allocateConsistentHash } from "./allocate.ts";
export type { AllocatableQueue, AllocateContext, AllocateFunction, AllocateStrategyName } from "./allocate.ts";
export { LocalStorageOffsetStore, MemoryOffsetStore } from "./offset-store.ts";
export type { OffsetStore, StorageLike, StoredOffset } from "./offset-store.ts";
export { Admin } from "./admin.ts";
export type { ClusterBroker, ClusterInfo, ConsumerProgress, MessageQuery, QueueProgress, QueueStatus, TopicConfig, TopicStatus } from "./admin.ts";
export type { ClientOptions } from "./client-core.ts";
export type { SendMessage } from "./outgoing-message.ts";
export type { MessageView } from "./message.ts";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.ts";
export { BrokerError, ErrorCode, PullStatus } from "../protocol/mod.ts";
