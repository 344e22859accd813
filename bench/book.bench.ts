/**
 * Order-book engine benchmark: `bun bench/book.bench.ts`. Prints human lines, then one JSON object of
 * figures on the last line (for BENCHMARKS.md). Runs in about 20 s.
 *
 * The stream (generated here, seeded): a btcusd-like book of ~1,000 resting orders within ±2% of a
 * drifting mid (prices at 0.01, 8-decimal amounts, 16-digit ids), loaded from a group=2 snapshot,
 * then Bitstamp's mix of events: about 45% order_created, 45% order_deleted (mostly cancels), 10%
 * order_changed (partial fills near the top of the book), several per millisecond. Events are plain
 * objects shaped like the decoder's, built afresh for every run (new id and price strings, as decoded
 * frames give), 2,000 at a time outside the timed part; only applying them is timed.
 *
 * Figures, each the median of 7 runs after a warm-up run:
 * - events/s applied in memory (target: >= 2,000,000/s);
 * - the same, reading the depth-20 L2 of both sides after every event, and after every 1,000;
 * - events/s on the exact path: the same stream with 19-digit ids (above 2^53) and 12-decimal
 *   amounts, which take the BigInt fallback.
 */
import { readFileSync } from "node:fs";
import { L3Book, type BookEvent } from "../src/book/l3-book.ts";
import { bookFromSnapshot } from "../src/book/snapshot-book.ts";
import type { OrderBookSnapshot } from "../src/book/snapshot-schema.ts";
import type { OrderData, OrderEventName } from "../src/model/schemas.ts";
import { seededRandom } from "../tests/support/seeded-random.ts";

const EVENTS = 200_000;
const RESTING = 1_000;
const REPEATS = 7;
/** Events built, then applied, at a time (about 1 MB of event objects: they stay in cache, as just-decoded events do). */
const CHUNK = 2_000;
const DEPTH = 20;
const START_MICROS = 1_788_551_771_000_000;

interface StreamOptions {
  /** 19-digit ids and 12-decimal amounts: the exact (BigInt) path. */
  exact: boolean;
}

interface Resting {
  id: string;
  side: 0 | 1;
  ticks: number;
  units: number;
}

/**
 * The snapshot of ~1,000 resting orders, then the events after it in chunks; the same seed gives the
 * same stream, in fresh objects.
 */
class BenchStream {
  readonly snapshot: OrderBookSnapshot;
  private readonly rand = seededRandom(2026);
  private readonly amountDecimals: number;
  private nextId: bigint;
  private mid = 7_971_538; // ticks of 0.01: 79715.38
  private micros = START_MICROS;
  private readonly resting: Resting[] = [];

  constructor(private readonly options: StreamOptions) {
    this.amountDecimals = options.exact ? 12 : 8;
    this.nextId = options.exact ? 1_234_567_890_123_456_789n : 2_046_839_979_000_000n;
    for (let i = 0; i < RESTING; i++) this.resting.push(this.newOrder());
    const rows = (side: 0 | 1) =>
      this.resting
        .filter((o) => o.side === side)
        .sort((a, b) => (side === 0 ? b.ticks - a.ticks : a.ticks - b.ticks))
        .map((o): [string, string, string] => [price(o.ticks), this.amount(o.units), o.id]);
    this.snapshot = { timestamp: String(Math.floor(this.micros / 1e6)), microtimestamp: String(this.micros), bids: rows(0), asks: rows(1) };
  }

  /** The next `count` events. */
  chunk(count: number): BookEvent[] {
    const rand = this.rand;
    const resting = this.resting;
    const events: BookEvent[] = [];
    while (events.length < count) {
      if (rand() < 0.6) this.micros += 1000;
      this.mid += Math.round((rand() - 0.5) * 4);
      const r = rand();
      if (r < 0.45 || resting.length < RESTING / 2) {
        const o = this.newOrder();
        resting.push(o);
        events.push(this.event("order_created", o));
      } else if (r < 0.9 || resting.length === 0) {
        const [o] = resting.splice(Math.floor(rand() * resting.length), 1);
        events.push(this.event("order_deleted", o!));
      } else {
        // A partial fill of an order near the top: the closest to the mid of a few random ones.
        let best = Math.floor(rand() * resting.length);
        for (let k = 0; k < 3; k++) {
          const j = Math.floor(rand() * resting.length);
          if (Math.abs(resting[j]!.ticks - this.mid) < Math.abs(resting[best]!.ticks - this.mid)) best = j;
        }
        const o = resting[best]!;
        o.units = Math.max(1, Math.floor(o.units * (0.2 + rand() * 0.7)));
        events.push(this.event("order_changed", o));
      }
    }
    return events;
  }

  private newOrder(): Resting {
    const side: 0 | 1 = this.rand() < 0.5 ? 0 : 1;
    // Distance from the mid in ticks: mostly close (geometric, mean 3 USD), at most 2%.
    const distance = 1 + Math.min(16_000, Math.floor(-Math.log(1 - this.rand()) * 300));
    const ticks = side === 0 ? this.mid - distance : this.mid + distance;
    const units = Math.max(1, Math.floor(10 ** (this.amountDecimals - 4 + this.rand() * 4)));
    return { id: String(this.nextId++), side, ticks, units };
  }

