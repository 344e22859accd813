/**
 * `obcap table migrate`: copies a table's data (or a time range and some pairs of it) into a table of
 * another layout, hour by hour, resumable.
 *
 * Into another table, not in place: a capture reads its table's layout once, at start-up, so a table
 * converted under a running capture would go on receiving items of the old layout that no reader of
 * the new one looks for. Copying leaves the source readable and written as before; once the copy has
 * caught up, captures and readers move to the new table (docs/operations.md, "Moving to the packed
 * layout").
 *
 * What is copied, through the destination's own writer (writerForLayout: packed windows merge with
 * whatever is there, so a copy may run again, or beside a capture writing the new table):
 * - every event item of each hour in the range, read through the source's layout (export's merge
 *   order), re-keyed to the destination's shard count when that differs;
 * - a coverage item per (pair, stream, hour) copied;
 * - the gap records that meet the range, and the coverage item saying a channel has them;
 * - the order book snapshot items of the range's days that the copied hours span (their layout does
 *   not change).
 * Position: (hour, item) in the order read; an hour counts as done once every item of it and before it
 * is acknowledged, and only whole hours go in the checkpoint, so a resumed run redoes at most the hour
 * it stopped in (rewriting an item is harmless: same key, same content).
 */
import type { DynamoDBClient, QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { obcapError } from "../base/errors.ts";
import type { Stream } from "../model/channels.ts";
import { STREAMS } from "../model/channels.ts";
import { ItemUploader } from "../pipeline/uploader.ts";
import type { ItemWriter } from "../store/dynamodb/batch-writer.ts";
import { coverageSortKey, encodeCoverageItem, gapsCoverageSortKey, listAllCoverage, parseCoverageSortKey } from "../store/dynamodb/coverage.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { gapPartitionKey, MICROS_PER_HOUR, partitionKey, shardOf, sortKeyMicros } from "../store/dynamodb/keys.ts";
import { readWithRetry } from "../store/dynamodb/read-retry.ts";
import { dayBucketsBetween, snapshotPartitionKey } from "../store/dynamodb/snapshot-item.ts";
import type { TableMetadata } from "../store/dynamodb/table-metadata.ts";
import { mergeCursors } from "../export/merge.ts";
import { layoutQueryFn, partitionKeysToRead } from "../export/packed-query.ts";
import { PartitionCursor, dynamoQueryFn } from "../export/partition-query.ts";

export interface MigrateOptions {
  client: DynamoDBClient;
  source: { table: string; metadata: TableMetadata };
  destination: { table: string; metadata: TableMetadata };
  /** Writes into the destination (its layout's writer). */
  writer: ItemWriter;
  /** Pairs to copy; undefined: every pair the source's coverage names. */
  pairs?: readonly string[];
  fromMicros: number;
  toMicros: number;
  /** Hours (`YYYYMMDDHH`) up to and including this one are done already (a resumed run). */
  doneThroughHour?: string;
  /** After each hour acknowledged whole: for the checkpoint and the progress line. */
  onHourDone?: (hour: string, summary: MigrateSummary) => void;
  /** Asked between hours: stop there (SIGINT). */
  shouldStop?: () => boolean;
  onRetry?: (message: string) => void;
}

export interface MigrateSummary {
  hours: number;
  hoursSkipped: number;
  events: number;
  gapItems: number;
  snapshotItems: number;
  coverageItems: number;
  /** The last hour acknowledged whole. */
  doneThroughHour: string | undefined;
  /** Stopped on request before the end. */
  stopped: boolean;
}

interface Position {
  /** Index into the hours; -1: gap and snapshot items, copied first. */
  hour: number;
  /** The last position of its hour: once it is acknowledged, the hour is done. */
  last: boolean;
}

/** Hour bucket `YYYYMMDDHH` -> its first µs. */
function hourStart(hour: string): number {
  return Date.UTC(Number(hour.slice(0, 4)), Number(hour.slice(4, 6)) - 1, Number(hour.slice(6, 8)), Number(hour.slice(8, 10))) * 1000;
}

export async function runMigration(o: MigrateOptions): Promise<MigrateSummary> {
  const { client, source, destination } = o;
  if (source.metadata.coverage !== "complete") {
    throw obcapError("E_TABLE_INCOMPATIBLE", `table ${source.table} has no complete coverage records, so its hours cannot be listed: run \`obcap table coverage --table ${source.table}\` first`);
  }
  const summary: MigrateSummary = { hours: 0, hoursSkipped: 0, events: 0, gapItems: 0, snapshotItems: 0, coverageItems: 0, doneThroughHour: o.doneThroughHour, stopped: false };
  const retry = { ...(o.onRetry ? { onRetry: o.onRetry } : {}) };

  // What the source holds, from its coverage: hours per (pair, stream), and which channels have gaps.
  const holders = new Map<string, Array<{ pair: string; stream: Stream }>>();
  const gapChannels: Array<{ pair: string; stream: Stream }> = [];
  const pairsSeen = new Set<string>();
  for (const sk of await listAllCoverage(client, source.table, retry)) {
    const entry = parseCoverageSortKey(sk);
    if (entry === undefined || !(STREAMS as readonly string[]).includes(entry.stream)) continue;
    if (o.pairs !== undefined && !o.pairs.includes(entry.pair)) continue;
    pairsSeen.add(entry.pair);
    const stream = entry.stream as Stream;
    if (entry.kind === "gaps") {
      gapChannels.push({ pair: entry.pair, stream });
      continue;
    }
    const start = hourStart(entry.hourBucket);
    if (start + MICROS_PER_HOUR <= o.fromMicros || start >= o.toMicros) continue;
    const list = holders.get(entry.hourBucket);
    if (list) list.push({ pair: entry.pair, stream });
    else holders.set(entry.hourBucket, [{ pair: entry.pair, stream }]);
  }
  const hours = [...holders.keys()].sort();

  const query = layoutQueryFn(dynamoQueryFn({ client, table: source.table, pageItems: 1000, parallel: 8, ...retry }), { shards: source.metadata.shards, packMs: source.metadata.packMs });
  const uploader = new ItemUploader<Position>(o.writer);
  const rekey = destination.metadata.layout === "event" && destination.metadata.shards !== source.metadata.shards;
  const take = async (items: Item[], position: Position): Promise<void> => {
    uploader.take(items, position);
    await uploader.pump();
  };
  let reported = -1;
  const reportDone = (): void => {
    const acked = uploader.acknowledged();
    if (acked === undefined) return;
    const through = acked.last ? acked.hour : acked.hour - 1;
    while (reported < through) {
      reported++;
      if (reported < 0) continue;
      summary.doneThroughHour = hours[reported];
      o.onHourDone?.(hours[reported]!, summary);
    }
  };

  // Gap records and snapshots first (small): a resumed run copies them again, harmlessly.
  if (o.doneThroughHour === undefined) {
    for (const { pair, stream } of gapChannels) {
      const gaps = (await queryAll(client, source.table, `gaps of ${pair} ${stream}`, { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: gapPartitionKey(pair, stream) } } }, retry))
        .filter((item) => {
          const [start, end] = (item.sk?.S ?? "").split("#").map(Number);
          return end! >= o.fromMicros && start! < o.toMicros;
        });
      if (gaps.length === 0) continue;
      summary.gapItems += gaps.length;
      summary.coverageItems++;
      for (const gap of gaps) await take([gap], { hour: -1, last: false });
      await take([encodeCoverageItem(gapsCoverageSortKey(pair, stream))], { hour: -1, last: false });
    }
    // Snapshot days: those of the range that the data's hours span (the range may be "everything").
    const spanFrom = Math.max(o.fromMicros, hours.length > 0 ? hourStart(hours[0]!) : o.toMicros);
    const spanTo = Math.min(o.toMicros, hours.length > 0 ? hourStart(hours.at(-1)!) + MICROS_PER_HOUR : o.fromMicros);
    for (const pair of spanFrom < spanTo ? pairsSeen : []) {
      for (const day of dayBucketsBetween(spanFrom, spanTo - 1)) {
        const items = await queryAll(client, source.table, `snapshots of ${pair} ${day}`, {
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi",
          ExpressionAttributeValues: { ":pk": { S: snapshotPartitionKey(pair, day) }, ":lo": { S: sortKeyMicros(o.fromMicros) }, ":hi": { S: sortKeyMicros(o.toMicros) } },
        }, retry);
        summary.snapshotItems += items.length;
        for (const item of items) await take([item], { hour: -1, last: false });
      }
    }
  }

  const lo = sortKeyMicros(o.fromMicros);
  const hi = sortKeyMicros(o.toMicros);
  for (let h = 0; h < hours.length; h++) {
    const hour = hours[h]!;
    if (o.doneThroughHour !== undefined && hour <= o.doneThroughHour) {
      summary.hoursSkipped++;
      reported = h;
      continue;
    }
    if (o.shouldStop?.()) {
      summary.stopped = true;
      break;
    }
    for (const { pair, stream } of holders.get(hour)!) {
      const cursors = partitionKeysToRead(source.metadata, pair, stream, hour).map((pk) => new PartitionCursor(pk, (startKey) => query(pk, lo, hi, startKey)));
      let any = false;
      await mergeCursors(cursors, async (item) => {
        any = true;
        summary.events++;
        await take([rekey ? rekeyed(item, pair, stream, hour, destination.metadata.shards) : item], { hour: h, last: false });
      });
      if (any) {
        summary.coverageItems++;
        await take([encodeCoverageItem(coverageSortKey(pair, stream, hour))], { hour: h, last: false });
      }
    }
    await take([], { hour: h, last: true });
    summary.hours++;
    reportDone();
  }
  await uploader.finish();
  reportDone();
  return summary;
}

/** The item under the destination's shard count (the shard comes from the order or trade id, keys.ts). */
function rekeyed(item: Item, pair: string, stream: Stream, hour: string, shards: number): Item {
  const id = item.is?.S ?? item.id?.N;
  if (id === undefined) return item;
  return { ...item, pk: { S: partitionKey(pair, stream, hour, shardOf(id, shards)) } };
}

async function queryAll(client: DynamoDBClient, table: string, what: string, input: Omit<QueryCommandInput, "TableName">, retry: { onRetry?: (message: string) => void }): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: QueryCommandInput["ExclusiveStartKey"];
  do {
    const out = await readWithRetry(client, table, "Query", `Query of ${what}`, () =>
      client.send(new QueryCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: startKey, ...input })), retry);
    items.push(...((out.Items ?? []) as Item[]));
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
