/**
 * One price level of one side: its orders in queue order (a doubly linked list, so an order leaves
 * in O(1) from anywhere in the queue), their exact amount sum and count, and the L2 view of it.
 *
 * Display rules (docs/book.md, "Decimal texts"):
 * - the level's price text is its first queued order's price text (the exchange's own spelling,
 *   exponent form written out plainly), so a level shows `"58356.10"` as Bitstamp wrote it;
 * - the amount sum is written with the largest scale among the amounts it sums, so eight-decimal
 *   amounts give an eight-decimal sum (`"0.45815068"`, `"1.00000000"`), as Bitstamp's own
 *   aggregated levels read. This depends only on the orders resting now, never on history.
 */
import { addDecimal, formatDecimal, subtractDecimal, type Decimal } from "./decimal.ts";

/** `order_type` codes: 0 = buy (bid), 1 = sell (ask) (bitstamp-protocol.md §2.1). */
export const BID = 0;
export const ASK = 1;
export type SideCode = typeof BID | typeof ASK;

/** A side by name, as the book's readers use it. */
export type Side = "bid" | "ask";

export function sideName(side: SideCode): Side {
  return side === BID ? "bid" : "ask";
}

/** One aggregated level: exact decimal texts and the number of orders. */
export interface L2Level {
  readonly price: string;
  readonly amount: string;
  readonly orders: number;
}

/** One resting order: a node of its level's queue, updated in place by the book. */
export class RestingOrder {
  prev: RestingOrder | undefined = undefined;
  next: RestingOrder | undefined = undefined;

  constructor(
    readonly id: string,
    public side: SideCode,
    public price: Decimal,
    /** The price as the exchange wrote it, in plain form. */
    public priceText: string,
    public priceScale: number,
    public amount: Decimal,
    /** The remaining amount as the exchange wrote it, in plain form. */
    public amountText: string,
    public amountScale: number,
    /** Exchange time of the event that set this state, or the snapshot's microtimestamp. */
    public timeMicros: number,
    public level: PriceLevel,
  ) {}
}

/** The orders at one price of one side. */
export class PriceLevel {
  sum: Decimal = 0;
  count = 0;
  head: RestingOrder | undefined = undefined;
  tail: RestingOrder | undefined = undefined;
  /** Largest amount scale among the orders, and how many orders have it; recounted lazily only when that count reaches 0. */
  private maxAmountScale = 0;
  private ordersAtMaxScale = 0;
  private scaleStale = false;
  private cachedView: L2Level | undefined = undefined;

  constructor(
    readonly side: SideCode,
    readonly price: Decimal,
    readonly key: number | string,
  ) {}

  /** Puts `order` at the back of the queue (a new order, or one that moved here). */
  append(order: RestingOrder): void {
    order.level = this;
    order.prev = this.tail;
    order.next = undefined;
    if (this.tail === undefined) this.head = order;
    else this.tail.next = order;
    this.tail = order;
    this.count++;
    this.sum = addDecimal(this.sum, order.amount);
    this.noteScale(order.amountScale);
    this.cachedView = undefined;
  }

  /** Takes `order` out of the queue. */
  unlink(order: RestingOrder): void {
    if (order.prev === undefined) this.head = order.next;
    else order.prev.next = order.next;
    if (order.next === undefined) this.tail = order.prev;
    else order.next.prev = order.prev;
    order.prev = order.next = undefined;
    this.count--;
    this.sum = this.count === 0 ? 0 : subtractDecimal(this.sum, order.amount);
    this.forgetScale(order.amountScale);
    this.cachedView = undefined;
  }

  /** Sets a queued order's remaining amount; it keeps its place in the queue (a partial fill). */
  setAmount(order: RestingOrder, amount: Decimal, amountText: string, amountScale: number): void {
    this.sum = addDecimal(subtractDecimal(this.sum, order.amount), amount);
    if (amountScale !== order.amountScale) {
      this.forgetScale(order.amountScale);
      this.noteScale(amountScale);
    }
    order.amount = amount;
    order.amountText = amountText;
    order.amountScale = amountScale;
    this.cachedView = undefined;
  }

  /** Sets a queued order's price text (same value, another spelling: "64839" for "64839.00"). */
  setPriceText(order: RestingOrder, priceText: string, priceScale: number): void {
    order.priceText = priceText;
    order.priceScale = priceScale;
    if (order === this.head) this.cachedView = undefined;
  }

  /** The price text shown for the level: its first order's. */
  get priceText(): string {
    return this.head!.priceText;
  }

  /** Decimals of {@link priceText}. */
  get priceScale(): number {
    return this.head!.priceScale;
  }

  /** The L2 view, built once per change of the level (readers after every event pay only for levels that changed). */
  view(): L2Level {
    this.cachedView ??= { price: this.priceText, amount: formatDecimal(this.sum, this.amountScale()), orders: this.count };
    return this.cachedView;
  }

  private amountScale(): number {
    if (this.scaleStale) {
      // The last order with the largest scale left: recount (rare: Bitstamp's amounts share one scale).
      this.scaleStale = false;
      this.maxAmountScale = 0;
      this.ordersAtMaxScale = 0;
      for (let o = this.head; o !== undefined; o = o.next) this.noteScale(o.amountScale);
    }
    return this.maxAmountScale;
  }

  private noteScale(scale: number): void {
    if (this.scaleStale) return; // the recount will see it
    if (scale > this.maxAmountScale) {
      this.maxAmountScale = scale;
      this.ordersAtMaxScale = 1;
    } else if (scale === this.maxAmountScale) {
      this.ordersAtMaxScale++;
    }
  }

  private forgetScale(scale: number): void {
    if (!this.scaleStale && scale === this.maxAmountScale && --this.ordersAtMaxScale === 0) this.scaleStale = true;
  }
}
