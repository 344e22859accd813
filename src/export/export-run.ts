/**
 * `obcap export`: items of a time range -> the original frames, one per line, in exchange-time order.
 *
 * Hour by hour: for each UTC hour bucket of [from, to), every partition `<pair>#<stream>#<hour>#<shard>`
 * is queried (pages of `pageItems`, a bounded number of Queries at once) with
 * `sk BETWEEN sortKeyMicros(from) AND sortKeyMicros(to)` (every sk has a `#` after its 16 digits, so
 * the upper bound excludes `to` itself), and the partitions are merged by sort key. The next hour's
 * first pages are fetched while this hour is written. Memory holds at most two hours' cursors with two
 * pages each, whatever the range. Frames are rebuilt by `decodeItem`, byte for byte as received.
 */
import { channelName, type Stream } from "../model/channels.ts";
import { journalLine } from "../journal/journal-line.ts";
import { decodeItem } from "../store/dynamodb/item-decoder.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { hourBucketsBetween, partitionKeysOfHour, sortKeyMicros } from "../store/dynamodb/keys.ts";
import { OutputClosed, type LineOutput } from "./line-output.ts";
import { mergeCursors } from "./merge.ts";
import { PartitionCursor, type QueryFn } from "./partition-query.ts";
import type { TimeRange } from "./time-range.ts";

/** `frames`: the exchange's frames (what replay reads). `journal`: `{"rx":..,"m":frame}` when the item has a receive time. */
export type ExportFormat = "frames" | "journal";

export interface ExportOptions {
  query: QueryFn;
  /** The table's shard count (metadata item). */
  shards: number;
  pairs: readonly string[];
  streams: readonly Stream[];
  range: TimeRange;
  format: ExportFormat;
  output: LineOutput;
  /** An item that is not an obcap event item: its key and why. */
  onBadItem: (key: string, reason: string) => void;
  /** After each hour: for progress lines. */
  onHour?: (hourBucket: string, summary: ExportSummary) => void;
}

export interface ExportSummary {
  frames: number;
  /** Frames per channel, e.g. `live_orders_btcusd`. */
  byChannel: Record<string, number>;
  badItems: number;
  hours: number;
  partitions: number;
  /** The reader of the output went away (`| head`): the export stopped there. */
  closedEarly: boolean;
}

/** Runs the export; resolves with the summary once every line is handed to the output (not closed). */
export async function runExport(options: ExportOptions): Promise<ExportSummary> {
  const { range, pairs, streams, shards, output, format } = options;
  const summary: ExportSummary = { frames: 0, byChannel: {}, badItems: 0, hours: 0, partitions: 0, closedEarly: false };
  const lo = sortKeyMicros(range.fromMicros);
  const hi = sortKeyMicros(range.toMicros);
  const hours = hourBucketsBetween(range.fromMicros, range.toMicros - 1);
  const channels = new Map<string, string>();
  const cursorsOf = (hour: string): PartitionCursor[] =>
    pairs.flatMap((pair) =>
      streams.flatMap((stream) => {
        channels.set(`${pair}#${stream}`, channelName(stream, pair));
        return partitionKeysOfHour(pair, stream, hour, shards).map(
          (pk) => new PartitionCursor(pk, (startKey) => options.query(pk, lo, hi, startKey)),
        );
      }),
    );

  const emit = (item: Item): Promise<void> | undefined => {
    let frame: string;
    try {
      frame = decodeItem(item);
    } catch (err) {
      summary.badItems++;
      options.onBadItem(`pk=${item.pk?.S ?? "?"} sk=${item.sk?.S ?? "?"}`, err instanceof Error ? err.message : String(err));
      return undefined;
    }
    summary.frames++;
    const pk = item.pk?.S ?? "";
    const channel = channels.get(pk.slice(0, pk.indexOf("#", pk.indexOf("#") + 1))) ?? "?";
    summary.byChannel[channel] = (summary.byChannel[channel] ?? 0) + 1;
    const rx = item.rx?.N;
    return output.write(format === "journal" && rx !== undefined ? journalLine(Number(rx), frame) : `${frame}\n`);
  };

  let next = hours.length > 0 ? cursorsOf(hours[0]!) : [];
  try {
    for (let h = 0; h < hours.length; h++) {
      const cursors = next;
      // Read-ahead: the next hour's first pages load while this hour is merged and written.
      next = h + 1 < hours.length ? cursorsOf(hours[h + 1]!) : [];
      await mergeCursors(cursors, emit);
      summary.hours++;
      summary.partitions += cursors.length;
      options.onHour?.(hours[h]!, summary);
    }
  } catch (err) {
    if (!(err instanceof OutputClosed)) throw err;
    summary.closedEarly = true;
  }
  return summary;
}
