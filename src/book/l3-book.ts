/**
 * The L3 order book: order id -> side, price, remaining amount, time; aggregated on demand into L2
 * levels with exact sums, best bid/ask, spread, mid, depth and the queue at a level.
 *
 * Bitstamp's `live_orders` events carry the order's state after the event (bitstamp-protocol.md
 * §2.1, §4.2), so applying one is setting state, and applying it twice changes nothing:
 * - `order_created`: upsert;
 * - `order_changed`: set the remaining amount (upsert when unknown, and report it);
 * - `order_deleted`: remove (when unknown: nothing to do, and report it).
 * A remaining amount of zero removes the order. A new price or side moves the order to the back of
 * the queue at its new level; otherwise it keeps its place (a partial fill keeps time priority).
 *
 * Speed (bench/book.bench.ts): one Map lookup by id, one by price, prices and amounts parsed in one
 * pass into integers of 10^-8 (decimal.ts), no allocation for an `order_changed`; levels keep their
 * L2 view until they change, so reading the top 20 after every event costs little.
 */
import { numberText } from "../base/exact-json.ts";
import type { OrderData, OrderEventName } from "../model/schemas.ts";
import { BookSide } from "./book-side.ts";
import { BookReporter, DEFAULT_MAX_REPORTED_IDS, type BookReport } from "./book-report.ts";
import {
  addDecimal, compareDecimal, formatDecimal, halveDecimal, parseDecimal, parsedDecimalSlot, subtractDecimal,
  type ParsedDecimal,
} from "./decimal.ts";
import { eventMicros } from "./event-time.ts";
import { ASK, BID, PriceLevel, RestingOrder, sideName, type L2Level, type Side, type SideCode } from "./price-level.ts";
import type { OrderBookSnapshot } from "./snapshot-schema.ts";
import { diffBookAgainstSnapshot, type SnapshotDiff } from "./snapshot-diff.ts";

export interface BookOptions {
  /** Ids kept in each list of the report (counts are always complete). Default 100. */
  maxReportedIds?: number;
}

/** One order as readers see it: exact decimal texts. */
export interface OrderView {
  readonly id: string;
  readonly side: Side;
  readonly price: string;
  readonly amount: string;
  /** Exchange time of the event that set this state (the snapshot's microtimestamp for an order loaded from one). */
  readonly timeMicros: number;
}

/** The best `n` levels of each side, best first. */
export interface Depth {
  readonly bids: readonly L2Level[];
  readonly asks: readonly L2Level[];
}

/** The fields of an order event the book reads (an {@link import("../model/events.ts").OrderEvent} is one). */
export interface BookEvent {
  readonly event: OrderEventName;
  readonly data: OrderData;
}

/** What {@link L3Book.upsertOrder} did. */
export type UpsertResult = "inserted" | "updated" | "removed" | "absent" | "rejected";

export class L3Book {
  /**
   * Events at or before this exchange time (µs) are not counted as unknown-order changes/deletes or
   * as crossings: set to a snapshot's microtimestamp while replaying the margin before it
   * (docs/book.md). Rejected events are always counted.
   */
  reportAfterMicros = Number.NEGATIVE_INFINITY;
  private readonly orders = new Map<string, RestingOrder>();
  private readonly sides: readonly [BookSide, BookSide] = [new BookSide(BID), new BookSide(ASK)];
  private readonly reporter: BookReporter;
  // Parse slots, reused by every event.
  private readonly amountSlot: ParsedDecimal = parsedDecimalSlot();
  private readonly priceSlot: ParsedDecimal = parsedDecimalSlot();
  /**
   * Events of one microtimestamp are one matching step, and their order within it is not always
   * known (a table orders them by receive time, which a recording may not have): the book is checked
   * for crossing once a step is complete (the next event's time differs, or the book is read).
   */
  private stepMicros = Number.NaN;
  private stepPending = false;
  private stepCounted = false;

  constructor(options: BookOptions = {}) {
    this.reporter = new BookReporter(options.maxReportedIds ?? DEFAULT_MAX_REPORTED_IDS);
  }

  /** Applies one `live_orders` event (see the file comment). Never throws on bad data: it reports it. */
  apply(event: BookEvent): void {
    this.applyOrderData(event.event, event.data);
  }

