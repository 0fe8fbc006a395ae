// Files on Node: synchronous positional I/O on file descriptors, fdatasync through the pool.
import * as fs from "node:fs";
import { dirname } from "node:path";
import { type FileHandle, type Files, type FileStat, WRITE_PIECE } from "../platform.ts";

class NodeFileHandle implements FileHandle {
  constructor(private fd: number) {}

  read(buf: Uint8Array, position: number): number {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(buf: Uint8Array, position: number): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, Math.min(buf.length - done, WRITE_PIECE), position + done);
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  truncate(length: number): void {
    fs.ftruncateSync(this.fd, length);
  }

  size(): number {
    return fs.fstatSync(this.fd).size;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export const nodeFiles: Files = {
  open(path, options) {
    const flags = options?.create === false ? "r+" : fs.existsSync(path) ? "r+" : "w+";
    return new NodeFileHandle(fs.openSync(path, flags));
  },
  readFile(path) {
    try {
      return fs.readFileSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  },
  async writeFileAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const fh = await fs.promises.open(tmp, "w");
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, path);
    const dir = await fs.promises.open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  },
  stat(path): FileStat | null {
    try {
      const s = fs.statSync(path);
      return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  },
  list(dir) {
    try {
      return fs.readdirSync(dir).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  },
  rename(from, to) {
    fs.renameSync(from, to);
  },
  createExclusive(path, data) {
    let fd: number;
    try {
      fd = fs.openSync(path, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
    try {
      fs.writeSync(fd, data);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  },
  remove(path, options) {
    fs.rmSync(path, { force: true, recursive: options?.recursive ?? false });
  },
  mkdir(path) {
    fs.mkdirSync(path, { recursive: true });
  },
  diskUsage(path) {
    try {
      const s = fs.statfsSync(path);
      return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
    } catch {
      return null;
    }
  },
};
