// The platform, as the rest of ActorMQ sees it: the bottom layer. Only platform/ touches node:*
// or Deno.*; storage/ and runtime/ import these interfaces downward and receive a Platform (or
// just its Files and Clock) and stay portable. platform/node/ and platform/deno/ implement it.
//
// File I/O is synchronous on purpose: appends and reads hit the page cache, and a synchronous
// positional write of one batch costs less than a trip through a thread pool. Only fsync, which
// waits on the disk, is asynchronous, so group commit can gather writes while a sync is running.

/**
 * The most one write(2) is given; longer writes go in pieces. On this project's machine (Linux
 * 6.18, ext4) one write of 128 KiB or more into the page cache runs at 130-400 MB/s, where
 * 64 KiB pieces run at 2-3 GB/s (dd shows the same cliff, so it is the kernel's). The CommitLog
 * writes its batches whole, 1 MiB and more: in pieces, publish went from ~72,000 to ~116,000
 * msg/s and the broker's CPU per message halved (bench/RESULTS.md). Elsewhere it costs a few
 * more syscalls per megabyte.
 */
export const WRITE_PIECE = 64 * 1024;

export interface FileHandle {
  /** Reads into buf at a file position; returns the bytes read (fewer at end of file). */
  read(buf: Uint8Array, position: number): number;
  /** Writes all of buf at a file position. */
  write(buf: Uint8Array, position: number): void;
  /** fdatasync: data (and the size) reach the disk. */
  sync(): Promise<void>;
  truncate(length: number): void;
  size(): number;
  close(): void;
}

export interface FileStat {
  size: number;
  isFile: boolean;
  isDirectory: boolean;
  mtimeMs: number;
}

export interface Files {
  /** Opens for read and write, creating the file if it is missing (and create is not false). */
  open(path: string, options?: { create?: boolean }): FileHandle;
  readFile(path: string): Uint8Array | null;
  /** Writes a whole file atomically: temporary file, fsync, rename, fsync of the directory. */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
  stat(path: string): FileStat | null;
  /** Names in a directory, sorted; [] when it does not exist. */
  list(dir: string): string[];
  rename(from: string, to: string): void;
  remove(path: string, options?: { recursive?: boolean }): void;
  mkdir(path: string): void;
  /** Creates a file with data only if it does not exist (O_EXCL); false if it does. */
  createExclusive(path: string, data: Uint8Array): boolean;
  /** Bytes free on the file system holding path, and its total size (for retention and disk guards). */
  diskUsage(path: string): { free: number; total: number } | null;
}

/** A WebSocket connection as the server sees it. */
export interface ServerSocket {
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet sent (for flow control on slow readers). */
  readonly bufferedAmount: number;
  readonly remoteAddress: string;
  /** The upgrade request's Origin header (browsers send it; other clients usually do not). */
  readonly origin?: string;
  /** The upgrade request's Host header: a page of the broker's own origin names the same host. */
  readonly host?: string;
  /** Stops / restarts reading frames (Node; Deno's WebSocket cannot), to push back on a client that does not read. */
  pause?(): void;
  resume?(): void;
  /** Drops the connection at once, unsent bytes and all (Node; Deno's WebSocket can only close). */
  terminate?(): void;
}

export interface SocketHandlers {
  onOpen(socket: ServerSocket): void;
  onMessage(socket: ServerSocket, data: Uint8Array): void;
  onClose(socket: ServerSocket): void;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

/** PEM text of a certificate chain and its key; `ca` (optional) makes clients present a certificate it signed. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

export interface ServeOptions {
  host: string;
  port: number;
  /** Serve https:// and wss:// instead of http:// and ws://. */
  tls?: TlsFiles;
  /** Frames above this size close the socket with FRAME_TOO_LARGE. */
  maxFrameSize: number;
  socket: SocketHandlers;
  /** Plain HTTP requests (everything but the /ws upgrade). */
  http(method: string, path: string, headers: HttpHeaders): HttpResponse | Promise<HttpResponse>;
}

/** Request headers by lower-case name. */
export interface HttpHeaders {
  get(name: string): string | undefined;
}

export interface Server {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** An outgoing WebSocket (a broker's registration with a name server, a name server forwarding to a broker). */
export interface ClientSocket {
  send(data: Uint8Array): void;
  close(): void;
}

/** wss:// to a peer: CAs to trust instead of the system's, and a client certificate for a peer that asks (its --tls-ca). */
export interface TlsDialOptions {
  ca?: string | string[];
  cert?: string;
  key?: string;
}

export interface DialOptions {
  /** Time allowed for the handshake. */
  timeoutMs: number;
  tls?: TlsDialOptions;
  onMessage(data: Uint8Array): void;
  /** The socket closed (after it opened). */
  onClose(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Platform {
  readonly name: "node" | "deno";
  files: Files;
  clock: Clock;
  /** Path joining with "/" (both runtimes accept it on every OS we target). */
  join(...parts: string[]): string;
  serve(options: ServeOptions): Promise<Server>;
  /** Opens a WebSocket to a ws:// URL; rejects when it cannot (refused, no handshake in time). */
  dial(url: string, options: DialOptions): Promise<ClientSocket>;
  /** Schedules fn after the current I/O turn (setImmediate where there is one). */
  afterTurn(fn: () => void): void;
  /**
   * Sends now the frames the broker's sockets gathered in this turn; they otherwise leave together
   * at its end (one writev per socket). A long poll woken by a write is answered in the middle of a
   * turn that goes on to build that write's acks: its answer need not wait for them.
   */
  sendGathered(): void;
  /** CRC-32 (IEEE, as zlib's) of the bytes, unsigned, native where the runtime has one; absent on Node before 20.15. */
  crc32?: (data: Uint8Array) => number;
  memoryUsage(): { rss: number; heapUsed: number };
  /** The machine's physical memory, bytes (a replicated master's slave-read rule is a share of it). */
  totalMemory(): number;
  /**
   * A full GC, when the process has --expose-gc (runtime/main.ts sets it on Node; deno.json's
   * start task passes it to Deno); undefined otherwise, so a broker embedded in a process started
   * without it never collects that process's heap (with it, --idle-gc 0 keeps it from doing so).
   */
  collectGarbage(): (() => void) | undefined;
  /**
   * Gives the C allocator's freed pages back to the system (glibc's malloc_trim(0)), where the
   * runtime can call it: Linux with glibc, through Deno's FFI or, on Node, the optional dependency
   * koffi; undefined elsewhere.
   */
  trimAllocator(): (() => void) | undefined;
  /** Sets V8 flags at run time, before the broker allocates (a no-op on Deno, which takes them only on its command line). */
  setV8Flags(flags: readonly string[]): void;
  process: {
    args(): string[];
    env(name: string): string | undefined;
    exit(code: number): never;
    /** Called once on SIGINT or SIGTERM. */
    onSignal(fn: (signal: string) => void): void;
    readText(path: string): string;
    /** This process's id. */
    readonly pid: number;
    /**
     * A mark of a process's start, the same for its whole life (Linux: its start time from
     * /proc), so a reused pid is told apart; "" when alive but unknown; null if no such process.
     */
    startMark(pid: number): string | null;
  };
}