  /** {@link apply} from the event name and its `data`. */
  applyOrderData(kind: OrderEventName, data: OrderData): void {
    // id_str is the key (bitstamp-protocol.md §2.1); frames before 2020-11 have only the number.
    const id = data.id_str ?? numberText(data.id);
    const timeMicros = eventMicros(data);
    const counted = timeMicros > this.reportAfterMicros;
    if (this.stepPending && timeMicros !== this.stepMicros) this.settleStep();
    this.reporter.events++;
    if (kind === "order_deleted") {
      const order = this.orders.get(id);
      if (order !== undefined) this.removeResting(order);
      else if (counted) this.reporter.unknownDeleted(id);
    } else if (kind === "order_created" || kind === "order_changed") {
      if (kind === "order_changed" && counted && !this.orders.has(id) && this.isValidState(data)) this.reporter.unknownChanged(id);
      this.setState(id, data.order_type, data.price_str, data.amount_str, timeMicros);
    } else {
      this.reporter.rejected(id, `unknown event ${JSON.stringify(kind)}`);
    }
    this.stepMicros = timeMicros;
    this.stepPending = true;
    this.stepCounted = counted;
  }

  /**
   * Sets one order's state, as an `order_created` with these fields would (snapshot rows use it):
   * `side` 0/"bid" or 1/"ask", exact decimal texts, exchange time in µs.
   */
  upsertOrder(id: string, side: Side | SideCode, priceText: string, amountText: string, timeMicros: number): UpsertResult {
    const code = side === "bid" ? BID : side === "ask" ? ASK : side;
    this.settleStep();
    const result = this.setState(id, code, priceText, amountText, timeMicros);
    this.checkCrossed(timeMicros > this.reportAfterMicros);
    return result;
  }

  /** Removes an order; false when the book does not have it. */
  removeOrder(id: string): boolean {
    const order = this.orders.get(id);
    if (order === undefined) return false;
    this.settleStep();
    this.removeResting(order);
    this.checkCrossed(false);
    return true;
  }

  /** Orders resting in the book. */
  get orderCount(): number {
    return this.orders.size;
  }

  /** Price levels on `side`. */
  levelCount(side: Side): number {
    return this.sideOf(side).size;
  }

  /** One order, or undefined. */
  order(id: string): OrderView | undefined {
    const order = this.orders.get(id);
    return order === undefined ? undefined : viewOf(order);
  }

  /** Every resting order, in no particular order. */
  *allOrders(): IterableIterator<OrderView> {
    for (const order of this.orders.values()) yield viewOf(order);
  }

  bestBid(): L2Level | undefined {
    return this.sides[BID].best()?.view();
  }

  bestAsk(): L2Level | undefined {
    return this.sides[ASK].best()?.view();
  }

  /** Best ask - best bid, exact, with the larger scale of the two prices; negative when crossed. */
  spread(): string | undefined {
    const bid = this.sides[BID].best();
    const ask = this.sides[ASK].best();
    if (bid === undefined || ask === undefined) return undefined;
    return formatDecimal(subtractDecimal(ask.price, bid.price), Math.max(bid.priceScale, ask.priceScale));
  }

  /** (best bid + best ask) / 2, exact: the larger scale of the two prices, one digit more when needed. */
  mid(): string | undefined {
    const bid = this.sides[BID].best();
    const ask = this.sides[ASK].best();
    if (bid === undefined || ask === undefined) return undefined;
    return formatDecimal(halveDecimal(addDecimal(bid.price, ask.price)), Math.max(bid.priceScale, ask.priceScale));
  }

  /** The best `n` levels of `side`, best first (all of them by default). */
  levels(side: Side, n = Number.POSITIVE_INFINITY): L2Level[] {
    const levels = this.sideOf(side).levels;
    const out: L2Level[] = [];
    for (let i = levels.length - 1; i >= 0 && out.length < n; i--) out.push(levels[i]!.view());
    return out;
  }

  /** The best `n` levels of each side. */
  depth(n: number): Depth {
    return { bids: this.levels("bid", n), asks: this.levels("ask", n) };
  }

  /** The orders at `price` on `side` in queue order (front first); [] when there is no such level. Throws RangeError on a text that is not a decimal. */
  queue(side: Side, price: string): OrderView[] {
    const slot = parsedDecimalSlot();
    if (!parseDecimal(price, slot)) throw new RangeError(`queue: ${JSON.stringify(price)} is not a non-negative decimal`);
    const out: OrderView[] = [];
    for (let o = this.sideOf(side).find(slot.value)?.head; o !== undefined; o = o.next) out.push(viewOf(o));
    return out;
  }

