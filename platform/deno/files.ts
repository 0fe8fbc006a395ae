// Files on Deno: Deno.open with seek + read/write (Deno has no pwrite; one thread, so the seek
// and the write cannot interleave with another), syncData for fdatasync.
import { statfsSync } from "node:fs";
import { type FileHandle, type Files, type FileStat, WRITE_PIECE } from "../platform.ts";

class DenoFileHandle implements FileHandle {
  constructor(private file: Deno.FsFile) {}

  read(buf: Uint8Array, position: number): number {
    this.file.seekSync(position, Deno.SeekMode.Start);
    let done = 0;
    while (done < buf.length) {
      const n = this.file.readSync(buf.subarray(done));
      if (n === null || n === 0) break;
      done += n;
    }
    return done;
  }

  write(buf: Uint8Array, position: number): void {
    this.file.seekSync(position, Deno.SeekMode.Start);
    let done = 0;
    while (done < buf.length) done += this.file.writeSync(buf.subarray(done, done + WRITE_PIECE));
  }

  sync(): Promise<void> {
    return this.file.syncData();
  }

  truncate(length: number): void {
    this.file.truncateSync(length);
  }

  size(): number {
    return this.file.statSync().size;
  }

  close(): void {
    this.file.close();
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}

export const denoFiles: Files = {
  open(path, options) {
    return new DenoFileHandle(Deno.openSync(path, { read: true, write: true, create: options?.create !== false }));
  },
  readFile(path) {
    try {
      return Deno.readFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  },
  async writeFileAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let done = 0;
      while (done < data.length) done += await f.write(data.subarray(done));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
    const dir = await Deno.open(parentOf(path), { read: true });
    try {
      await dir.sync();
    } catch {
      // Some file systems refuse fsync on a directory; the rename is still atomic.
    } finally {
      dir.close();
    }
  },
  stat(path): FileStat | null {
    try {
      const s = Deno.statSync(path);
      return { size: s.size, isFile: s.isFile, isDirectory: s.isDirectory, mtimeMs: s.mtime?.getTime() ?? 0 };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  },
  list(dir) {
    try {
      return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
  },
  rename(from, to) {
    Deno.renameSync(from, to);
  },
  createExclusive(path, data) {
    let f: Deno.FsFile;
    try {
      f = Deno.openSync(path, { write: true, createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return false;
      throw e;
    }
    try {
      let done = 0;
      while (done < data.length) done += f.writeSync(data.subarray(done));
      f.syncDataSync();
    } finally {
      f.close();
    }
    return true;
  },
  remove(path, options) {
    try {
      Deno.removeSync(path, { recursive: options?.recursive ?? false });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  },
  mkdir(path) {
    Deno.mkdirSync(path, { recursive: true });
  },
  diskUsage(path) {
    // Deno has no statfs of its own; its Node compatibility layer has.
    try {
      const s = statfsSync(path);
      return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
    } catch {
      return null;
    }
  },
};
