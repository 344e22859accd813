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
 *
 * Bursts (default on). Order and trade `microtimestamp`s have millisecond resolution, so a busy book puts
 * several events of one channel on one microtimestamp, and the keys must still tell them apart. What the
 * real recordings in ../../../shared/fixtures show (measured over every file there):
 * - live_trades, cryptofeed_2021-04-17_ws_server.ndjson: 16 trades of 3 pairs in 27 s; 3 groups of 2
 *   trades share one microtimestamp (6 of 16 trades, 38%: bcheur 1618677709504000 and ...530000, btcusd
 *   1618677720604000). Each group is ONE taker sweeping two makers: the same taker id on both trades
 *   (e.g. sell_order_id 1351035841933312), consecutive trade ids (164507761/762, 763/764, 781/782), and
 *   prices on one level or on two adjacent ones (882.92 then 882.88). One maker (1351035838173184) is hit
 *   by two takers 26 ms apart. All 26 real trades and all 10 real order events end in "000" (ms).
 * - live_orders 2026 (te_recorder 2 events, lob_decoder 3 events, plus the 2 pre_event_ids): no two of the
 *   7 known event times share a millisecond; the closest are 1 ms apart (1788551766364000 -> 365000), and
 *   4 events fall in 16 ms (349, 357, 364, 365 ms: about 250 events/s). The first 16 hex digits of
 *   event_id equal the microtimestamp; the next counter runs 00, 01, 02, 03, 00 along the chain, one step
 *   per event whatever the time between them; each pre_event_id is the previous event_id; `datetime` is
 *   the microtimestamp rounded to seconds, so events of one millisecond share it.
 * - Book diffs (641 frames, true µs): no two share a millisecond (they are batched, >= 113 ms apart):
 *   no evidence about events.
 * No real recording shows two order events in one millisecond, but a sweep does: the exchange writes each
 * maker's order_changed/order_deleted with the time of its trade (the generator's rule since it was
 * written: a trade carries its maker event's microtimestamp). So with bursts:
 * - a taker sweeps 1 to 4 makers (weights 75/15/6/4 %): every maker event and every trade of the sweep
 *   share one microtimestamp, with one taker id and consecutive trade ids, makers in price-time order
 *   (all but the last filled completely), each maker event just before its trade;
 * - 30% of cancels are re-quotes: the order_deleted and the new order_created share a microtimestamp;
 * - 25% of simulation steps happen in the same millisecond as the previous step, on any pair (channels
 *   and pairs interleave inside one millisecond; the same order can be partially filled twice in one ms);
 *   the other gaps are geometric, so the mean gap stays `meanGapMs`;
 * - at most 4 events of one orders channel share a microtimestamp (a fifth moves to the next ms): the
 *   event_id counter has 4 values in the real chains, so a fifth would repeat an event_id. Within one
 *   microtimestamp the counter can wrap (03 then 00): event_id string order is then not the order sent.
 * Exchange time never goes back, over all channels, in the order frames are produced.
 *
 * With `orderFormat: "2022"` orders have the older layout without event_id (frame-text-2022.ts), so
 * their keys fall back to `<µs>#<order id>#<c|u|d>[#amount_str]`; trades never carry an event_id
 * (`<µs>#t#<trade id>`). Bursts exercise both forms.
 */
import {
  formatEventId, formatUnits, orderBookBody, orderFrame, tradeFrame,
  type BookRow, type OrderEvent, type OrderFrameFields,
} from "./frame-text.ts";
import { orderFrame2022 } from "./frame-text-2022.ts";
import { loadPairsInfo, marketParams, type MarketParams } from "./market-params.ts";
import { seededRandom } from "./seeded-random.ts";

export interface FrameGeneratorOptions {
  /** Pairs (url symbols) to simulate, e.g. `["btcusd", "ethusd"]`. */
  pairs: readonly string[];
  /** Frames per pair, orders and trades together. `Infinity` = endless (iterator form only). Default 1000. */
  countPerPair?: number;
  /** PRNG seed; the same seed gives the same frames byte for byte. Default 1. */
  seed?: number;
  /** Exchange time of the first frame, Unix µs (a multiple of 1000). Default 2026-09-04T19:56:11Z. */
  startMicros?: number;
  /**
   * Mean exchange-time gap between consecutive simulation steps over all pairs, ms. A step writes one
   * event, or several in one millisecond (a sweep with its trades, a re-quote). Default 20.
   */
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
  /**
   * Several events of a channel in one millisecond (file header). Default true. false: the frames of the
   * generator before bursts, byte for byte: each orders channel moves on by at least 1 ms per event and
   * a taker hits one maker (a trade still shares its maker event's microtimestamp).
   */
  bursts?: boolean;
  /** Layout of live_orders frames: "2026" (default, with event_id chain) or "2022" (no event_id; times as given). */
  orderFormat?: OrderFormat;
}

