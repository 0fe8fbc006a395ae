// Op codes of the wire protocol; docs/PROTOCOL.md documents each with an example frame.

export const Op = {
  send: "send",
  sendBatch: "sendBatch",
  pull: "pull",
  heartbeat: "heartbeat",
  queryRoute: "queryRoute",
  consumerList: "consumerList",
  commitOffset: "commitOffset",
  queryOffset: "queryOffset",
  sendBack: "sendBack",
  lockQueues: "lockQueues",
  unlockQueues: "unlockQueues",
  endTransaction: "endTransaction",
  registerBroker: "registerBroker",
  createTopic: "createTopic",
  topicList: "topicList",
  topicStatus: "topicStatus",
  consumerProgress: "consumerProgress",
  queryMessage: "queryMessage",
  resetOffset: "resetOffset",
  inspect: "inspect",
  overview: "overview",
  browseMessages: "browseMessages",
  resendMessage: "resendMessage",
  clusterList: "clusterList",
  deleteExpiredCommitLog: "deleteExpiredCommitLog",
  deleteTopic: "deleteTopic",
  deleteSubGroup: "deleteSubGroup",
  popMessage: "popMessage",
  ackMessage: "ackMessage",
  changeInvisibleDuration: "changeInvisibleDuration",
  updateSubscriptionGroup: "updateSubscriptionGroup",
  getSubscriptionGroup: "getSubscriptionGroup",
  // Signing in and its administration (docs/SECURITY.md).
  hello: "hello",
  auth: "auth",
  createUser: "createUser",
  updateUser: "updateUser",
  deleteUser: "deleteUser",
  listUser: "listUser",
  createAcl: "createAcl",
  updateAcl: "updateAcl",
  deleteAcl: "deleteAcl",
  listAcl: "listAcl",
} as const;

export type Op = (typeof Op)[keyof typeof Op];

/** Pull outcomes, RocketMQ's names. */
export const PullStatus = {
  FOUND: "FOUND",
  NO_NEW_MSG: "NO_NEW_MSG",
  NO_MATCHED_MSG: "NO_MATCHED_MSG",
  OFFSET_ILLEGAL: "OFFSET_ILLEGAL",
  /** The offset is below the queue's min offset (retention deleted it): resume at nextOffset. */
  OFFSET_MOVED: "OFFSET_MOVED",
} as const;
export type PullStatus = (typeof PullStatus)[keyof typeof PullStatus];
