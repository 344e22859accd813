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
    if (items.length > 1) items.sort((a, b) => rxOf(a) - rxOf(b)); // Array.prototype.sort is stable
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
