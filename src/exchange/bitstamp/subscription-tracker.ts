/**
 * Which channels of one connection still wait for their `bts:subscription_succeeded`, and when each
 * was acknowledged (a channel's gap ends at its acknowledgement).
 */
export class SubscriptionTracker {
  private readonly pending: Set<string>;
  private readonly ackMicros = new Map<string, number>();

  constructor(channels: readonly string[]) {
    this.pending = new Set(channels);
  }

  /** Records `channel`'s acknowledgement; false if none was awaited for it (not asked for, or already acknowledged). */
  acknowledge(channel: string, rxMicros: number): boolean {
    if (!this.pending.has(channel)) return false;
    this.pending.delete(channel);
    this.ackMicros.set(channel, rxMicros);
    return true;
  }

  /** Every channel is acknowledged. */
  get complete(): boolean {
    return this.pending.size === 0;
  }

  /** When `channel`'s subscription was acknowledged, or undefined. */
  acknowledgedAt(channel: string): number | undefined {
    return this.ackMicros.get(channel);
  }

  /** The channels still waiting, for error messages. */
  waiting(): string {
    return [...this.pending].join(", ");
  }
}