  /** Best bid >= best ask. */
  get crossed(): boolean {
    this.settleStep();
    return this.reporter.crossed;
  }

  /** A copy of the report (book-report.ts). */
  report(): BookReport {
    this.settleStep();
    return this.reporter.report();
  }

  /** Exactly which orders differ from `snapshot` (snapshot-diff.ts): the self-check to run when a fresh snapshot arrives. */
  diffAgainstSnapshot(snapshot: OrderBookSnapshot): SnapshotDiff {
    return diffBookAgainstSnapshot(this, snapshot);
  }

  private sideOf(side: Side): BookSide {
    return this.sides[side === "bid" ? BID : ASK];
  }

  /** True when setState would apply the state rather than reject it (an unknown change is reported only then). */
  private isValidState(data: OrderData): boolean {
    return (data.order_type === BID || data.order_type === ASK) && parseDecimal(data.amount_str, this.amountSlot) && parseDecimal(data.price_str, this.priceSlot);
  }

  private setState(id: string, side: number, priceText: string, amountText: string, timeMicros: number): UpsertResult {
    if (side !== BID && side !== ASK) return this.reject(id, `order_type ${side} is neither 0 (buy) nor 1 (sell)`);
    const amount = this.amountSlot;
    if (!parseDecimal(amountText, amount)) return this.reject(id, `amount ${JSON.stringify(amountText)} is not a non-negative decimal`);
    const order = this.orders.get(id);
    // The price is parsed only when its text differs from the order's (an order_changed repeats it).
    const sameText = order !== undefined && order.side === side && order.priceText === priceText;
    const price = this.priceSlot;
    if (!sameText && !parseDecimal(priceText, price)) return this.reject(id, `price ${JSON.stringify(priceText)} is not a non-negative decimal`);
    if (amount.value === 0) {
      if (order === undefined) return "absent";
      this.removeResting(order);
      return "removed";
    }
    const amountShown = amount.plain ? amountText : formatDecimal(amount.value, amount.scale);
    if (order !== undefined && (sameText || (order.side === side && compareDecimal(order.price, price.value) === 0))) {
      order.level.setAmount(order, amount.value, amountShown, amount.scale);
      if (!sameText) order.level.setPriceText(order, price.plain ? priceText : formatDecimal(price.value, price.scale), price.scale);
      order.timeMicros = timeMicros;
      return "updated";
    }
    const priceShown = price.plain ? priceText : formatDecimal(price.value, price.scale);
    const level = this.sides[side].levelAt(price.value);
    if (order === undefined) {
      const created = new RestingOrder(id, side, price.value, priceShown, price.scale, amount.value, amountShown, amount.scale, timeMicros, level);
      this.orders.set(id, created);
      level.append(created);
      return "inserted";
    }
    // A new price or side: leave the old level, join the back of the new one.
    this.unlinkFromLevel(order);
    order.side = side;
    order.price = price.value;
    order.priceText = priceShown;
    order.priceScale = price.scale;
    order.amount = amount.value;
    order.amountText = amountShown;
    order.amountScale = amount.scale;
    order.timeMicros = timeMicros;
    level.append(order);
    return "updated";
  }

  private reject(id: string, reason: string): "rejected" {
    this.reporter.rejected(id, reason);
    return "rejected";
  }

  private removeResting(order: RestingOrder): void {
    this.unlinkFromLevel(order);
    this.orders.delete(order.id);
  }

  private unlinkFromLevel(order: RestingOrder): void {
    const level: PriceLevel = order.level;
    level.unlink(order);
    if (level.count === 0) this.sides[level.side].remove(level);
  }

  /** The crossing check of the step (microtimestamp) whose events were applied last. */
  private settleStep(): void {
    if (!this.stepPending) return;
    this.stepPending = false;
    this.checkCrossed(this.stepCounted);
  }

  private checkCrossed(counted: boolean): void {
    const bid = this.sides[BID].best();
    const ask = this.sides[ASK].best();
    const crossed = bid !== undefined && ask !== undefined && compareDecimal(bid.price, ask.price) >= 0;
    if (crossed && !this.reporter.crossed && counted) this.reporter.crossedTimes++;
    this.reporter.crossed = crossed;
  }
}

function viewOf(order: RestingOrder): OrderView {
  return { id: order.id, side: sideName(order.side), price: order.priceText, amount: order.amountText, timeMicros: order.timeMicros };
}
