// config/topics.cbor: the topic table, rewritten atomically on every change (RocketMQ keeps
// topics.json the same way), so a topic created after the last snapshot survives a crash.
import { decode, encode } from "../../protocol/mod.ts";
import type { TopicConfig } from "../../actors/broker.machine.ts";
import type { Files } from "../../platform/platform.ts";

export class TopicFile {
  private writing: Promise<void> = Promise.resolve();
  private lastSaved = "";

  constructor(private files: Files, private dir: string) {
    files.mkdir(dir);
  }

  load(): Record<string, TopicConfig> {
    const bytes = this.files.readFile(`${this.dir}/topics.cbor`);
    if (!bytes) return {};
    try {
      return decode(bytes) as Record<string, TopicConfig>;
    } catch {
      return {}; // a damaged file: topics come back from the snapshot and the store
    }
  }

  /** Queues a rewrite if the table changed; resolves once the table as it is now is on disk. */
  save(topics: Record<string, TopicConfig>): Promise<void> {
    const key = JSON.stringify(topics);
    if (key === this.lastSaved) return this.writing;
    this.lastSaved = key;
    const bytes = encode(topics);
    this.writing = this.writing.then(() => this.files.writeFileAtomic(`${this.dir}/topics.cbor`, bytes)).catch((e) => console.error("topics.cbor:", e));
    return this.writing;
  }
}
