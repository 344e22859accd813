/**
 * The order book snapshots of an export's range, for `export --format journal`: each snapshot's
 * chunk items (store/dynamodb/snapshot-item.ts) rebuilt into the journal line the capture wrote,
 * `{"rx":µs,"obcap":{"event":"obcap:snapshot",...}}`, byte for byte, so `replay` of the export writes
 * the same items again. A snapshot belongs to the range by its body's `microtimestamp` S (the book's
 * last change): from <= S < to, like an event's exchange time.
 *
 * Placement: the export calls {@link SnapshotStream.until} before each event line with that event's
 * microtimestamp, so a snapshot comes after every event at or before S and before the first one
 * after it (the events a reader applies on top of it), and {@link SnapshotStream.rest} at the end.
 *
 * Reading: per pair, one day partition at a time (`<pair>#snapshots#<YYYYMMDD>`, sk between the
 * range's bounds), a page ahead, so memory holds about two pages per pair (DynamoDB returns at most
 * 1 MB per page) plus the one snapshot being written. A range of D days costs pairs x D Queries at
 * least, even for days without snapshots.
 */
import type { Item } from "../store/dynamodb/item.ts";
import { sortKeyMicros } from "../store/dynamodb/keys.ts";
import { ownLine } from "../journal/journal-line.ts";
import { dayBucketsBetween, snapshotPartitionKey, SnapshotAssembler, type RebuiltSnapshot } from "../store/dynamodb/snapshot-item.ts";
import { PartitionCursor, type QueryFn } from "./partition-query.ts";
import type { TimeRange } from "./time-range.ts";

/** Writes one line; a returned promise is awaited (output backpressure). */
export type WriteLine = (line: string) => Promise<void> | void;

/** Where a snapshot chunk's sort key keeps the 16-digit microtimestamp and the digest: `<µs16>#<32 hex>`. */
const SNAPSHOT_PREFIX_CHARS = 16 + 1 + 32;

/** One pair's snapshots, day partition by day partition, in sort-key order. */
class PairSnapshots {
  private readonly days: string[];
  private dayIndex = 0;
  private cursor: PartitionCursor | undefined;

  constructor(
    readonly pair: string,
    private readonly query: QueryFn,
    private readonly lo: string,
    private readonly hi: string,
    range: TimeRange,
  ) {
    this.days = range.toMicros > range.fromMicros ? dayBucketsBetween(range.fromMicros, range.toMicros - 1) : [];
  }

  /** The next chunk item, loaded but not taken; undefined at the end. */
  async peek(): Promise<Item | undefined> {
    for (;;) {
      if (this.cursor === undefined) {
        if (this.dayIndex >= this.days.length) return undefined;
        const pk = snapshotPartitionKey(this.pair, this.days[this.dayIndex]!);
        this.cursor = new PartitionCursor(pk, (startKey) => this.query(pk, this.lo, this.hi, startKey));
      }
      if (await this.cursor.load()) return this.cursor.current();
      this.cursor = undefined;
      this.dayIndex++;
    }
  }

  /** The chunks of the next snapshot, assembled: the snapshot, or Errors for chunks that are not a whole one. */
  async take(): Promise<Array<RebuiltSnapshot | Error>> {
    const assembler = new SnapshotAssembler();
    let prefix: string | undefined;
    for (;;) {
      const item = await this.peek();
      const itemPrefix = item === undefined ? undefined : prefixOf(item);
      if (item === undefined || (prefix !== undefined && itemPrefix !== prefix)) return assembler.finish();
      prefix = itemPrefix;
      this.cursor!.advance();
      const done = assembler.add(item);
      if (done.length > 0) return done;
    }
  }
}

function prefixOf(item: Item): string {
  return `${item.pk?.S ?? ""}/${(item.sk?.S ?? "").slice(0, SNAPSHOT_PREFIX_CHARS)}`;
}

/** The snapshots of the range of every pair, merged in time order; see the file comment. */
export class SnapshotStream {
  private readonly readers: PairSnapshots[];
  /** Each reader's next chunk's microtimestamp (16 digits), or null at its end; undefined: not looked at yet. */
  private heads: Array<string | null | undefined>;
  /** Snapshots written. */
  written = 0;

  constructor(
    query: QueryFn,
    pairs: readonly string[],
    range: TimeRange,
    private readonly onBadItem: (key: string, reason: string) => void,
  ) {
    const lo = sortKeyMicros(range.fromMicros);
    const hi = sortKeyMicros(range.toMicros);
    this.readers = pairs.map((pair) => new PairSnapshots(pair, query, lo, hi, range));
    this.heads = this.readers.map(() => undefined);
  }

  /**
   * Writes every snapshot whose microtimestamp is before `micros` (16 digits). Returns undefined when
   * there is nothing to do right now without waiting (the common case, once the heads are known).
   */
  until(micros: string, write: WriteLine): Promise<void> | undefined {
    if (this.heads.every((head) => head !== undefined) && !this.heads.some((head) => head !== null && head! < micros)) return undefined;
    return this.drain(micros, write);
  }

  /** Writes every snapshot left. */
  rest(write: WriteLine): Promise<void> {
    return this.drain(undefined, write);
  }

  private async drain(micros: string | undefined, write: WriteLine): Promise<void> {
    for (;;) {
      for (let i = 0; i < this.readers.length; i++) {
        if (this.heads[i] === undefined) {
          const item = await this.readers[i]!.peek();
          this.heads[i] = item === undefined ? null : (item.sk?.S ?? "").slice(0, 16);
        }
      }
      let next = -1;
      for (let i = 0; i < this.heads.length; i++) {
        const head = this.heads[i];
        if (head === null || head === undefined) continue;
        if (next < 0 || head < this.heads[next]!) next = i;
      }
      if (next < 0 || (micros !== undefined && this.heads[next]! >= micros)) return;
      const reader = this.readers[next]!;
      const key = `snapshot chunks of ${reader.pair} at ${this.heads[next]}`;
      this.heads[next] = undefined;
      for (const result of await reader.take()) {
        if (result instanceof Error) {
          this.onBadItem(key, result.message);
          continue;
        }
        this.written++;
        const pending = write(ownLine(result.rxMicros, result.record));
        if (pending) await pending;
      }
    }
  }
}
