/**
 * A journal directory written the way a capture writes it, with the truth beside it: the test
 * exchange's simulated book (frame-generator.ts) as it stood after each frame. Frames in receive
 * order (a trade and an order event within 2 ms swapped now and then: two channels interleave),
 * snapshot records of the true book arriving 50-250 ms after they were taken (the REST round trip,
 * during which more events come), one gap record, three segments named by receive time.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseOrderBookSnapshot, type OrderBookSnapshot } from "../../src/book/snapshot-schema.ts";
import type { L3Book } from "../../src/book/l3-book.ts";
import { decodeFrame } from "../../src/exchange/bitstamp/decode.ts";
import { journalLine, ownLine } from "../../src/journal/journal-line.ts";
import { segmentName } from "../../src/journal/segments.ts";
import { gapRecord } from "../../src/model/gap-record.ts";
import type { OrderEvent } from "../../src/model/events.ts";
import { buildSnapshotRecord } from "../../src/model/order-book-snapshot.ts";
import { generateFramesIter, type OrderFormat } from "./frame-generator.ts";
import { seededRandom } from "./seeded-random.ts";
import { testTempDir } from "./temp-dirs.ts";

export const PAIR = "btcusd";

export interface Truth {
  /** Exchange time of each frame in generation order, and the true book body after it. */
  micros: number[];
  books: string[];
  events: OrderEvent[];
}

export interface Built {
  dir: string;
  truth: Truth;
  firstSnapshotMicros: number;
  gap: { startMicros: number; endMicros: number };
}

function microsOf(frame: string): number {
  return Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
}

/** A journal of `count` frames of btcusd (plus trades) with a snapshot every `snapshotEvery` frames. */
export function buildJournal(seed: number, count: number, snapshotEvery: number, options: { withhold?: (frame: string) => boolean; orderFormat?: OrderFormat | "2023"; sameRxPerMicros?: boolean } = {}): Built {
  const rand = seededRandom(seed);
  const gen = generateFramesIter({ pairs: [PAIR], countPerPair: count, seed, initialOrdersPerPair: 40, orderFormat: options.orderFormat === "2023" ? "2026" : options.orderFormat });
  const layout = options.orderFormat === "2023" ? to2023Layout : (frame: string) => frame;
  const frames: string[] = [];
  const truth: Truth = { micros: [], books: [], events: [] };
  for (const generated of gen) {
    const frame = layout(generated);
    frames.push(frame);
    truth.micros.push(microsOf(frame));
    truth.books.push(gen.bookSnapshot(PAIR)!);
  }
  // Receive order: a trade and an order event within 2 ms swapped now and then (two channels; within
  // one channel Bitstamp sends in event_id chain order, and a swap there is a chain break).
  const order = frames.map((_, i) => i);
  const isTrade = (i: number) => frames[i]!.includes('"live_trades_');
  for (let i = 1; i < order.length; i++) {
    const [a, b] = [order[i - 1]!, order[i]!];
    if (rand() < 0.3 && isTrade(a) !== isTrade(b) && truth.micros[b]! - truth.micros[a]! <= 2000) [order[i - 1], order[i]] = [b, a];
  }
  const lines: { rx: number; text: string }[] = [];
  let rx = 0;
  const pendingSnapshots: { dueRx: number; body: string; requested: number }[] = [];
  let firstSnapshotMicros = Number.NaN;
  order.forEach((index, n) => {
    // sameRxPerMicros: a recorder that stamps frames per millisecond (the events of one exchange
    // microtimestamp share a receive time), else a receive clock that always moves.
    rx = options.sameRxPerMicros ? Math.max(rx, truth.micros[index]! + 2000) : Math.max(rx + 1, truth.micros[index]! + 300 + Math.floor(rand() * 20_000));
    while (pendingSnapshots.length > 0 && pendingSnapshots[0]!.dueRx <= rx) {
      const s = pendingSnapshots.shift()!;
      const record = buildSnapshotRecord({ pair: PAIR, requestedMicros: s.requested, receivedMicros: s.dueRx, body: new TextEncoder().encode(s.body) }).record;
      lines.push({ rx: s.dueRx, text: ownLine(s.dueRx, record) });
    }
    // A withheld frame was sent by the exchange (it is in the truth) but never reached the journal.
    if (!options.withhold?.(frames[index]!)) lines.push({ rx, text: journalLine(rx, frames[index]!) });
    const decoded = decodeFrame(frames[index]!, rx);
    if (decoded.kind === "event" && decoded.event.stream === "orders") truth.events.push(decoded.event);
    // A snapshot of the true book as of the last frame in exchange order received so far: the REST
    // answer lands 50-250 ms later, after more events.
    if (n > 0 && n % snapshotEvery === 0) {
      const upTo = Math.max(...order.slice(0, n + 1));
      if (order.slice(0, n + 1).length === upTo + 1) {
        if (Number.isNaN(firstSnapshotMicros)) firstSnapshotMicros = microsOf(`"microtimestamp":"${JSON.parse(truth.books[upTo]!).microtimestamp}"`);
        pendingSnapshots.push({ dueRx: rx + 50_000 + Math.floor(rand() * 200_000), body: truth.books[upTo]!, requested: rx });
      }
    }
  });
  // A gap in the middle: 5 ms of the order channel, recorded at its end.
  const mid = truth.micros[Math.floor(count / 2)]!;
  const gap = { startMicros: mid, endMicros: mid + 5000 };
  const gapAt = lines.findIndex((l) => l.rx > gap.endMicros);
  lines.splice(gapAt, 0, { rx: lines[gapAt - 1]!.rx, text: ownLine(lines[gapAt - 1]!.rx, gapRecord({ channels: [`live_orders_${PAIR}`], ...gap, reason: "dropped" })) });
  // Three segments, named by the receive time of their first line.
  const dir = testTempDir("history-journal");
  mkdirSync(join(dir, "segments"), { recursive: true });
  const cut = [0, Math.floor(lines.length / 3), Math.floor((2 * lines.length) / 3), lines.length];
  for (let s = 0; s < 3; s++) {
    const part = lines.slice(cut[s], cut[s + 1]);
    writeFileSync(join(dir, "segments", segmentName(part[0]!.rx, 4242)), part.map((l) => l.text).join(""));
  }
  return { dir, truth, firstSnapshotMicros, gap };
}

