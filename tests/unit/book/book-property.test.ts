/**
 * Adversarial property test of the book engine (src/book/l3-book.ts): seeded streams of events that
 * stress every rule at once (several orders per price, equal timestamps and bursts, price and side
 * moves, amounts changed to zero, changes and deletes of unknown orders, repeated events, exponent
 * decimals, 19-digit ids with and without id_str, 18+ decimal digits, amounts beyond 2^53 units,
 * rejected events) are applied both to the engine and to a naive reference model written here: a Map
 * of orders, L2 recomputed after every step by sorting, sums in BigInt. After every event the two must
 * agree on every L2 level, best bid/ask, spread, mid, every L3 queue, and the report.
 *
 * A failure message names the seed and the step: rerun with that seed to replay it exactly.
 */
import { describe, expect, test } from "bun:test";
import { JsonNumber } from "../../../src/base/exact-json.ts";
import { L3Book, type BookEvent } from "../../../src/book/l3-book.ts";
import type { OrderData, OrderEventName } from "../../../src/model/schemas.ts";
import { seededRandom } from "../../support/seeded-random.ts";

// ---------------------------------------------------------------------------------------------
// Reference decimals: BigInt units of 10^-60, by string manipulation

const REF_SCALE = 60;
const DECIMAL_RE = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

interface RefDecimal {
  units: bigint;
  /** Digits after the point of the text's plain form. */
  scale: number;
  /** The text in plain form (itself when already plain without leading zeros). */
  plain: string;
}

function refDecimal(text: string): RefDecimal | undefined {
  const m = DECIMAL_RE.exec(text);
  if (m === null) return undefined;
  const frac = m[2] ?? "";
  const exp = Number(m[3] ?? 0);
  const scale = Math.max(0, frac.length - exp);
  const units = BigInt(m[1]! + frac) * 10n ** BigInt(REF_SCALE - frac.length + exp);
  const plainAlready = m[3] === undefined && !(m[1]!.length > 1 && m[1]!.startsWith("0"));
  return { units, scale, plain: plainAlready ? text : refFormat(units, scale) };
}

