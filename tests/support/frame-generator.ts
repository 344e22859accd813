/**
 * Deterministic generator of realistic Bitstamp `live_orders_<pair>` / `live_trades_<pair>` frames for
 * tests, the demo and the benchmarks.
 *
 * Per pair it runs a small order-book simulation: limit orders are created (never crossing the book),
 * cancelled (`order_deleted` with the unfilled remainder), and hit by takers (a `trade` naming the maker's
 * real id, then the maker's `order_changed` on a partial fill or `order_deleted` with amount 0 on a full
 * fill). `amount + amount_traded == amount_at_create` holds exactly because all arithmetic is on integer
 * units; decimal text is formatted from those integers (see frame-text.ts).
 *
 * Each pair starts with `initialOrdersPerPair` resting orders that were "created before the stream": the
 * stream changes and deletes them without ever creating them, as the real feed does after a subscribe.
 * `bookSnapshot(pair)` returns the REST group=2 body of the book as of the last frame produced, so a
 * snapshot taken before the first frame plus every frame equals a snapshot taken after them.
 */
import {
  formatEventId, formatUnits, orderBookBody, orderFrame, tradeFrame,
  type BookRow, type OrderEvent,
} from "./frame-text.ts";
import { loadPairsInfo, marketParams, type MarketParams } from "./market-params.ts";

export interface FrameGeneratorOptions {
  /** Pairs (url symbols) to simulate, e.g. `["btcusd", "ethusd"]`. */
  pairs: readonly string[];
  /** Frames per pair, orders and trades together. `Infinity` = endless (iterator form only). Default 1000. */
  countPerPair?: number;
  /** PRNG seed; the same seed gives the same frames byte for byte. Default 1. */
  seed?: number;
  /** Exchange time of the first frame, Unix µs (a multiple of 1000). Default 2026-09-04T19:56:11Z. */
  startMicros?: number;
  /** Mean exchange-time gap between consecutive frames over all pairs, ms. Default 20. */
  meanGapMs?: number;
  /** Emit `live_trades` frames. Default true. */
  trades?: boolean;
  /** Order and trade ids above 2^53 (19- and 18-digit), to test that ids survive exactly. Default false. */
  hugeIds?: boolean;
  /** Orders resting in each book before the first frame. Default 20. */
  initialOrdersPerPair?: number;
  /** Write JSON numbers below 1e-4 in Python's exponent form (`1.234e-05`). Default false. */
  exponentNumbers?: boolean;
  /** trading-pairs-info body giving decimals; default the real 2022 fixture. */
  pairsInfoBody?: string;
}

/** Default start: just after the newest real fixture frame (live_trades_btcusd at 1788551770815000). */
export const DEFAULT_START_MICROS = 1_788_551_771_000_000;

interface RestingOrder {
  id: bigint;
  side: 0 | 1;
  priceTicks: number;
  remaining: number;
  traded: number;
  atCreate: number;
  /** Arrival order: time priority inside a price level. */
  seq: number;
}

interface PairState {
  params: MarketParams;
  orders: RestingOrder[];
  refTicks: number;
  framesLeft: number;
  lastOrderMicros: number;
  eventCounter: number;
  lastEventId: string;
  lastChangeMicros: number;
}

/** mulberry32: tiny, fast, good enough for test data, and identical on every runtime. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An iterable, stateful frame source. Iterating it consumes it (one pass). */
export class FrameGenerator implements IterableIterator<string> {
  private readonly rand: () => number;
  private readonly states = new Map<string, PairState>();
  private readonly pending: string[] = [];
  private clockMicros: number;
  private nextOrderId: bigint;
  private nextTradeId: bigint;
  private seq = 0;
  private readonly meanGapMs: number;
  private readonly trades: boolean;
  private readonly exponentNumbers: boolean;

