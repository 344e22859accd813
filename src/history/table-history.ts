/**
 * An obcap DynamoDB table as a {@link HistorySource}. Hours are listed from the coverage records
 * (store/dynamodb/coverage.ts) when the table's metadata says they are complete, else probed; each
 * hour's shards are merged in (microtimestamp, rx) order by export's merge. Snapshots are found with
 * one descending Query per day partition (store/dynamodb/snapshot-item.ts), gaps in the channel's gap
 * partition. Strongly consistent reads, like export.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { parseOrderBookSnapshot } from "../book/snapshot-schema.ts";
import { mergeCursors } from "../export/merge.ts";
import { PartitionCursor, type QueryFn } from "../export/partition-query.ts";
import { partitionKeysToRead } from "../export/packed-query.ts";
import { channelName, type Stream } from "../model/channels.ts";
import { GAP_REASONS, type GapReason } from "../model/gap-record.ts";
import type { GapEvent } from "../model/events.ts";
import { listCoverage } from "../store/dynamodb/coverage.ts";
import { decodeItemRx } from "../store/dynamodb/item-decoder.ts";
import { ORDER_BOOK_PROJECTION, orderStateOfItem } from "../store/dynamodb/order-item-reader.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { gapPartitionKey, hourBucketsBetween, MICROS_PER_HOUR, sortKeyMicros } from "../store/dynamodb/keys.ts";
import { readWithRetry, type ReadRetryOptions } from "../store/dynamodb/read-retry.ts";
import { dayBucketOfMicros, dayBucketsBetween, decodeSnapshotItems, parseSnapshotSortKey, SnapshotAssembler, snapshotPartitionKey } from "../store/dynamodb/snapshot-item.ts";
import { AsyncChannel, ChannelClosed } from "./async-channel.ts";
import type { HistoryEvent, HistorySource, StoredSnapshot } from "./history-source.ts";

/** Time ranges each shard of an hour is read in at once. */
const TIME_SLICES = 4;

/** Start (µs) of an hour bucket `YYYYMMDDHH` (UTC). */
export function hourStartMicros(hour: string): number {
  return Date.UTC(Number(hour.slice(0, 4)), Number(hour.slice(4, 6)) - 1, Number(hour.slice(6, 8)), Number(hour.slice(8, 10))) * 1000;
}

/** Days searched back for the nearest snapshot (a capture takes one every 15 minutes by default). */
export const SNAPSHOT_SEARCH_DAYS = 7;
const MICROS_PER_DAY = 86_400_000_000;

export interface TableHistoryOptions extends ReadRetryOptions {
  client: DynamoDBClient;
  table: string;
  shards: number;
  /** The packed layout's window (metadata item); `query` must read packed partitions (export/packed-query.ts). */
  packMs?: number | undefined;
  /** The table's coverage records are complete (its metadata): list hours instead of probing. */
  coverageComplete: boolean;
  /** Query of one page of a partition (export's, with its parallelism bound and Query counter). */
  query: QueryFn;
}

export class TableHistory implements HistorySource {
  constructor(private readonly options: TableHistoryOptions) {}

  describe(): string {
    return `table ${this.options.table}`;
  }

  async snapshotAtOrBefore(pair: string, atMicros: number): Promise<StoredSnapshot | undefined> {
    for (let day = 0; day < SNAPSHOT_SEARCH_DAYS; day++) {
      const pk = snapshotPartitionKey(pair, dayBucketOfMicros(atMicros - day * MICROS_PER_DAY));
      // The last chunk of the newest snapshot at or before T: its sort key names the snapshot.
      const [last] = await this.query(`nearest snapshot in ${pk}`, {
        KeyConditionExpression: "pk = :pk AND sk <= :hi",
        ExpressionAttributeValues: { ":pk": { S: pk }, ":hi": { S: `${sortKeyMicros(atMicros)}~` } },
        ScanIndexForward: false,
        Limit: 1,
      });
      if (last === undefined) continue;
      const key = parseSnapshotSortKey(last.sk?.S ?? "");
      if (key === undefined) throw new Error(`item ${pk} / ${last.sk?.S} is not a snapshot chunk`);
      const chunks = await this.query(`chunks of snapshot ${pk} / ${key.micros}`, {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": { S: pk }, ":prefix": { S: `${key.micros}#${key.digest}#` } },
      });
      const rebuilt = decodeSnapshotItems(chunks);
      const parsed = parseOrderBookSnapshot(JSON.parse(rebuilt.bodyText));
      if (!parsed.success) throw new Error(`snapshot ${pk} / ${key.micros}: ${parsed.reason}`);
      const received = Number(chunks.at(-1)?.rc?.N ?? rebuilt.rxMicros);
      return { pair, microtimestamp: Number(rebuilt.microtimestamp), receivedMicros: received, book: parsed.snapshot };
    }
    return undefined;
  }

