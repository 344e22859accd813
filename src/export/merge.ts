/**
 * k-way merge of partition cursors by sort key, so the items of every shard (and stream, and pair)
 * of an hour come out in exchange-time order: a sort key starts with the 16-digit microtimestamp, so
 * string order is time order. Ties (same sk in two partitions) go by pk, so the output is
 * deterministic. A binary min-heap: O(log k) per item; the only awaits are page loads.
 *
 * Within one microtimestamp the sort key orders events by `event_id` text, which need not be the
 * order the exchange sent them in (a burst shares the microtimestamp, and the counter part of
 * `event_id` is not known to grow within it). The receive time is that order on one connection, so
 * items of one microtimestamp go out by `rx` (stable: items without one keep sort-key order). Replay
 * reads an export in the exchange's order, and its event_id chain check sees no false break.
 *
 * The receive time cannot always say it: a recording stamped per millisecond (or not at all) gives a
 * burst one `rx`, and two capture boxes writing one table leave each item with the `rx` of the box
 * that wrote it last, on clocks that differ. Sort-key order then puts an order's `d` before its `u`.
 * So within one microtimestamp the items of each order take the places its items hold in lifecycle
 * order: created, changed, deleted (an order is never changed before it exists or after it is
 * gone); changes by `rx`, then by remaining amount, largest first (a fill leaves less). Items of
 * other orders, and trades, keep their places.
 */
import type { Item } from "../store/dynamodb/item.ts";
import type { PartitionCursor } from "./partition-query.ts";

/** Called for every item in order; a returned promise is awaited (output backpressure). */
export type EmitItem = (item: Item) => Promise<void> | void;

/** Emits every item of `cursors` in (microtimestamp, rx, sk, pk) order (see the file comment). */
export async function mergeCursors(cursors: readonly PartitionCursor[], emit: EmitItem): Promise<void> {
  const group = new SameMicrosGroup(emit);
  await mergeBySortKey(cursors, (item) => group.add(item));
  await group.flush();
}

/** Collects the items of one microtimestamp (consecutive in sort-key order), then emits them by receive time. */
class SameMicrosGroup {
  private items: Item[] = [];
  private micros = "";

  constructor(private readonly emit: EmitItem) {}

  add(item: Item): Promise<void> | undefined {
    const micros = (item.sk?.S ?? "").slice(0, 16);
    if (micros === this.micros) {
      this.items.push(item);
      return undefined;
    }
    const done = this.flush();
    this.micros = micros;
    this.items.push(item);
    return done;
  }

  async flush(): Promise<void> {
    const items = this.items;
    this.items = [];
    if (items.length > 1) {
      items.sort((a, b) => rxOf(a) - rxOf(b)); // Array.prototype.sort is stable
      orderLifecycles(items);
    }
    for (const item of items) {
      const pending = this.emit(item);
      if (pending) await pending;
    }
  }
}

function rxOf(item: Item): number {
  const rx = item.rx?.N;
  return rx === undefined ? Number.POSITIVE_INFINITY : Number(rx);
}

/** Rank of an order event in an order's life; undefined for anything else (trades, gaps). */
const LIFECYCLE: Readonly<Record<string, number>> = { order_created: 0, order_changed: 1, order_deleted: 2 };

/** The items of each order among `items` (one microtimestamp) put in lifecycle order in the places they hold. */
function orderLifecycles(items: Item[]): void {
  let places: Map<string, number[]> | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const id = item.is?.S ?? item.id?.N;
    if (id === undefined || LIFECYCLE[item.ev?.S ?? ""] === undefined) continue;
    const key = `${item.pk?.S ?? ""}|${id}`;
    places ??= new Map();
    const list = places.get(key);
    if (list === undefined) places.set(key, [i]);
    else list.push(i);
  }
  if (places === undefined) return;
  for (const list of places.values()) {
    if (list.length < 2) continue;
    const sorted = list.map((i) => items[i]!).sort(inLifecycle);
    list.forEach((place, k) => (items[place] = sorted[k]!));
  }
}

/** Created, changed, deleted; changes by receive time, then the larger remaining amount first. */
function inLifecycle(a: Item, b: Item): number {
  const rank = LIFECYCLE[a.ev!.S!]! - LIFECYCLE[b.ev!.S!]!;
  if (rank !== 0 || a.ev!.S !== "order_changed") return rank;
  return rxOf(a) - rxOf(b) || compareDecimalText(amountOf(b), amountOf(a));
}

function amountOf(item: Item): string {
  return item.a?.N ?? item.a?.S ?? "0";
}

/** Compares two non-negative decimal texts exactly (plain "0.0123", or exponent "1E-8"). */
export function compareDecimalText(x: string, y: string): number {
  const [xi, xf] = plainParts(x);
  const [yi, yf] = plainParts(y);
  if (xi.length !== yi.length) return xi.length - yi.length;
  if (xi !== yi) return xi < yi ? -1 : 1;
  const width = Math.max(xf.length, yf.length);
  const a = xf.padEnd(width, "0");
  const b = yf.padEnd(width, "0");
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Integer digits without leading zeros, and fraction digits, of a decimal text. */
function plainParts(text: string): [string, string] {
  let digits = text;
  let exponent = 0;
  const e = text.search(/[eE]/);
  if (e >= 0) {
    digits = text.slice(0, e);
    exponent = Number(text.slice(e + 1)) || 0;
  }
  const dot = digits.indexOf(".");
  let whole = dot < 0 ? digits : digits.slice(0, dot);
  let fraction = dot < 0 ? "" : digits.slice(dot + 1);
  if (exponent > 0) {
    const moved = fraction.padEnd(exponent, "0");
    whole += moved.slice(0, exponent);
    fraction = moved.slice(exponent);
  } else if (exponent < 0) {
    const moved = whole.padStart(-exponent + 1, "0");
    fraction = moved.slice(moved.length + exponent) + fraction;
    whole = moved.slice(0, moved.length + exponent);
  }
  return [whole.replace(/^0+/, ""), fraction];
}

/** Emits every item of `cursors` in (sk, pk) order. */
async function mergeBySortKey(cursors: readonly PartitionCursor[], emit: EmitItem): Promise<void> {
  const heap: PartitionCursor[] = [];
  const loaded = await Promise.all(cursors.map((c) => c.load()));
  cursors.forEach((c, i) => {
    if (loaded[i]) heap.push(c);
  });
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  while (heap.length > 0) {
    const top = heap[0]!;
    const pending = emit(top.current()!);
    if (pending) await pending;
    top.advance();
    if (top.current() === undefined && !(await top.load())) {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    siftDown(heap, 0);
  }
}

function before(a: PartitionCursor, b: PartitionCursor): boolean {
  const x = a.current()!;
  const y = b.current()!;
  const xs = x.sk?.S ?? "";
  const ys = y.sk?.S ?? "";
  if (xs !== ys) return xs < ys;
  return (x.pk?.S ?? "") < (y.pk?.S ?? "");
}

function siftDown(heap: PartitionCursor[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === i) return;
    [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
    i = smallest;
  }
}
