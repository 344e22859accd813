/**
 * A bounded hand-over from a producer that pushes (export's merge calls back with each item and awaits
 * the returned promise) to a consumer that pulls (`for await`): the producer waits while `capacity`
 * items are unread, so a slow reader holds a bounded number of items, not an hour of them.
 */
/** The reader is gone: what the producer gets from {@link AsyncChannel.push} after a close. */
export class ChannelClosed extends Error {
  constructor() {
    super("the reader stopped reading");
  }
}

export class AsyncChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: { err: unknown } | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeWriters: Array<() => void> = [];

  constructor(private readonly capacity: number) {}

  /** Adds an item; resolves once there is room (at once below capacity). After close it rejects with {@link ChannelClosed}: the producer stops. */
  push(item: T): Promise<void> | undefined {
    if (this.closed) return Promise.reject(new ChannelClosed());
    this.items.push(item);
    this.wake();
    if (this.items.length < this.capacity) return undefined;
    return new Promise((resolve) => this.wakeWriters.push(resolve));
  }

  /** No more items: the reader ends after the ones queued; waiting writers are let go. */
  close(): void {
    this.closed = true;
    this.wake();
    this.releaseWriters();
  }

  /** The producer failed: the reader throws `err` after the items queued. */
  fail(err: unknown): void {
    this.error ??= { err };
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) {
        const batch = this.items.splice(0, this.items.length);
        this.releaseWriters();
        for (const item of batch) yield item;
        continue;
      }
      if (this.error) throw this.error.err;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  private releaseWriters(): void {
    const writers = this.wakeWriters;
    this.wakeWriters = [];
    for (const resolve of writers) resolve();
  }
}
