/**
 * `obcap export`: items of a time range -> the original frames, one per line, in exchange-time order.
 *
 * Hour by hour: for each UTC hour bucket of [from, to) that holds data, every partition
 * `<pair>#<stream>#<hour>#<shard>` is queried (pages of `pageItems`, a bounded number of Queries at once) with
 * `sk BETWEEN sortKeyMicros(from) AND sortKeyMicros(to)` (every sk has a `#` after its 16 digits, so
 * the upper bound excludes `to` itself), and the partitions are merged by sort key. The next hour's
 * first pages are fetched while this hour is written. Memory holds at most two hours' cursors with two
 * pages each, whatever the range. Frames are rebuilt by `decodeItem`, byte for byte as received.
 *
 * Which hours hold data comes from the coverage records (`listHours`: one Query per pair and stream,
 * src/store/dynamodb/coverage.ts). Without them (a table written before they existed) every hour
 * bucket of the range is probed: pairs x streams x shards Queries per hour, even for empty hours.
 */
import { channelName, type Stream } from "../model/channels.ts";
import { journalLine } from "../journal/journal-line.ts";
import { decodeFrame } from "../exchange/bitstamp/decode.ts";
import { decodeItem } from "../store/dynamodb/item-decoder.ts";
import { csvHeader, csvRow } from "./csv-rows.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { hourBucketsBetween, sortKeyMicros } from "../store/dynamodb/keys.ts";
import { partitionKeysToRead } from "./packed-query.ts";
import { OutputClosed, type LineOutput } from "./line-output.ts";
import { mergeCursors } from "./merge.ts";
import { Limiter, PartitionCursor, type QueryFn } from "./partition-query.ts";
import type { TimeRange } from "./time-range.ts";
import type { SnapshotStream } from "./snapshot-stream.ts";

/**
 * `frames`: the exchange's frames (what replay reads). `journal`: `{"rx":..,"m":frame}` when the item
 * has a receive time. `csv`: trades and order events as CSV rows under one header (csv-rows.ts).
 */
export type ExportFormat = "frames" | "journal" | "csv";

export interface ExportOptions {
  query: QueryFn;
  /** The table's shard count (metadata item). */
  shards: number;
  /** The packed layout's window (metadata item): its partitions are read instead of the shards (packed-query.ts). */
  packMs?: number | undefined;
  /**
   * The hour buckets (`YYYYMMDDHH`) in which a pair and stream hold data within the range (the
   * coverage records); only those are read. Absent: every hour bucket of the range is probed.
   */
  listHours?: (pair: string, stream: Stream) => Promise<readonly string[]>;
  pairs: readonly string[];
  streams: readonly Stream[];
  range: TimeRange;
  format: ExportFormat;
  output: LineOutput;
  /**
   * With `--format journal`: the order book snapshots of the range (snapshot-stream.ts), each written
   * before the first event after its microtimestamp, the rest at the end.
   */
  snapshots?: SnapshotStream;
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
  /** Hour buckets read (with coverage records, only those holding data). */
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
  const channels = new Map<string, string>();
  for (const pair of pairs) for (const stream of streams) channels.set(`${pair}#${stream}`, channelName(stream, pair));
  const { hours, holders } = await hoursToRead(options);
  const cursorsOf = (hour: string): PartitionCursor[] =>
    (holders?.get(hour) ?? allChannels(pairs, streams)).flatMap(({ pair, stream }) =>
      partitionKeysToRead({ shards, packMs: options.packMs }, pair, stream, hour).map(
        (pk) => new PartitionCursor(pk, (startKey) => options.query(pk, lo, hi, startKey)),
      ),
    );

  const write = (line: string) => output.write(line);
  const emit = (item: Item): Promise<void> | undefined => {
    const snapshotsFirst = options.snapshots?.until((item.sk?.S ?? "").slice(0, 16), write);
    return snapshotsFirst ? snapshotsFirst.then(() => emitEvent(item)) : emitEvent(item);
  };
  const emitEvent = (item: Item): Promise<void> | undefined => {
    let frame: string;
    try {
      frame = decodeItem(item);
    } catch (err) {
      summary.badItems++;
      options.onBadItem(`pk=${item.pk?.S ?? "?"} sk=${item.sk?.S ?? "?"}`, err instanceof Error ? err.message : String(err));
      return undefined;
    }
    const rx = item.rx?.N;
    let line: string;
    if (format === "csv") {
      const decoded = decodeFrame(frame, rx === undefined ? 0 : Number(rx));
      if (decoded.kind !== "event") {
        summary.badItems++;
        options.onBadItem(`pk=${item.pk?.S ?? "?"} sk=${item.sk?.S ?? "?"}`, `its frame is not a trade or order event: ${decoded.kind === "invalid" ? decoded.message : decoded.kind}`);
        return undefined;
      }
      line = csvRow(decoded.event);
    } else {
      line = format === "journal" && rx !== undefined ? journalLine(Number(rx), frame) : `${frame}\n`;
    }
    summary.frames++;
    const pk = item.pk?.S ?? "";
    const channel = channels.get(pk.slice(0, pk.indexOf("#", pk.indexOf("#") + 1))) ?? "?";
    summary.byChannel[channel] = (summary.byChannel[channel] ?? 0) + 1;
    return output.write(line);
  };

  let next = hours.length > 0 ? cursorsOf(hours[0]!) : [];
  try {
    if (format === "csv") await output.write(csvHeader());
    for (let h = 0; h < hours.length; h++) {
      const cursors = next;
      // Read-ahead: the next hour's first pages load while this hour is merged and written.
      next = h + 1 < hours.length ? cursorsOf(hours[h + 1]!) : [];
      await mergeCursors(cursors, emit);
      summary.hours++;
      summary.partitions += cursors.length;
      options.onHour?.(hours[h]!, summary);
    }
    await options.snapshots?.rest(write);
  } catch (err) {
    if (!(err instanceof OutputClosed)) throw err;
    summary.closedEarly = true;
  }
  return summary;
}

/** Coverage listings (one per pair and stream) in flight at once. */
const LISTINGS_AT_ONCE = 8;

interface PairStream {
  pair: string;
  stream: Stream;
}

function allChannels(pairs: readonly string[], streams: readonly Stream[]): PairStream[] {
  return pairs.flatMap((pair) => streams.map((stream) => ({ pair, stream })));
}

/**
 * The hour buckets to read, ascending, and for each the (pair, stream)s that hold data in it;
 * without `listHours`, every hour bucket of the range for every (pair, stream) (`holders` absent).
 */
async function hoursToRead(options: ExportOptions): Promise<{ hours: string[]; holders?: Map<string, PairStream[]> }> {
  const { range, pairs, streams, listHours } = options;
  if (listHours === undefined) return { hours: hourBucketsBetween(range.fromMicros, range.toMicros - 1) };
  const channels = allChannels(pairs, streams);
  // A Query each (and a page per year or so): a few at once, however many pairs were asked for.
  const limiter = new Limiter(LISTINGS_AT_ONCE);
  const listed = await Promise.all(channels.map((channel) => limiter.run(() => listHours(channel.pair, channel.stream))));
  const holders = new Map<string, PairStream[]>();
  listed.forEach((hours, i) => {
    for (const hour of hours) {
      const list = holders.get(hour);
      if (list) list.push(channels[i]!);
      else holders.set(hour, [channels[i]!]);
    }
  });
  // Hour buckets are 10 digits: string order is time order.
  return { hours: [...holders.keys()].sort(), holders };
}