/** Plain text of `units` (10^-60) with at least `minScale` decimals, more when needed. */
function refFormat(units: bigint, minScale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(REF_SCALE + 1, "0");
  const whole = digits.slice(0, -REF_SCALE);
  let frac = digits.slice(-REF_SCALE).replace(/0+$/, "");
  if (frac.length < minScale) frac = frac.padEnd(minScale, "0");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// Reference book: a Map of orders; everything else recomputed from it

interface RefOrder {
  id: string;
  side: 0 | 1;
  price: RefDecimal;
  amount: RefDecimal;
  /** When the order joined its current level: queue order. */
  seq: number;
}

interface RefLevel {
  price: string;
  priceUnits: bigint;
  priceScale: number;
  amount: string;
  orders: number;
  queue: string[];
}

class ReferenceBook {
  readonly orders = new Map<string, RefOrder>();
  reportAfterMicros = Number.NEGATIVE_INFINITY;
  unknownChanged: string[] = [];
  unknownDeleted: string[] = [];
  rejected: string[] = [];
  crossed = false;
  crossedTimes = 0;
  private seq = 0;

  apply(kind: OrderEventName, data: OrderData): void {
    const id = data.id_str ?? String(data.id);
    const counted = Number(data.microtimestamp) > this.reportAfterMicros;
    if (kind === "order_deleted") {
      if (this.orders.has(id)) this.orders.delete(id);
      else if (counted) this.unknownDeleted.push(id);
    } else {
      const price = refDecimal(data.price_str);
      const amount = refDecimal(data.amount_str);
      const side = data.order_type;
      if (price === undefined || amount === undefined || (side !== 0 && side !== 1)) {
        this.rejected.push(id);
      } else {
        const held = this.orders.get(id);
        if (kind === "order_changed" && held === undefined && counted) this.unknownChanged.push(id);
        if (amount.units === 0n) this.orders.delete(id);
        else if (held !== undefined && held.side === side && held.price.units === price.units) Object.assign(held, { price, amount });
        else this.orders.set(id, { id, side, price, amount, seq: this.seq++ });
      }
    }
    const [bid] = this.levels(0);
    const [ask] = this.levels(1);
    const crossed = bid !== undefined && ask !== undefined && bid.priceUnits >= ask.priceUnits;
    if (crossed && !this.crossed && counted) this.crossedTimes++;
    this.crossed = crossed;
  }

  /** Levels of one side, best first, by sorting every order. */
  levels(side: 0 | 1): RefLevel[] {
    const mine = [...this.orders.values()].filter((o) => o.side === side);
    mine.sort((a, b) => (a.price.units === b.price.units ? a.seq - b.seq : (a.price.units < b.price.units) === (side === 0) ? 1 : -1));
    const out: RefLevel[] = [];
    for (let i = 0; i < mine.length; ) {
      let j = i;
      let sum = 0n;
      let scale = 0;
      while (j < mine.length && mine[j]!.price.units === mine[i]!.price.units) {
        sum += mine[j]!.amount.units;
        scale = Math.max(scale, mine[j]!.amount.scale);
        j++;
      }
      const head = mine[i]!;
      out.push({
        price: head.price.plain, priceUnits: head.price.units, priceScale: head.price.scale,
        amount: refFormat(sum, scale), orders: j - i, queue: mine.slice(i, j).map((o) => o.id),
      });
      i = j;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The adversarial stream

const T0 = 1_788_551_766_000_000;

interface Stream {
  events: BookEvent[];
  reportAfterMicros: number;
}

function generate(seed: number, count: number): Stream {
  const rand = seededRandom(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const live = new Set<string>(); // ids the generator believes are resting (zero amounts and rejected events aside: those just become unknown)
  const past: BookEvent[] = [];
  const events: BookEvent[] = [];
  let micros = T0;
  let nextId = 2_046_839_978_000_000n;
  let nextHugeId = 9_223_372_036_854_775_000n; // 19 digits, above 2^53

  const priceText = (side: number): string => {
    // 6 prices a side around 100.00 (bids below, asks above), so levels hold several orders; 4% of
    // orders take a price from the other side: the book crosses now and then, and uncrosses.
    const below = (side === 0) !== rand() < 0.04;
    const cents = below ? 9_994 + Math.floor(rand() * 6) : 10_001 + Math.floor(rand() * 6);
    const plain = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
    const r = rand();
    if (r < 0.1) return `${plain}0`; // same value, another spelling
    if (r < 0.15) return `${String(cents)[0]}.${String(cents).slice(1)}E+${String(cents).length - 3}`; // exponent form
    if (r < 0.18) return `${plain}000000000000000001`; // 20 decimals: its own level, BigInt
    if (r < 0.19) return `0${plain}`; // leading zero
    return plain;
  };
  const amountText = (): string => {
    const r = rand();
    if (r < 0.06) return pick(["0.00000000", "0", "0E-8"]); // zero: removes
    if (r < 0.12) return pick(["1E-8", "2.5e-07", "1.0E+1", "3e2"]);
    if (r < 0.17) return `0.${String(Math.floor(rand() * 1e9)).padStart(9, "0")}123456789`; // 18 decimals
    if (r < 0.2) return `${Math.floor(rand() * 1e6)}123456789012.5`; // beyond 2^53 units of 10^-8
    if (r < 0.22) return pick(["-1", "1,5", "abc"]); // rejected
    return `${Math.floor(rand() * 3)}.${String(Math.floor(rand() * 1e8)).padStart(8, "0")}`;
  };
  const newId = (): string => (rand() < 0.2 ? String(nextHugeId++) : String(nextId++));
  const make = (kind: OrderEventName, id: string, side: 0 | 1 | 2, price: string, amount: string): BookEvent => {
    const numericOnly = rand() < 0.15;
    const idNumber = BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER) ? new JsonNumber(id) : Number(id);
    const data: OrderData = {
      id: idNumber,
      ...(numericOnly ? {} : { id_str: id }),
      order_type: side,
      datetime: String(Math.round(micros / 1e6)),
      microtimestamp: String(micros),
      amount: 0,
      amount_str: amount,
      price: 0,
      price_str: price,
    };
    return { event: kind, data };
  };

  /** Ids whose event put them on the other side's prices: deleted again soon, so the book uncrosses. */
  const crossers = new Set<string>();
  const note = (e: BookEvent) => {
    const id = e.data.id_str ?? String(e.data.id);
    if (e.event === "order_deleted") {
      live.delete(id);
      crossers.delete(id);
      return;
    }
    live.add(id);
    const price = Number(e.data.price_str); // a float is fine for telling the sides apart
    if ((e.data.order_type === 0 && price > 100.005) || (e.data.order_type === 1 && price < 100.005)) crossers.add(id);
    else crossers.delete(id);
  };
  const remove = (id: string) => make("order_deleted", id, 0, "0", "0");

  while (events.length < count) {
    // Time: a third of events share the previous millisecond (bursts of several on one).
    if (rand() > 0.35) micros += 1000 * (1 + Math.floor(rand() * 3));
    const r = rand();
    let e: BookEvent;
    const side = (): 0 | 1 | 2 => (rand() < 0.003 ? 2 : rand() < 0.5 ? 0 : 1);
    const ids = [...live];
    if (crossers.size > 0 && rand() < 0.3) {
      e = remove(pick([...crossers]));
    } else if (r < 0.3 || ids.length < 5) {
      const s = side();
      e = make("order_created", newId(), s, priceText(s), amountText());
    } else if (r < 0.55) {
      const id = pick(ids);
      const held = past.findLast((p) => (p.data.id_str ?? String(p.data.id)) === id && p.event !== "order_deleted")!;
      const heldSide = held.data.order_type === 1 ? 1 : 0;
      const flip = rand() < 0.03;
      const s = flip ? ((1 - heldSide) as 0 | 1) : heldSide;
      e = make("order_changed", id, s, rand() < 0.2 || flip ? priceText(s) : held.data.price_str, amountText());
    } else if (r < 0.75) {
      e = remove(pick(ids));
    } else if (r < 0.82) {
      const s = side();
      e = make("order_changed", newId(), s, priceText(s), amountText()); // unknown order changed
    } else if (r < 0.9) {
      e = remove(newId()); // unknown order deleted
    } else {
      // An earlier event again, with the current time: the book must take it as state, not as a delta.
      const old = pick(past);
      e = { event: old.event, data: { ...old.data, microtimestamp: String(micros) } };
    }
    note(e);
    past.push(e);
    events.push(e);
  }
  return { events, reportAfterMicros: T0 + Math.floor(count / 4) * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Comparison

function compare(book: L3Book, ref: ReferenceBook): string[] {
  const problems: string[] = [];
  const check = (what: string, got: unknown, want: unknown) => {
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    if (g !== w) problems.push(`${what}: engine ${g}, reference ${w}`);
  };
  const refBids = ref.levels(0);
  const refAsks = ref.levels(1);
  const asL2 = (l: RefLevel) => ({ price: l.price, amount: l.amount, orders: l.orders });
  check("bid levels", book.levels("bid"), refBids.map(asL2));
  check("ask levels", book.levels("ask"), refAsks.map(asL2));
  check("best bid", book.bestBid(), refBids[0] && asL2(refBids[0]));
  check("best ask", book.bestAsk(), refAsks[0] && asL2(refAsks[0]));
  const [b, a] = [refBids[0], refAsks[0]];
  const scale = b && a ? Math.max(b.priceScale, a.priceScale) : 0;
  check("spread", book.spread(), b && a ? refFormat(a.priceUnits - b.priceUnits, scale) : undefined);
  check("mid", book.mid(), b && a ? refFormat((a.priceUnits + b.priceUnits) / 2n, scale) : undefined);
  for (const [side, levels] of [["bid", refBids], ["ask", refAsks]] as const) {
    for (const level of levels) check(`${side} queue at ${level.price}`, book.queue(side, level.price).map((o) => o.id), level.queue);
  }
  check("order count", book.orderCount, ref.orders.size);
  const report = book.report();
  check("unknown changed", [report.unknownChanged.count, report.unknownChanged.ids], [ref.unknownChanged.length, ref.unknownChanged.slice(0, 100)]);
  check("unknown deleted", [report.unknownDeleted.count, report.unknownDeleted.ids], [ref.unknownDeleted.length, ref.unknownDeleted.slice(0, 100)]);
  check("rejected", report.rejected.samples.map((s) => s.id), ref.rejected.slice(0, 100));
  check("crossed", [report.crossed, report.crossedTimes], [ref.crossed, ref.crossedTimes]);
  return problems;
}

function run(seed: number, count: number): { stream: Stream; ref: ReferenceBook; book: L3Book } {
  const stream = generate(seed, count);
  const book = new L3Book();
  const ref = new ReferenceBook();
  book.reportAfterMicros = ref.reportAfterMicros = stream.reportAfterMicros;
  stream.events.forEach((e, step) => {
    book.apply(e);
    ref.apply(e.event, e.data);
    const problems = compare(book, ref);
    if (problems.length > 0) {
      throw new Error(`seed ${seed}, step ${step} (${e.event} ${JSON.stringify(e.data)}):\n${problems.slice(0, 5).join("\n")}`);
    }
  });
  return { stream, ref, book };
}

describe("the engine agrees with a naive reference model after every event", () => {
  for (const seed of [1, 2, 3, 42, 20261205]) {
    test(`seed ${seed}: 2,500 adversarial events`, () => {
      const { ref } = run(seed, 2500);
      // Guards: the stream really exercised what the header promises.
      expect(ref.unknownChanged.length).toBeGreaterThan(10);
      expect(ref.unknownDeleted.length).toBeGreaterThan(10);
      expect(ref.rejected.length).toBeGreaterThan(3);
      expect(ref.crossedTimes).toBeGreaterThan(3);
      expect(ref.orders.size).toBeGreaterThan(20);
    });
  }

  test("read only at the end, crossings are counted once per microtimestamp (a matching step), like a reference that checks at each step's end", () => {
    for (const seed of [1, 2, 3]) {
      const stream = generate(seed, 2500);
      const book = new L3Book();
      const ref = new ReferenceBook();
      book.reportAfterMicros = ref.reportAfterMicros = stream.reportAfterMicros;
      let crossed = false;
      let times = 0;
      let pending = false;
      let stepMicros = "";
      let stepCounted = false;
      const settle = () => {
        if (!pending) return;
        pending = false;
        const [bid] = ref.levels(0);
        const [ask] = ref.levels(1);
        const now = bid !== undefined && ask !== undefined && bid.priceUnits >= ask.priceUnits;
        if (now && !crossed && stepCounted) times++;
        crossed = now;
      };
      for (const e of stream.events) {
        if (pending && e.data.microtimestamp !== stepMicros) settle();
        book.apply(e);
        ref.apply(e.event, e.data);
        pending = true;
        stepMicros = e.data.microtimestamp;
        stepCounted = Number(e.data.microtimestamp) > ref.reportAfterMicros;
      }
      settle();
      const report = book.report();
      expect([report.crossed, report.crossedTimes]).toEqual([crossed, times]);
      expect(times).toBeGreaterThan(0);
      expect(times).toBeLessThan(ref.crossedTimes); // the per-event count sees crossings inside steps
    }
  });

  test("the streams hold the promised edge cases", () => {
    const { events } = generate(1, 2500);
    const texts = events.flatMap((e) => [e.data.price_str, e.data.amount_str]);
    expect(texts.some((t) => /E/i.test(t))).toBe(true);
    expect(texts.some((t) => /\.\d{18,}/.test(t))).toBe(true);
    expect(events.some((e) => e.data.id instanceof JsonNumber && e.data.id_str === undefined)).toBe(true);
    const perMicros = new Map<string, number>();
    for (const e of events) perMicros.set(e.data.microtimestamp, (perMicros.get(e.data.microtimestamp) ?? 0) + 1);
    expect(Math.max(...perMicros.values())).toBeGreaterThanOrEqual(4);
    const { book } = run(1, 2500);
    const crowded = book.levels("bid").concat(book.levels("ask")).filter((l) => l.orders >= 3);
    expect(crowded.length).toBeGreaterThan(0);
  });
});
