/**
 * Declares a connection dead when no frame at all (data, acknowledgement, heartbeat answer) arrived
 * for `staleMs`. Bun gives no close or error event for a silent peer (45 s observed, even while
 * pinging), so without this a dead connection would look like a quiet one.
 */
import type { MicrosClock } from "../../base/clock.ts";

export class LivenessWatchdog {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  /**
   * Armed at once. `lastFrameMicros` is read only when the timer fires; `onStale` gets how long the
   * connection has been silent, once.
   */
  constructor(
    private readonly staleMs: number,
    private readonly clock: MicrosClock,
    private readonly lastFrameMicros: () => number,
    private readonly onStale: (silentMs: number) => void,
  ) {
    this.timer = setTimeout(this.onTimer, staleMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Fires `staleMs` after the last frame known when it was armed. The receive path only stores a
   * number; the timer re-arms itself for the rest of the window, so a busy connection costs one
   * timer per `staleMs` and a dead one is cut `staleMs` after its last frame.
   */
  private readonly onTimer = (): void => {
    if (this.stopped) return;
    const silentMs = (this.clock() - this.lastFrameMicros()) / 1000;
    if (silentMs < this.staleMs) {
      this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(this.staleMs - silentMs)));
      return;
    }
    this.onStale(silentMs);
  };
}
