/**
 * The runtime's ports: what the core needs from the runtime, implemented for Bun in src/runtime/bun/.
 * The core names no Bun API (tests/unit/core-portability.test.ts); a runtime passes these in.
 */

// ---------------------------------------------------------------------------------------------
// WebSocket client (src/runtime/bun/websocket.ts)

/** The subset of the WHATWG WebSocket the exchange connection uses, so tests and runtimes can supply one. */
export interface FeedSocket {
  binaryType: "blob" | "arraybuffer" | "nodebuffer";
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, without the closing handshake (Bun; `close()` is the fallback). */
  terminate?(): void;
}

export type SocketFactory = (url: string) => FeedSocket;

// ---------------------------------------------------------------------------------------------
// HTTP server (src/runtime/bun/http.ts): the metrics endpoint

export interface ListenHttpOptions {
  hostname: string;
  port: number;
  fetch(request: Request): Response | Promise<Response>;
}

export interface HttpListener {
  /** The bound port (the one asked for, or the one picked for port 0). */
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts an HTTP server; throws when the address cannot be bound. */
export type ListenHttp = (options: ListenHttpOptions) => HttpListener;

// ---------------------------------------------------------------------------------------------
// The kernel's file lock (src/runtime/bun/file-lock.ts): one capture per journal directory

/** The kernel's advisory file lock, passed in by the runtime (`src/runtime/bun/file-lock.ts`). */
export interface FileLock {
  /**
   * `flock(fd, LOCK_EX | LOCK_NB)`: true when taken (until `fd` is closed), false when another open
   * file holds it (EWOULDBLOCK). Throws on any other failure (ENOLCK, flock unavailable).
   */
  tryLockExclusive(fd: number): boolean;
}

// ---------------------------------------------------------------------------------------------
// Stop signals (src/runtime/bun/signals.ts)

/** Calls `onStop` on SIGINT/SIGTERM; returns a function that removes the handlers. */
export type OnStopSignal = (onStop: (signal: string) => void) => () => void;

// ---------------------------------------------------------------------------------------------
// Workers (src/runtime/bun/worker.ts, started from src/cli/pipeline-worker-url.ts)

/** Starts the capture's pipeline Worker (src/cli/pipeline.worker.ts). */
export type CreateWorker = () => Worker;
