/**
 * Which coverage items (src/store/dynamodb/coverage.ts) this process has already attached to a frame,
 * so that a (pair, stream, hour) gets its coverage item with the first frame of it the process sees,
 * and not with every event. Pure and synchronous; web standards only.
 *
 * Bounded: a FIFO of the most recent `capacity` keys. A key that fell out (an event hours late, or
 * more channels than the window holds) is simply attached once more: the item is the same whoever
 * writes it, so a second copy costs one write and changes nothing. Forgetting is safe, remembering
 * too much is not: the set must never say "written" for an item that was not handed to the uploader,
 * which is why {@link CoverageTracker.firstTime} is called only for frames whose items are stored.
 */

/**
 * Keys remembered by default: 4,096. With every Bitstamp pair (about 130) on both streams, that is
 * 15 hours of hours; one pair on two streams needs two keys an hour.
 */
export const DEFAULT_COVERAGE_KEYS = 4096;

export class CoverageTracker {
  private readonly ring: (string | undefined)[];
  private readonly members = new Set<string>();
  private next = 0;

  constructor(readonly capacity: number = DEFAULT_COVERAGE_KEYS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<string | undefined>(capacity);
  }

  /** True the first time `key` is given (since it was last forgotten), and remembers it; false after. */
  firstTime(key: string): boolean {
    if (this.members.has(key)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.members.delete(evicted);
    this.ring[this.next] = key;
    this.members.add(key);
    this.next = (this.next + 1) % this.capacity;
    return true;
  }

  /** Keys remembered now (at most `capacity`). */
  get size(): number {
    return this.members.size;
  }
}