export type OrderFormat = "2026" | "2022";

/** Default start: just after the newest real fixture frame (live_trades_btcusd at 1788551770815000). */
export const DEFAULT_START_MICROS = 1_788_551_771_000_000;

/** At most this many events of one orders channel share a microtimestamp (the event_id counter has 4 values). */
export const MAX_EVENTS_PER_MICROS = 4;
/** Share of simulation steps in the same millisecond as the previous one (bursts on). */
const SAME_MS_SHARE = 0.25;
/** Weights of a sweep of 1, 2, 3, 4 makers by one taker (bursts on). */
const SWEEP_WEIGHTS = [0.75, 0.15, 0.06, 0.04] as const;
/** Share of cancels followed at the same microtimestamp by a new order on the same side (bursts on). */
const REQUOTE_SHARE = 0.3;

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
  /** Events of the orders channel at `lastOrderMicros` (the seed event before the stream counts as one). */
  eventsAtLastMicros: number;
  eventCounter: number;
  lastEventId: string;
  lastChangeMicros: number;
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
  private readonly bursts: boolean;
  private readonly orderFrameOf: (fields: OrderFrameFields) => string;

  constructor(opts: FrameGeneratorOptions) {
    if (opts.pairs.length === 0) throw new Error("FrameGenerator: give at least one pair");
    this.rand = seededRandom(opts.seed ?? 1);
    this.clockMicros = opts.startMicros ?? DEFAULT_START_MICROS;
    this.meanGapMs = opts.meanGapMs ?? 20;
    this.trades = opts.trades ?? true;
    this.exponentNumbers = opts.exponentNumbers ?? false;
    this.bursts = opts.bursts ?? true;
    this.orderFrameOf = (opts.orderFormat ?? "2026") === "2022" ? orderFrame2022 : orderFrame;
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
        lastOrderMicros: beforeStart, eventsAtLastMicros: 1, eventCounter: 0, lastEventId: formatEventId(beforeStart, 0),
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

  /** The next `count` frames (fewer at the end of the stream). */
  nextFrames(count: number): string[] {
    const out: string[] = [];
    while (out.length < count) {
      const next = this.next();
      if (next.done) break;
      out.push(next.value);
    }
    return out;
  }

  /**
   * The frames the step under way has made and not yet returned (the rest of a sweep or re-quote that
   * {@link nextFrames} cut): all at the exchange time of the last frame returned. Lets a test stop the
   * stream at a step boundary, e.g. before {@link advanceTo}.
   */
  restOfStep(): string[] {
    return this.pending.splice(0);
  }

  /**
   * A quiet market until `micros`: the frames of later steps have exchange times at or after it
   * (rounded up to a whole ms); those of the step under way keep theirs ({@link restOfStep}). For
   * tests that play frames on the wall clock across an outage.
   */
  advanceTo(micros: number): void {
    this.clockMicros = Math.max(this.clockMicros, Math.ceil(micros / 1000) * 1000);
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
    this.clockMicros += this.gapMs() * 1000;
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

  /** Whole ms to the next step: with bursts 0 for {@link SAME_MS_SHARE} of steps, else geometric; mean `meanGapMs`. */
  private gapMs(): number {
    if (!this.bursts) return Math.floor(-Math.log(1 - this.rand()) * this.meanGapMs);
    if (this.rand() < SAME_MS_SHARE) return 0;
    const mean = this.meanGapMs / (1 - SAME_MS_SHARE);
    if (!(mean > 0)) return 0;
    // P(gap >= k) = q^k with q = mean / (1 + mean): a geometric law on 0, 1, 2... of that mean.
    return Math.floor(Math.log(1 - this.rand()) / Math.log(mean / (1 + mean)));
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

  /** A new resting order on `side` (random when not given), priced near the reference, never crossing. */
  private newOrder(s: PairState, side: 0 | 1 = this.rand() < 0.5 ? 0 : 1): RestingOrder {
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

  private create(s: PairState, side?: 0 | 1): void {
    const o = this.newOrder(s, side);
    s.orders.push(o);
    this.emitOrder(s, "order_created", o);
  }

  /** Cancels a random order; with bursts, sometimes re-quotes it at once (same microtimestamp). */
  private cancel(s: PairState): void {
    const index = Math.floor(this.rand() * s.orders.length);
    const [o] = s.orders.splice(index, 1);
    if (!o) return;
    this.emitOrder(s, "order_deleted", o);
    if (this.bursts && s.framesLeft > 0 && this.rand() < REQUOTE_SHARE) this.create(s, o.side);
  }

  /** Makers one taker sweeps (1 without bursts), at most what `framesLeft` can still hold. */
  private sweepSize(s: PairState): number {
    let makers = 1;
    if (this.bursts) {
      const roll = this.rand();
      let cumulative = 0;
      makers = SWEEP_WEIGHTS.length;
      for (let i = 0; i < SWEEP_WEIGHTS.length; i++) {
        cumulative += SWEEP_WEIGHTS[i] as number;
        if (roll < cumulative) {
          makers = i + 1;
          break;
        }
      }
    }
    return Math.max(1, Math.min(makers, Math.floor(s.framesLeft / (this.trades ? 2 : 1))));
  }

  /**
   * A taker hits the best makers on a random side, in price-time order: every maker but the last is
   * filled completely. Each maker's event comes just before its trade, all at one microtimestamp
   * (unless a fifth orders-channel event moves it to the next ms). False if that side is empty.
   */
  private take(s: PairState): boolean {
    const makers = this.sweepSize(s);
    const takerBuys = this.rand() < 0.5;
    const side = takerBuys ? 1 : 0;
    if (!this.best(s, side)) return false;
    const { baseDecimals, counterDecimals } = s.params;
    let takerId: bigint | undefined;
    for (let i = 0; i < makers; i++) {
      const maker = this.best(s, side);
      if (!maker) break;
      const partial = i === makers - 1 && maker.remaining > 1 && this.rand() < 0.6;
      const fill = partial ? 1 + Math.floor(this.rand() * (maker.remaining - 1)) : maker.remaining;
      maker.remaining -= fill;
      maker.traded += fill;
      if (takerId === undefined) {
        this.nextOrderId += BigInt(1 + Math.floor(this.rand() * 40_000));
        takerId = this.nextOrderId;
      }
      if (maker.remaining === 0) s.orders.splice(s.orders.indexOf(maker), 1);
      this.emitOrder(s, maker.remaining === 0 ? "order_deleted" : "order_changed", maker);
      s.refTicks = maker.priceTicks;
      if (this.trades) {
        // Trades of one sweep have consecutive ids (real: 164507761, 164507762); other trades come between sweeps.
        this.nextTradeId += i === 0 ? BigInt(1 + Math.floor(this.rand() * 3)) : 1n;
        this.pending.push(tradeFrame({
          pair: s.params.pair, id: this.nextTradeId, micros: s.lastOrderMicros,
          amountStr: formatUnits(fill, baseDecimals), priceStr: formatUnits(maker.priceTicks, counterDecimals),
          type: takerBuys ? 0 : 1, buyOrderId: takerBuys ? takerId : maker.id, sellOrderId: takerBuys ? maker.id : takerId,
          exponentNumbers: this.exponentNumbers,
        }));
        s.framesLeft -= 1;
      }
    }
    return true;
  }

  /**
   * Queues one live_orders frame at the current exchange time. Without bursts the channel moves on by
   * at least 1 ms per event; with bursts it stays on its microtimestamp for up to
   * {@link MAX_EVENTS_PER_MICROS} events, so event_ids (time + a 4-value counter) never repeat.
   */
  private emitOrder(s: PairState, event: OrderEvent, o: RestingOrder): void {
    let micros = Math.max(this.clockMicros, this.bursts ? s.lastOrderMicros : s.lastOrderMicros + 1000);
    if (micros === s.lastOrderMicros && s.eventsAtLastMicros >= MAX_EVENTS_PER_MICROS) micros += 1000;
    s.eventsAtLastMicros = micros === s.lastOrderMicros ? s.eventsAtLastMicros + 1 : 1;
    this.clockMicros = micros;
    s.eventCounter = (s.eventCounter + 1) & 3;
    const eventId = formatEventId(micros, s.eventCounter);
    const { baseDecimals, counterDecimals } = s.params;
    this.pending.push(this.orderFrameOf({
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
