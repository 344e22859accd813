/**
 * Keeps a storm of similar log lines (a reconnect loop against an exchange that is down) from
 * flooding the log while still saying how many were left out. Pure: the caller passes the time.
 */

/**
 * Lets the first `first` lines through, then one per `everyMs`; `allow` returns false (suppress),
 * 0 (log), or the number of lines suppressed since the last one logged.
 */
export class LogThrottle {
  private count = 0;
  private suppressed = 0;
  private lastMs = 0;

  constructor(
    private readonly first: number,
    private readonly everyMs: number,
  ) {}

  allow(nowMs: number): number | false {
    this.count++;
    if (this.count <= this.first || nowMs - this.lastMs >= this.everyMs) {
      this.lastMs = nowMs;
      const suppressed = this.suppressed;
      this.suppressed = 0;
      return suppressed;
    }
    this.suppressed++;
    return false;
  }

  reset(): void {
    this.count = 0;
    this.suppressed = 0;
  }
}
