/**
 * k-way merge of partition cursors by sort key, so the items of every shard (and stream, and pair)
 * of an hour come out in exchange-time order: a sort key starts with the 16-digit microtimestamp, so
 * string order is time order. Ties (same sk in two partitions) go by pk, so the output is
 * deterministic. A binary min-heap: O(log k) per item; the only awaits are page loads.
 */
import type { Item } from "../store/dynamodb/item-codec.ts";
import type { PartitionCursor } from "./partition-query.ts";

/** Called for every item in order; a returned promise is awaited (output backpressure). */
export type EmitItem = (item: Item) => Promise<void> | void;

/** Emits every item of `cursors` in (sk, pk) order. */
export async function mergeCursors(cursors: readonly PartitionCursor[], emit: EmitItem): Promise<void> {
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
