// Before an op runs: the names its request carries are checked (a group name becomes a topic and
// a directory, %RETRY%<group>), and the session's rights to what the request names. Every
// front-end calls `guardRequest` with the op's name, so the WebSocket and gRPC front-ends share
// one table. What only the stored data names (a send's topics are in its messages, a message
// looked up by id, the topics a list shows) the processors check where they read it.
import { BrokerError, checkGroupName, checkTopicName, ErrorCode, type Request } from "../../protocol/mod.ts";
import { type Action, CLUSTER, groupResource, topicResource } from "./acl.ts";
import type { SessionSecurity } from "./security.ts";

type Guard = (s: SessionSecurity, req: Request) => void;

const READ: readonly Action[] = ["SUB", "ADMIN"];
const ANY: readonly Action[] = ["PUB", "SUB", "ADMIN"];

function text(req: Request, name: string): string {
  const v = req[name];
  if (v === undefined || v === null) throw new BrokerError(ErrorCode.MISSING_FIELD, `${req.op}: "${name}" is required`);
  if (typeof v !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `${req.op}: "${name}" must be a string`);
  return v;
}

const topic = (req: Request) => checkTopicName(text(req, "topic"));
const group = (req: Request) => checkGroupName(text(req, "group"), `${req.op}: group`);
const optionalGroup = (req: Request) => (req.group === undefined || req.group === null ? undefined : group(req));

/** Consumer-side ops on a (topic, group) pair: both need SUB (retry and DLQ topics are their group's). */
const topicAndGroup: Guard = (s, req) => {
  const t = topic(req);
  const g = group(req);
  s.authorize(topicResource(t), "SUB");
  s.authorize(groupResource(g), "SUB");
};

const admin: Guard = (s) => s.authorize(CLUSTER, "ADMIN");

/** Ops that check their resources inside, where the processor reads them. */
const inside: Guard = () => {};

/**
 * Per op: what must hold before it runs. An op missing here (a new one) needs ADMIN on Cluster
 * until it is given its own line: new ops are closed by default.
 */
const guards: Record<string, Guard> = {
  send: inside, // each message's topic (and a transactional one's group)
  sendBatch: inside,
  topicList: inside, // lists only the topics the session has a right to
  heartbeat: inside, // its groups are capped, then each checked
  resendMessage: inside, // SUB on the dead letter's group, PUB on the topic it goes back to
  browseMessages: (s, req) => s.authorize(topicResource(topic(req)), "SUB"),
  overview: (s) => s.authorizeAny(CLUSTER, READ),
  pull: (s, req) => {
    const t = topic(req);
    const g = optionalGroup(req);
    s.authorize(topicResource(t), "SUB");
    if (g !== undefined) s.authorize(groupResource(g), "SUB");
  },
  commitOffset: topicAndGroup,
  queryOffset: topicAndGroup,
  createTopic: (s, req) => s.authorize(topicResource(topic(req)), "ADMIN"),
  deleteTopic: (s, req) => s.authorize(topicResource(topic(req)), "ADMIN"),
  deleteSubGroup: (s, req) => s.authorize(groupResource(group(req)), "ADMIN"),
  topicStatus: (s, req) => s.authorizeAny(topicResource(topic(req)), ANY),
  queryRoute: (s, req) => s.authorizeAny(topicResource(text(req, "topic")), ANY),
  queryMessage: (s, req) => {
    // By id, each result is checked against its topic.
    if (req.msgId === undefined || req.msgId === null) s.authorize(topicResource(topic(req)), "SUB");
  },
  consumerList: (s, req) => s.authorizeAny(groupResource(group(req)), READ),
  consumerProgress: (s, req) => s.authorizeAny(groupResource(group(req)), READ),
  resetOffset: (s, req) => {
    const g = group(req);
    topic(req);
    s.authorize(groupResource(g), "ADMIN");
  },
  sendBack: (s, req) => s.authorize(groupResource(group(req)), "SUB"),
  clusterList: (s) => s.authorizeAny(CLUSTER, READ),
  lockQueues: (s, req) => {
    s.authorize(groupResource(group(req)), "SUB"); // and SUB on each queue's topic, in the op
  },
  unlockQueues: (s, req) => s.authorize(groupResource(group(req)), "SUB"),
  inspect: (s) => s.authorizeAny(CLUSTER, READ),
  registerBroker: admin,
  popMessage: topicAndGroup,
  ackMessage: (s, req) => s.authorize(groupResource(group(req)), "SUB"),
  changeInvisibleDuration: (s, req) => s.authorize(groupResource(group(req)), "SUB"),
  updateSubscriptionGroup: (s, req) => s.authorize(groupResource(group(req)), "ADMIN"),
  getSubscriptionGroup: (s, req) => s.authorizeAny(groupResource(group(req)), READ),
  endTransaction: (s, req) => s.authorizeProducerGroup(checkGroupName(text(req, "group"), "endTransaction: group")),
  createUser: admin,
  updateUser: admin,
  deleteUser: admin,
  listUser: admin,
  createAcl: admin,
  updateAcl: admin,
  deleteAcl: admin,
  listAcl: admin,
};

/** Ops a connection may send before it signs in. */
export const SIGN_IN_OPS: ReadonlySet<string> = new Set(["hello", "auth"]);

/**
 * Checks that the session has signed in (with --auth on), then the request's names and the
 * session's rights; throws the BrokerError to answer with (AUTH_REQUIRED, MISSING_FIELD,
 * WRONG_TYPE, BAD_REQUEST, NO_PERMISSION).
 */
export function guardRequest(s: SessionSecurity, req: Request): void {
  if (SIGN_IN_OPS.has(req.op)) return;
  s.requireSignedIn(req.op); // before anything in the request is looked at
  const guard = Object.hasOwn(guards, req.op) ? guards[req.op] : admin;
  guard(s, req);
}
