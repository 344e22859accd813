/**
 * A minimal WebSocket client for tests: queues every text message so a test can `await next()` in order,
 * with a bound on every wait (no sleeps). Uses the standard WebSocket only.
 */
import { waitFor } from "./wait.ts";

export interface CloseInfo {
  code: number;
  reason: string;
}

export class WsTestClient {
  readonly messages: string[] = [];
  /** Resolves when the socket closes, with the close code the client saw (1006 = no close frame). */
  readonly closed: Promise<CloseInfo>;
  private readIndex = 0;
  /** Re-checks of waits in progress, run on every message and on close. */
  private readonly wakes = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => {
        resolve({ code: event.code, reason: event.reason });
        for (const wake of [...this.wakes]) wake();
      });
    });
    ws.addEventListener("message", (event) => {
      this.messages.push(typeof event.data === "string" ? event.data : String(event.data));
      for (const wake of [...this.wakes]) wake();
    });
  }

  /** Connects and resolves once open; rejects on error or after `timeoutMs`. */
  static open(url: string, timeoutMs = 5_000, perMessageDeflate = true): Promise<WsTestClient> {
    // Bun's constructor takes a non-standard options object; the cast keeps this file web-standard typed.
    const ws = new WebSocket(url, { perMessageDeflate } as unknown as string[]);
    const client = new WsTestClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket open on ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket to ${url} failed`));
      });
    });
  }

  send(frame: string | object): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  subscribe(channel: string): void {
    this.send(`{"event":"bts:subscribe","data":{"channel":"${channel}"}}`);
  }

  /** The next message not yet read; rejects after `timeoutMs` or if the socket closes first. */
  async next(timeoutMs = 5_000): Promise<string> {
    await this.waitUntil(() => this.messages.length > this.readIndex, timeoutMs, "message");
    return this.messages[this.readIndex++] as string;
  }

  /** The next `count` messages. */
  async take(count: number, timeoutMs = 10_000): Promise<string[]> {
    await this.waitUntil(() => this.messages.length >= this.readIndex + count, timeoutMs, `${count} messages`);
    const out = this.messages.slice(this.readIndex, this.readIndex + count);
    this.readIndex += count;
    return out;
  }

  close(): void {
    this.ws.close();
  }

  private async waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitFor(
      () => {
        if (ready()) return true;
        if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}`);
        return false;
      },
      {
        timeoutMs,
        what: () => `${what} (got ${this.messages.length - this.readIndex} unread)`,
        subscribe: (recheck) => {
          this.wakes.add(recheck);
          return () => this.wakes.delete(recheck);
        },
      },
    );
  }
}