  constructor(opts: FrameGeneratorOptions) {
    if (opts.pairs.length === 0) throw new Error("FrameGenerator: give at least one pair");
    this.rand = mulberry32(opts.seed ?? 1);
    this.clockMicros = opts.startMicros ?? DEFAULT_START_MICROS;
    this.meanGapMs = opts.meanGapMs ?? 20;
    this.trades = opts.trades ?? true;
    this.exponentNumbers = opts.exponentNumbers ?? false;
    // Real 2026 order ids are ~2^51, trade ids ~6.3e8; huge ids do not fit a double.
    this.nextOrderId = opts.hugeIds ? 1_234_567_890_123_456_789n : 2_046_839_979_000_000n;
    this.nextTradeId = opts.hugeIds ? 123_456_789_012_345_678n : 629_876_236n;
    const rows = loadPairsInfo(opts.pairsInfoBody);
    const initial = opts.initialOrdersPerPair ?? 20;
    const beforeStart = this.clockMicros - 7_000;
    for (const pair of opts.pairs) {
      const params = marketParams(pair, rows);
      const state: PairState = {
        params, orders: [], refTicks: params.startPriceTicks, framesLeft: opts.countPerPair ?? 1000,
        lastOrderMicros: beforeStart, eventCounter: 0, lastEventId: formatEventId(beforeStart, 0),
        lastChangeMicros: beforeStart,
      };
      this.states.set(pair, state);
      for (let i = 0; i < initial; i++) this.seedOrder(state);
    }
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<string, undefined> {
    while (this.pending.length === 0) {
      if (!this.step()) return { done: true, value: undefined };
    }
    return { done: false, value: this.pending.shift() as string };
  }

  /** REST `order_book/<pair>/?group=2` body of the simulated book as of the last frame produced. */
  bookSnapshot(pair: string): string | undefined {
    const s = this.states.get(pair);
    if (!s) return undefined;
    const { baseDecimals, counterDecimals } = s.params;
    const row = (o: RestingOrder): BookRow =>
      [formatUnits(o.priceTicks, counterDecimals), formatUnits(o.remaining, baseDecimals), String(o.id)];
    const bids = s.orders.filter((o) => o.side === 0).sort((a, b) => b.priceTicks - a.priceTicks || a.seq - b.seq);
    const asks = s.orders.filter((o) => o.side === 1).sort((a, b) => a.priceTicks - b.priceTicks || a.seq - b.seq);
    return orderBookBody(s.lastChangeMicros, bids.map(row), asks.map(row));
  }

  /** Runs one simulation step for a random unfinished pair; false when every pair is done. */
  private step(): boolean {
    const active = [...this.states.values()].filter((s) => s.framesLeft > 0);
    if (active.length === 0) return false;
    const s = active[Math.floor(this.rand() * active.length)] as PairState;
    this.clockMicros += Math.floor(-Math.log(1 - this.rand()) * this.meanGapMs) * 1000;
    const drift = Math.max(1, s.refTicks * 0.0002);
    s.refTicks = Math.max(10, s.refTicks + Math.round((this.rand() - 0.5) * 2 * drift));

    const n = s.orders.length;
    const pCreate = n < 10 ? 0.8 : n > 200 ? 0.2 : 0.45;
    const pTake = n === 0 ? 0 : 0.2;
    const roll = this.rand();
    if (roll >= pCreate && roll < pCreate + pTake && s.framesLeft >= (this.trades ? 2 : 1) && this.take(s)) return true;
    if (roll < pCreate || n === 0) this.create(s);
    else this.cancel(s);
    return true;
  }

  private randomAmount(s: PairState): number {
    let units = Math.max(1, Math.round(s.params.typicalAmountUnits * 10 ** (this.rand() * 3 - 2)));
    if (this.rand() < 0.25 && units >= 100) {
      // Round sizes ("0.10000000") are common and exercise the trailing-zero trimming of the number text.
      const magnitude = 10 ** (Math.floor(Math.log10(units)) - 1);
      units = Math.max(magnitude, Math.round(units / magnitude) * magnitude);
    }
    return units;
  }

  private best(s: PairState, side: 0 | 1): RestingOrder | undefined {
    let best: RestingOrder | undefined;
    for (const o of s.orders) {
      if (o.side !== side) continue;
      if (!best) best = o;
      else if (side === 0 ? o.priceTicks > best.priceTicks : o.priceTicks < best.priceTicks) best = o;
      else if (o.priceTicks === best.priceTicks && o.seq < best.seq) best = o;
    }
    return best;
  }

  private newOrder(s: PairState): RestingOrder {
    const side: 0 | 1 = this.rand() < 0.5 ? 0 : 1;
    const meanOffset = Math.max(1, s.refTicks * 0.0005);
    const offset = 1 + Math.floor(-Math.log(1 - this.rand()) * meanOffset);
    const tickUnit = 10 ** s.params.counterDecimals;
    const roundPrice = this.rand() < 0.1 && s.refTicks > tickUnit * 10;
    let priceTicks: number;
    if (side === 0) {
      priceTicks = s.refTicks - offset;
      if (roundPrice) priceTicks = Math.floor(priceTicks / tickUnit) * tickUnit; // "64839.00"
      const ask = this.best(s, 1);
      if (ask && priceTicks >= ask.priceTicks) priceTicks = ask.priceTicks - 1;
    } else {
      priceTicks = s.refTicks + offset;
      if (roundPrice) priceTicks = Math.ceil(priceTicks / tickUnit) * tickUnit;
      const bid = this.best(s, 0);
      if (bid && priceTicks <= bid.priceTicks) priceTicks = bid.priceTicks + 1;
    }
    const amount = this.randomAmount(s);
    this.nextOrderId += BigInt(1 + Math.floor(this.rand() * 40_000));
    return { id: this.nextOrderId, side, priceTicks: Math.max(1, priceTicks), remaining: amount, traded: 0, atCreate: amount, seq: this.seq++ };
  }

  private seedOrder(s: PairState): void {
    const o = this.newOrder(s);
    if (this.rand() < 0.2 && o.atCreate > 1) {
      o.traded = Math.floor(o.atCreate * this.rand() * 0.5);
      o.remaining = o.atCreate - o.traded;
    }
    s.orders.push(o);
  }

  private create(s: PairState): void {
    const o = this.newOrder(s);
    s.orders.push(o);
    this.emitOrder(s, "order_created", o);
  }

  private cancel(s: PairState): void {
    const index = Math.floor(this.rand() * s.orders.length);
    const [o] = s.orders.splice(index, 1);
    if (o) this.emitOrder(s, "order_deleted", o);
  }

  /** A taker hits the best maker on a random side; false if that side of the book is empty. */
  private take(s: PairState): boolean {
    const takerBuys = this.rand() < 0.5;
    const maker = this.best(s, takerBuys ? 1 : 0);
    if (!maker) return false;
    const fill = maker.remaining > 1 && this.rand() < 0.6 ? 1 + Math.floor(this.rand() * (maker.remaining - 1)) : maker.remaining;
    maker.remaining -= fill;
    maker.traded += fill;
    this.nextOrderId += BigInt(1 + Math.floor(this.rand() * 40_000));
    const takerId = this.nextOrderId;
    const { baseDecimals, counterDecimals } = s.params;
    if (maker.remaining === 0) s.orders.splice(s.orders.indexOf(maker), 1);
    this.emitOrder(s, maker.remaining === 0 ? "order_deleted" : "order_changed", maker);
    s.refTicks = maker.priceTicks;
    if (this.trades) {
      this.nextTradeId += BigInt(1 + Math.floor(this.rand() * 3));
      this.pending.push(tradeFrame({
        pair: s.params.pair, id: this.nextTradeId, micros: s.lastOrderMicros,
        amountStr: formatUnits(fill, baseDecimals), priceStr: formatUnits(maker.priceTicks, counterDecimals),
        type: takerBuys ? 0 : 1, buyOrderId: takerBuys ? takerId : maker.id, sellOrderId: takerBuys ? maker.id : takerId,
        exponentNumbers: this.exponentNumbers,
      }));
      s.framesLeft -= 1;
    }
    return true;
  }

  /** Queues one live_orders frame; microtimestamps rise strictly per channel, so event_ids never repeat. */
  private emitOrder(s: PairState, event: OrderEvent, o: RestingOrder): void {
    const micros = Math.max(this.clockMicros, s.lastOrderMicros + 1000);
    this.clockMicros = micros;
    s.eventCounter = (s.eventCounter + 1) & 3;
    const eventId = formatEventId(micros, s.eventCounter);
    const { baseDecimals, counterDecimals } = s.params;
    this.pending.push(orderFrame({
      pair: s.params.pair, event, id: o.id, orderType: o.side, micros,
      amountStr: formatUnits(o.remaining, baseDecimals),
      amountTradedStr: o.traded === 0 ? "0" : formatUnits(o.traded, baseDecimals),
      amountAtCreateStr: formatUnits(o.atCreate, baseDecimals),
      priceStr: formatUnits(o.priceTicks, counterDecimals),
      eventId, preEventId: s.lastEventId, exponentNumbers: this.exponentNumbers,
    }));
    s.lastEventId = eventId;
    s.lastOrderMicros = micros;
    s.lastChangeMicros = micros;
    s.framesLeft -= 1;
  }
}

/** All frames at once (finite `countPerPair` only), interleaved across pairs in exchange-time order. */
export function generateFrames(opts: FrameGeneratorOptions): string[] {
  if (!Number.isFinite(opts.countPerPair ?? 1000)) throw new Error("generateFrames: countPerPair must be finite; use generateFramesIter");
  return Array.from(new FrameGenerator(opts));
}

/** The same frames as {@link generateFrames}, produced lazily (100k+ frames without holding them). */
export function generateFramesIter(opts: FrameGeneratorOptions): FrameGenerator {
  return new FrameGenerator(opts);
}
