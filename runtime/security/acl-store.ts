// The ACL file (--acl-file): read at start, re-read when it changes (polled: a stat every
// interval, the same on Node and Deno, and it sees editors that replace the file), and rewritten
// atomically by the admin commands. A file that no longer parses is not applied: the ACL in force
// stays, and the broker says why once.
import type { Clock, Files } from "../../platform/platform.ts";
import { type AclDocument, checkDocument, CompiledAcl } from "./acl.ts";

export class AclStore {
  private compiled: CompiledAcl;
  private stamp: string;
  private timer: unknown;
  private clock?: Clock;
  private writing: Promise<void> = Promise.resolve();
  private lastError = "";
  /** Bumped on every change: sessions cache decisions per version. */
  version = 1;

  private constructor(
    private readonly files: Files,
    readonly path: string,
    doc: AclDocument,
    stamp: string,
    private readonly log: (line: string) => void,
  ) {
    this.compiled = new CompiledAcl(doc);
    this.stamp = stamp;
  }

  /** Reads and checks the file; throws an Error with one line saying what is wrong. */
  static open(files: Files, path: string, log: (line: string) => void = () => {}): AclStore {
    const { doc, stamp } = read(files, path);
    return new AclStore(files, path, doc, stamp, log);
  }

  get acl(): CompiledAcl {
    return this.compiled;
  }

  get document(): AclDocument {
    return this.compiled.doc;
  }

  /** Polls the file every intervalMs and applies a changed one. */
  watch(clock: Clock, intervalMs: number): void {
    const tick = () => {
      this.reloadIfChanged();
      this.timer = clock.setTimeout(tick, intervalMs);
    };
    this.clock = clock;
    this.timer = clock.setTimeout(tick, intervalMs);
  }

  /** Re-reads the file if its size or modification time changed; true when a new ACL is in force. */
  reloadIfChanged(): boolean {
    const stat = this.files.stat(this.path);
    const stamp = stat ? `${stat.mtimeMs}:${stat.size}` : "missing";
    if (stamp === this.stamp) return false;
    try {
      const next = read(this.files, this.path);
      this.stamp = next.stamp;
      this.install(next.doc);
      this.lastError = "";
      this.log(`ACL file ${this.path} reloaded: ${next.doc.users.length} users, ${next.doc.acls.length} ACLs`);
      return true;
    } catch (e) {
      const why = (e as Error).message;
      if (why !== this.lastError) this.log(`ACL file ${this.path} not applied, the previous ACL stays in force: ${why}`);
      this.lastError = why;
      this.stamp = stamp; // said once; a fixed file has a new stamp
      return false;
    }
  }

  /**
   * An admin command: applies a pure edit to the document in force and writes the file. Edits
   * run one at a time; the new ACL is in force once the file is on disk.
   */
  edit(change: (doc: AclDocument) => AclDocument): Promise<void> {
    const run = this.writing.then(async () => {
      const doc = change(this.compiled.doc); // throws BAD_REQUEST for a bad edit: nothing written
      await this.files.writeFileAtomic(this.path, new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n"));
      const stat = this.files.stat(this.path);
      this.stamp = stat ? `${stat.mtimeMs}:${stat.size}` : "missing";
      this.install(doc);
    });
    this.writing = run.catch(() => {});
    return run;
  }

  close(): void {
    if (this.timer !== undefined) this.clock?.clearTimeout(this.timer);
  }

  private install(doc: AclDocument): void {
    this.compiled = new CompiledAcl(doc);
    this.version++;
  }
}

function read(files: Files, path: string): { doc: AclDocument; stamp: string } {
  const stat = files.stat(path);
  const bytes = files.readFile(path);
  if (!stat || !bytes) throw new Error(`ACL file ${path} does not exist`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`ACL file ${path} is not JSON: ${(e as Error).message}`);
  }
  try {
    return { doc: checkDocument(json), stamp: `${stat.mtimeMs}:${stat.size}` };
  } catch (e) {
    throw new Error(`ACL file ${path}: ${(e as Error).message}`);
  }
}