  private amount(units: number): string {
    const s = String(units).padStart(this.amountDecimals + 1, "0");
    return `${s.slice(0, -this.amountDecimals)}.${s.slice(-this.amountDecimals)}`;
  }

  private event(kind: OrderEventName, o: Resting): BookEvent {
    const data: OrderData = {
      id: this.options.exact ? 0 : Number(o.id),
      id_str: `${o.id}`,
      order_type: o.side,
      datetime: String(Math.round(this.micros / 1e6)),
      microtimestamp: String(this.micros),
      amount: 0,
      amount_str: this.amount(o.units),
      price: 0,
      price_str: price(o.ticks),
    };
    return { event: kind, data };
  }
}

function price(ticks: number): string {
  return `${Math.floor(ticks / 100)}.${String(ticks % 100).padStart(2, "0")}`;
}

/** Full GC between runs when the runtime offers one (Bun.gc), so one run does not pay for another's garbage. */
function collectGarbage(): void {
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Work on one chunk of events; returns something read, so that nothing is optimized away. */
type Work = (book: L3Book, events: BookEvent[], offset: number) => number;

/**
 * Events/s of `work`: a fresh stream and book per run, events built in chunks of CHUNK (untimed) and
 * each chunk timed while applied, as a reader applies events it has just decoded (hot in cache);
 * median of REPEATS runs after one warm-up.
 */
function rate(options: StreamOptions, work: Work): { perSec: number; runs: number[]; book: L3Book } {
  const runs: number[] = [];
  let book = new L3Book();
  let sink = 0;
  for (let r = 0; r <= REPEATS; r++) {
    const stream = new BenchStream(options);
    book = bookFromSnapshot(stream.snapshot);
    collectGarbage();
    let seconds = 0;
    for (let done = 0; done < EVENTS; done += CHUNK) {
      const events = stream.chunk(CHUNK);
      const start = performance.now();
      sink += work(book, events, done);
      seconds += (performance.now() - start) / 1000;
    }
    if (r > 0) runs.push(Math.round(EVENTS / seconds));
  }
  if (sink === 0) throw new Error("nothing read");
  return { perSec: median(runs), runs, book };
}

const applyOnly: Work = (book, events) => {
  for (let i = 0; i < events.length; i++) book.apply(events[i]!);
  return book.orderCount;
};

const depthEvery = (every: number): Work => (book, events, offset) => {
  let levels = 0;
  for (let i = 0; i < events.length; i++) {
    book.apply(events[i]!);
    if ((offset + i) % every === 0) {
      const depth = book.depth(DEPTH);
      levels += depth.bids.length + depth.asks.length;
    }
  }
  return levels;
};

function fmt(n: number): string {
  return n.toLocaleString("en");
}

const load = (() => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
})();
console.log(`book bench: ${fmt(EVENTS)} events per run over ~${fmt(RESTING)} resting orders, median of ${REPEATS} runs; ${navigator.hardwareConcurrency} CPUs, load average ${load}`);

const fast = rate({ exact: false }, applyOnly);
const report = fast.book.report();
console.log(
  `apply only            ${fmt(fast.perSec)} events/s (runs ${fast.runs.map(fmt).join(", ")}); end: ${fmt(fast.book.orderCount)} orders, ` +
    `${fast.book.levelCount("bid")} + ${fast.book.levelCount("ask")} levels, unknown changed/deleted ${report.unknownChanged.count}/${report.unknownDeleted.count}, crossed ${report.crossedTimes} times`,
);
const everyEvent = rate({ exact: false }, depthEvery(1));
console.log(`apply + depth-20 read after every event   ${fmt(everyEvent.perSec)} events/s (runs ${everyEvent.runs.map(fmt).join(", ")})`);
const every1000 = rate({ exact: false }, depthEvery(1000));
console.log(`apply + depth-20 read every 1,000 events  ${fmt(every1000.perSec)} events/s (runs ${every1000.runs.map(fmt).join(", ")})`);
const exact = rate({ exact: true }, applyOnly);
console.log(`exact path (19-digit ids, 12-decimal amounts: BigInt sums)  ${fmt(exact.perSec)} events/s (runs ${exact.runs.map(fmt).join(", ")})`);

const nsPerEvent = (perSec: number) => Math.round(1e9 / perSec);
console.log(
  `cost of a depth-20 read: ~${nsPerEvent(everyEvent.perSec) - nsPerEvent(fast.perSec)} ns per read when read after every event ` +
    `(${nsPerEvent(fast.perSec)} ns/event apply only, ${nsPerEvent(everyEvent.perSec)} ns with the read)`,
);

console.log(
  JSON.stringify({
    bench: "book",
    runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : "unknown",
    eventsPerRun: EVENTS,
    restingOrders: RESTING,
    applyPerSec: fast.perSec,
    applyTargetPerSec: 2_000_000,
    applyWithDepth20EveryEventPerSec: everyEvent.perSec,
    applyWithDepth20Every1000PerSec: every1000.perSec,
    exactPathApplyPerSec: exact.perSec,
    runs: { apply: fast.runs, depthEveryEvent: everyEvent.runs, depthEvery1000: every1000.runs, exact: exact.runs },
  }),
);