/** The true book at T: after every frame with exchange time at or before T. */
export function truthAt(truth: Truth, atMicros: number): OrderBookSnapshot {
  let last = -1;
  for (let i = 0; i < truth.micros.length; i++) if (truth.micros[i]! <= atMicros) last = i;
  const parsed = parseOrderBookSnapshot(JSON.parse(truth.books[last]!));
  if (!parsed.success) throw new Error(parsed.reason);
  return parsed.snapshot;
}

export function ordersOf(book: L3Book): string[] {
  return [...book.allOrders()].map((o) => `${o.side} ${o.id} ${o.price} ${o.amount}`).sort();
}

export function truthOrders(snapshot: OrderBookSnapshot): string[] {
  return [...snapshot.bids.map((r) => `bid ${r[2]} ${r[0]} ${r[1]}`), ...snapshot.asks.map((r) => `ask ${r[2]} ${r[0]} ${r[1]}`)].sort();
}

/** The parts of `obcap book --at T --json` the tests read (with --l3: each level's queue). */
export interface BookJson {
  pair: string;
  at_us: number;
  snapshot: { microtimestamp: number };
  events_applied: number;
  bids: { price: string; amount: string; orders: number; queue?: { id: string; amount: string }[] }[];
  asks: { price: string; amount: string; orders: number; queue?: { id: string; amount: string }[] }[];
  gaps: { start_us: number; end_us: number; reason: string }[];
  warnings: string[];
  crossed: boolean;
}

/** The orders of a --l3 --json answer, in the form {@link truthOrders} gives. */
export function jsonOrders(doc: BookJson): string[] {
  const side = (name: string, levels: BookJson["bids"]) => levels.flatMap((l) => (l.queue ?? []).map((o) => `${name} ${o.id} ${l.price} ${o.amount}`));
  return [...side("bid", doc.bids), ...side("ask", doc.asks)].sort();
}

/**
 * The 2023-08 layout of an order frame (bitstamp-protocol.md §2.1): the 2022 fields plus
 * `amount_traded` and `amount_at_create`; no `order_subtype`, `is_liquidation`, and no top-level
 * `event_id`, `pre_event_id`, `order_source` (so no chain). Trades are left as they are.
 */
export function to2023Layout(frame: string): string {
  if (!frame.includes('"channel":"live_orders_')) return frame;
  return frame
    .replace(/"order_subtype":\d+,/, "")
    .replace(/,"is_liquidation":(true|false)/, "")
    .replace(/,"event_id":"[^"]*","pre_event_id":"[^"]*","order_source":"[^"]*"/, "");
}
