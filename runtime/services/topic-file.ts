// config/topics.cbor: the topic table, rewritten atomically on every change (RocketMQ keeps
// topics.json the same way), so a topic created after the last snapshot survives a crash. The
// same kind of file keeps other small tables (config/subscriptionGroups.cbor).
import { decode, encode } from "../../protocol/mod.ts";
import type { TopicConfig } from "../../actors/broker.machine.ts";
import type { Files } from "../../platform/platform.ts";
import { getLogger } from "../log.ts";

const log = getLogger(["actormq", "topics"]);

export class TopicFile<T extends Record<string, unknown> = Record<string, TopicConfig>> {
  private writing: Promise<void> = Promise.resolve();
  private lastSaved = "";

  constructor(private files: Files, private dir: string, private name = "topics.cbor", private problem: (table: unknown) => string | null = () => null) {
    files.mkdir(dir);
  }

  /**
   * The saved table. A file that does not decode, or has another shape (`problem` says why),
   * is set aside (`<name>.bad`) and logged: its contents then come back from elsewhere (topics:
   * the snapshot and the ConsumeQueue directories).
   */
  load(): T {
    const path = `${this.dir}/${this.name}`;
    const bytes = this.files.readFile(path);
    if (!bytes) return {} as T;
    let problem: string | null;
    let table: unknown;
    try {
      table = decode(bytes);
      problem = this.problem(table);
    } catch (e) {
      problem = `not CBOR (${(e as Error).message})`;
    }
    if (!problem) return table as T;
    this.files.rename(path, `${path}.bad`);
    log.error("config/{name} cannot be used ({problem}): set aside as {name}.bad", { name: this.name, problem });
    return {} as T;
  }

  /** Queues a rewrite if the table changed; resolves once the table as it is now is on disk. */
  save(topics: T): Promise<void> {
    const key = JSON.stringify(topics);
    if (key === this.lastSaved) return this.writing;
    this.lastSaved = key;
    const bytes = encode(topics);
    this.writing = this.writing.then(() => this.files.writeFileAtomic(`${this.dir}/${this.name}`, bytes)).catch((e) => log.error("writing config/{name} failed: {error}", { name: this.name, error: e }));
    return this.writing;
  }
}