  async snapshotsBetween(pair: string, fromMicros: number, toMicros: number): Promise<StoredSnapshot[]> {
    const out: StoredSnapshot[] = [];
    for (const day of dayBucketsBetween(fromMicros, toMicros)) {
      const pk = snapshotPartitionKey(pair, day);
      const items = await this.query(`snapshots in ${pk}`, {
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues: { ":pk": { S: pk }, ":lo": { S: sortKeyMicros(fromMicros) }, ":hi": { S: `${sortKeyMicros(toMicros)}~` } },
      });
      // The chunks of one snapshot are consecutive in sort-key order.
      const assembler = new SnapshotAssembler();
      for (const done of [...items.flatMap((item) => assembler.add(item)), ...assembler.finish()]) {
        if (done instanceof Error) throw done;
        const parsed = parseOrderBookSnapshot(JSON.parse(done.bodyText));
        if (!parsed.success) throw new Error(`snapshot ${pk} / ${done.microtimestamp}: ${parsed.reason}`);
        out.push({ pair, microtimestamp: Number(done.microtimestamp), receivedMicros: done.rxMicros, book: parsed.snapshot });
      }
    }
    return out;
  }

  /** The gap records of one channel (the order channel unless `stream` says otherwise) that meet [from, to]. */
  async gaps(pair: string, fromMicros: number, toMicros: number, stream: Stream = "orders"): Promise<GapEvent[]> {
    // Gap sort keys are <start µs16>#<end µs16>#<reason>: every gap starting by `to`, kept when it ends at or after `from`.
    const pk = gapPartitionKey(pair, stream);
    const items = await this.query(`gaps of ${pk}`, {
      KeyConditionExpression: "pk = :pk AND sk <= :hi",
      ExpressionAttributeValues: { ":pk": { S: pk }, ":hi": { S: `${sortKeyMicros(toMicros)}~` } },
    });
    const out: GapEvent[] = [];
    for (const item of items) {
      const [start, end, reason] = (item.sk?.S ?? "").split("#");
      const gap: GapEvent = {
        pair,
        stream,
        channel: channelName(stream, pair),
        startMicros: Number(start),
        endMicros: Number(end),
        reason: (GAP_REASONS as readonly string[]).includes(reason ?? "") ? (reason as GapReason) : "dropped",
        rxMicros: decodeItemRx(item) || 0,
      };
      if (gap.endMicros >= fromMicros && gap.startMicros <= toMicros) out.push(gap);
    }
    return out;
  }

  async *orderEvents(pair: string, fromMicros: number, toMicros: number): AsyncIterable<HistoryEvent> {
    const { shards, query } = this.options;
    const hours = this.options.coverageComplete
      ? await listCoverage(this.options.client, this.options.table, pair, "orders", fromMicros, toMicros + 1, this.options)
      : hourBucketsBetween(fromMicros, toMicros);
    // Each shard of an hour is read as TIME_SLICES time ranges at once (DynamoDB answers Queries in
    // parallel; one partition read page after page waits on every page), all merged by sort key; the
    // next hour's first pages load while this one is merged.
    const cursorsOf = (hour: string): PartitionCursor[] => {
      const start = hourStartMicros(hour);
      const from = Math.max(fromMicros, start);
      const to = Math.min(toMicros, start + MICROS_PER_HOUR - 1);
      const step = Math.max(1, Math.ceil((to - from + 1) / TIME_SLICES));
      // Inclusive µs ranges [a, end]: "sk BETWEEN <a> AND <end>~" holds every sort key of those times ("~" sorts after "#").
      const slices: [string, string][] = [];
      for (let a = from; a <= to; a += step) slices.push([sortKeyMicros(a), `${sortKeyMicros(Math.min(a + step - 1, to))}~`]);
      return partitionKeysToRead({ shards, packMs: this.options.packMs }, pair, "orders", hour).flatMap((pk) =>
        slices.map(([lo, hi]) => new PartitionCursor(pk, (startKey) => query(pk, lo, hi, startKey, ORDER_BOOK_PROJECTION))),
      );
    };
    const channel = new AsyncChannel<Item>(2048);
    const producer = (async () => {
      try {
        let next = hours.length > 0 ? cursorsOf(hours[0]!) : [];
        for (let h = 0; h < hours.length; h++) {
          const cursors = next;
          next = h + 1 < hours.length ? cursorsOf(hours[h + 1]!) : [];
          await mergeCursors(cursors, (item) => channel.push(item));
        }
        channel.close();
      } catch (err) {
        if (!(err instanceof ChannelClosed)) channel.fail(err);
      }
    })();
    try {
      for await (const item of channel) yield orderStateOfItem(item);
    } finally {
      channel.close();
      await producer;
    }
  }

  /** Every item of one Query (all pages). */
  private async query(what: string, input: Omit<QueryCommandInput, "TableName">): Promise<Item[]> {
    const { client, table } = this.options;
    const items: Item[] = [];
    let startKey: QueryCommandInput["ExclusiveStartKey"];
    do {
      const out = await readWithRetry(client, table, "Query", `Query of ${what}`, () =>
        client.send(new QueryCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: startKey, ...input })), this.options);
      items.push(...(out.Items ?? []));
      startKey = input.Limit !== undefined ? undefined : out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
