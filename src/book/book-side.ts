/**
 * One side of the book: its price levels by value (a Map) and in price order (an array kept sorted by
 * binary search). The array runs from the worst price to the best, so the best level is the last
 * element: most activity is near the top of the book, and inserting or removing a level there
 * shifts only the few elements after it.
 */
import { compareDecimal, decimalKey, type Decimal } from "./decimal.ts";
import { BID, PriceLevel, type SideCode } from "./price-level.ts";

export class BookSide {
  /** Levels from the worst price to the best (bids ascending, asks descending). */
  readonly levels: PriceLevel[] = [];
  private readonly byKey = new Map<number | string, PriceLevel>();
  /** +1 for bids (higher is better), -1 for asks. */
  private readonly direction: number;

  constructor(readonly side: SideCode) {
    this.direction = side === BID ? 1 : -1;
  }

  /** The level at `price`, created (empty, in place) when there is none. */
  levelAt(price: Decimal): PriceLevel {
    const key = decimalKey(price);
    let level = this.byKey.get(key);
    if (level === undefined) {
      level = new PriceLevel(this.side, price, key);
      this.byKey.set(key, level);
      this.levels.splice(this.indexOf(price), 0, level);
    }
    return level;
  }

  /** The level at `price`, if any. */
  find(price: Decimal): PriceLevel | undefined {
    return this.byKey.get(decimalKey(price));
  }

  /** Removes an (empty) level. */
  remove(level: PriceLevel): void {
    this.byKey.delete(level.key);
    const i = this.indexOf(level.price);
    if (this.levels[i] !== level) throw new Error(`book side ${this.side}: level ${level.key} is not where its price says`);
    this.levels.splice(i, 1);
  }

  /** The best level (highest bid, lowest ask), if any. */
  best(): PriceLevel | undefined {
    return this.levels[this.levels.length - 1];
  }

  get size(): number {
    return this.levels.length;
  }

  /** The first index whose level is not worse than `price` (lower bound in worst-to-best order). */
  private indexOf(price: Decimal): number {
    const levels = this.levels;
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareDecimal(levels[mid]!.price, price) * this.direction < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
