// config/topics.cbor: the topic table, rewritten atomically on every change (RocketMQ keeps
// topics.json the same way), so a topic created after the last snapshot survives a crash. The
// same kind of file keeps other small tables (config/subscriptionGroups.cbor).
import { decode, encode } from "../../protocol/mod.ts";
import type { TopicConfig } from "../../actors/broker.machine.ts";
import type { Files } from "../../platform/platform.ts";

export class TopicFile<T extends Record<string, unknown> = Record<string, TopicConfig>> {
  private writing: Promise<void> = Promise.resolve();
  private lastSaved = "";

  constructor(private files: Files, private dir: string, private name = "topics.cbor") {
    files.mkdir(dir);
  }

  load(): T {
    const bytes = this.files.readFile(`${this.dir}/${this.name}`);
    if (!bytes) return {} as T;
    try {
      return decode(bytes) as T;
    } catch {
      return {} as T; // a damaged file: topics come back from the snapshot and the store
    }
  }

  /** Queues a rewrite if the table changed; resolves once the table as it is now is on disk. */
  save(topics: T): Promise<void> {
    const key = JSON.stringify(topics);
    if (key === this.lastSaved) return this.writing;
    this.lastSaved = key;
    const bytes = encode(topics);
    this.writing = this.writing.then(() => this.files.writeFileAtomic(`${this.dir}/${this.name}`, bytes)).catch((e) => console.error(`${this.name}:`, e));
    return this.writing;
  }
}
