/**
 * The application heartbeat of one connection. Once subscribed, `{"event":"bts:heartbeat"}` goes out
 * every `heartbeatMs` and the exchange answers it, so a healthy connection never stays silent longer
 * than about one round trip after a heartbeat, however quiet its books are (the watchdog,
 * liveness-watchdog.ts, relies on that).
 *
 * The exchange writes in order, so an answered heartbeat also proves that every frame it sent on the
 * connection before the answer has been received: `drain()` is built on that.
 */
import { heartbeatFrame } from "./client-frames.ts";

export class Heartbeat {
  private sent = 0;
  private answered = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private readonly drainWaiters: { seq: number; done: (answered: boolean) => void }[] = [];

  /** `send` puts a frame on the connection's socket (it may throw when the socket is going away). */
  constructor(private readonly send: (frame: string) => void) {}

  /** Sends one every `intervalMs` from now on; 0 = none. */
  start(intervalMs: number): void {
    if (intervalMs > 0) this.timer = setInterval(() => this.beat(), intervalMs);
  }

  /** Sends one heartbeat now. */
  beat(): void {
    if (this.stopped) return;
    try {
      this.send(heartbeatFrame());
      this.sent++;
    } catch {
      // The socket is going away; its close event or the watchdog ends it.
    }
  }

  /** The exchange answered a heartbeat. */
  onAnswer(): void {
    this.answered++;
    const waiters = this.drainWaiters;
    while (waiters.length > 0 && waiters[0]!.seq <= this.answered) waiters.shift()!.done(true);
  }

  /**
   * Sends a heartbeat and resolves true once it is answered; false after `timeoutMs` or if the
   * heartbeat stops first (the connection ended).
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.beat();
    const seq = this.sent;
    return new Promise<boolean>((done) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (answered: boolean) => {
        clearTimeout(timer);
        const at = this.drainWaiters.indexOf(waiter);
        if (at >= 0) this.drainWaiters.splice(at, 1);
        done(answered);
      };
      const waiter = { seq, done: finish };
      this.drainWaiters.push(waiter);
    });
  }

  /** The connection ended: no more heartbeats, and every pending `drain()` resolves false. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const waiter of this.drainWaiters.splice(0)) waiter.done(false);
  }

  /** Heartbeats sent and answered. */
  counts(): { sent: number; answered: number } {
    return { sent: this.sent, answered: this.answered };
  }
}
