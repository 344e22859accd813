/**
 * The fake exchange's true order book (test support): what `GET /api/v2/order_book/<pair>/?group=2`
 * answers when the fake runs with `trueBook`. It starts from resting orders that are in the book but
 * were never sent as events (the reason snapshots exist: a subscriber only sees changes from its
 * subscription on), and follows every `live_orders_<pair>` frame the fake sends, as the exchange's
 * own book would: `order_created` and `order_changed` set the order (by `id_str`) to the frame's
 * `price_str`, `amount_str` and side, `order_deleted` removes it. An order keeps its place in its
 * price level while its price stays; a new price puts it at the back.
 *
 * The body is written like the real one (frame-text.ts `orderBookBody`: strings, Python spacing),
 * bids high to low, asks low to high, each level in queue order, `microtimestamp` the time of the
 * last change. The same layout as FrameGenerator.bookSnapshot, so `generator.bookSnapshot(pair)`
 * before the first frame is a valid starting book and equals this book after the same frames.
 */
import { orderBookBody, type BookRow } from "./frame-text.ts";

interface RestingOrder {
  side: 0 | 1;
  price: string;
  amount: string;
  /** Arrival order: queue position inside a level. */
  seq: number;
}

interface PairBook {
  orders: Map<string, RestingOrder>;
  lastChangeMicros: number;
}

/** One answer of the REST order book: which pair, when, and the exact body. */
export interface ServedBook {
  pair: string;
  /** The request's path and query (`/api/v2/order_book/btcusd/?group=2&_=...`). */
  path: string;
  body: string;
  /** Order frames observed before it was answered. */
  framesBefore: number;
}

const ORDER_FRAME_RE = /^\{"data":\{/;

export class TrueBook {
  private readonly books = new Map<string, PairBook>();
  private seq = 0;
  private observed = 0;
  private readonly served: ServedBook[] = [];

  /** `initial`: group=2 bodies (e.g. FrameGenerator.bookSnapshot before the first frame) by pair. */
  constructor(initial: Readonly<Record<string, string>> = {}) {
    for (const [pair, body] of Object.entries(initial)) this.load(pair, body);
  }

  /** Follows one frame the fake sent (anything but a live_orders event is ignored). */
  observe(frame: string): void {
    if (!ORDER_FRAME_RE.test(frame) || !frame.includes('"channel":"live_orders_')) return;
    let parsed: { data?: Record<string, unknown>; channel?: unknown; event?: unknown };
    try {
      parsed = JSON.parse(frame) as typeof parsed;
    } catch {
      return;
    }
    const channel = typeof parsed.channel === "string" ? parsed.channel : "";
    const data = parsed.data;
    if (!channel.startsWith("live_orders_") || data === undefined) return;
    const id = typeof data.id_str === "string" ? data.id_str : String(data.id);
    const book = this.bookOf(channel.slice("live_orders_".length));
    this.observed++;
    const micros = Number(data.microtimestamp);
    if (Number.isFinite(micros) && micros > book.lastChangeMicros) book.lastChangeMicros = micros;
    if (parsed.event === "order_deleted") {
      book.orders.delete(id);
      return;
    }
    if (parsed.event !== "order_created" && parsed.event !== "order_changed") return;
    const side = data.order_type === 1 ? 1 : 0;
    const price = String(data.price_str);
    const known = book.orders.get(id);
    const seq = known !== undefined && known.price === price && known.side === side ? known.seq : this.seq++;
    book.orders.set(id, { side, price, amount: String(data.amount_str), seq });
  }

  /** The group=2 body of `pair` now (after the last frame observed); undefined for a pair it has never seen. */
  body(pair: string): string | undefined {
    const book = this.books.get(pair);
    if (book === undefined) return undefined;
    const rows = (side: 0 | 1): BookRow[] =>
      [...book.orders.entries()]
        .filter(([, o]) => o.side === side)
        .sort(([, a], [, b]) => (side === 0 ? compareDecimal(b.price, a.price) : compareDecimal(a.price, b.price)) || a.seq - b.seq)
        .map(([id, o]) => [o.price, o.amount, id] as const);
    return orderBookBody(book.lastChangeMicros, rows(0), rows(1));
  }

  /** Answers one REST request (and logs it); undefined for a pair it has never seen. */
  serve(pair: string, path: string): string | undefined {
    const body = this.body(pair);
    if (body !== undefined) this.served.push({ pair, path, body, framesBefore: this.observed });
    return body;
  }

  /** Every body served, in order. */
  servedBooks(): ServedBook[] {
    return [...this.served];
  }

  /** Order frames observed so far. */
  framesObserved(): number {
    return this.observed;
  }

  private bookOf(pair: string): PairBook {
    let book = this.books.get(pair);
    if (book === undefined) {
      book = { orders: new Map(), lastChangeMicros: 0 };
      this.books.set(pair, book);
    }
    return book;
  }

  private load(pair: string, body: string): void {
    const parsed = JSON.parse(body) as { microtimestamp: string; bids: string[][]; asks: string[][] };
    const book = this.bookOf(pair);
    book.lastChangeMicros = Number(parsed.microtimestamp);
    for (const [side, rows] of [[0, parsed.bids], [1, parsed.asks]] as const) {
      for (const [price, amount, id] of rows) book.orders.set(id!, { side, price: price!, amount: amount!, seq: this.seq++ });
    }
  }
}

/** Compares two non-negative plain decimal strings by value ("64839" = "64839.00"). */
export function compareDecimal(a: string, b: string): number {
  const [ai = "", af = ""] = a.split(".");
  const [bi = "", bf = ""] = b.split(".");
  const aInt = ai.replace(/^0+(?=\d)/, "");
  const bInt = bi.replace(/^0+(?=\d)/, "");
  if (aInt.length !== bInt.length) return aInt.length - bInt.length;
  if (aInt !== bInt) return aInt < bInt ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const x = af.padEnd(width, "0");
  const y = bf.padEnd(width, "0");
  return x === y ? 0 : x < y ? -1 : 1;
}
