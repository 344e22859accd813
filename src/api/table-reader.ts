/**
 * What the routes read from one obcap table: pages of a (pair, stream)'s frames in exchange-time
 * order, the recorded gaps, the pairs and their hours, and a {@link TableHistory} for the book. Built
 * once per server (or Lambda container) from the table's metadata item; every read is a Query or a
 * GetItem (the read-only IAM policy of docs/api.md), strongly consistent like export's.
 */
import { QueryCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mergeCursors } from "../export/merge.ts";
import { PartitionCursor, dynamoQueryFn, type QueryFn } from "../export/partition-query.ts";
import { layoutQueryFn, partitionKeysToRead } from "../export/packed-query.ts";
import { TableHistory, hourStartMicros } from "../history/table-history.ts";
import { STREAMS, type Stream } from "../model/channels.ts";
import { COVERAGE_PK, listCoverage, listPairs } from "../store/dynamodb/coverage.ts";
import { decodeItem } from "../store/dynamodb/item-decoder.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { hourBucketsBetween, sortKeyMicros } from "../store/dynamodb/keys.ts";
import { readWithRetry } from "../store/dynamodb/read-retry.ts";
import { openTableForReading } from "../store/dynamodb/table.ts";

/** Reads give up after this many attempts (a person, or a Lambda's timeout, waits): then 503. */
const READ_ATTEMPTS = 3;
/** How long a pair found (or not) in the coverage records is trusted. */
const PAIR_CACHE_MS = 60_000;

export interface PageRequest {
  pair: string;
  stream: Stream;
  /** [fromMicros, toMicros) of exchange time. */
  fromMicros: number;
  toMicros: number;
  /** Only these order events (orders stream). */
  type?: string;
  /** Stop after this many frames, at the end of a microtimestamp; undefined: the whole range. */
  limit?: number;
}

export interface PageEnd {
  frames: number;
  /** The first microtimestamp not returned, when the page stopped before the end of the range. */
  nextMicros?: number;
  /** Items that are not obcap event items (counted, not returned). */
  badItems: number;
}

export interface StoredGap {
  stream: Stream;
  startMicros: number;
  endMicros: number;
  reason: string;
  rxMicros?: number;
}

export interface PairCoverage {
  pair: string;
  streams: { stream: string; hours: number; fromMicros: number; toMicros: number }[];
}

class PageFull extends Error {}

export class TableReader {
  private readonly query: QueryFn;
  private readonly pairCache = new Map<string, { known: boolean; atMs: number }>();

  private constructor(
    readonly client: DynamoDBClient,
    readonly table: string,
    readonly shards: number,
    readonly coverageComplete: boolean,
    readonly packMs: number | undefined,
  ) {
    this.query = layoutQueryFn(dynamoQueryFn({ client, table, pageItems: 1000, parallel: 16, maxAttempts: READ_ATTEMPTS }), { shards, packMs });
  }

  /** Checks the table (one GetItem) and reads its shard count and coverage state. */
  static async open(client: DynamoDBClient, table: string): Promise<TableReader> {
    const { shards, metadata } = await openTableForReading({ client, table });
    return new TableReader(client, table, shards, metadata.coverage === "complete", metadata.packMs);
  }

  /** One GetItem of the metadata item: the table answers (for /health). */
  async ping(): Promise<void> {
    await openTableForReading({ client: this.client, table: this.table, timeoutMs: 5_000 });
  }

  history(): TableHistory {
    return new TableHistory({ client: this.client, table: this.table, shards: this.shards, packMs: this.packMs, coverageComplete: this.coverageComplete, query: this.query, maxAttempts: READ_ATTEMPTS });
  }

  /**
   * Whether the table holds anything of `pair` (its coverage records); always true when the table's
   * coverage is incomplete (then absence proves nothing).
   */
  async knowsPair(pair: string): Promise<boolean> {
    if (!this.coverageComplete) return true;
    const cached = this.pairCache.get(pair);
    if (cached && Date.now() - cached.atMs < PAIR_CACHE_MS) return cached.known;
    const out = await readWithRetry(this.client, this.table, "Query", `Query of the coverage of ${pair}`, () =>
      this.client.send(new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": { S: COVERAGE_PK }, ":prefix": { S: `${pair}#` } },
        Limit: 1,
        ConsistentRead: true,
      })), { maxAttempts: READ_ATTEMPTS });
    const known = (out.Items ?? []).length > 0;
    this.pairCache.set(pair, { known, atMs: Date.now() });
    return known;
  }

  /** Every pair with its streams' hours (coverage records). */
  async pairs(): Promise<PairCoverage[]> {
    const out: PairCoverage[] = [];
    for (const pair of await listPairs(this.client, this.table, { maxAttempts: READ_ATTEMPTS })) {
      const streams: PairCoverage["streams"] = [];
      for (const stream of STREAMS) {
        const hours = await listCoverage(this.client, this.table, pair, stream, 0, 9_999_999_999_999_999, { maxAttempts: READ_ATTEMPTS });
        if (hours.length === 0) continue;
        streams.push({ stream, hours: hours.length, fromMicros: hourStartMicros(hours[0]!), toMicros: hourStartMicros(hours.at(-1)!) + 3_600_000_000 });
      }
      out.push({ pair, streams });
    }
    return out;
  }

  /** The frames of a range in exchange-time order, each handed to `onFrame` (awaited: backpressure). */
  async frames(request: PageRequest, onFrame: (frame: string) => Promise<void> | void): Promise<PageEnd> {
    const { pair, stream, fromMicros, toMicros, limit } = request;
    const end: PageEnd = { frames: 0, badItems: 0 };
    if (!(toMicros > fromMicros)) return end;
    // A range of one or two hours is read directly: listing its coverage would cost as much as probing.
    const buckets = hourBucketsBetween(fromMicros, toMicros);
    const hours = this.coverageComplete && buckets.length > 2
      ? await listCoverage(this.client, this.table, pair, stream, fromMicros, toMicros, { maxAttempts: READ_ATTEMPTS })
      : buckets;
    const lo = sortKeyMicros(fromMicros);
    const hi = sortKeyMicros(toMicros);
    const pageItems = limit === undefined ? 1000 : Math.min(1000, limit + 1);
    let lastMicros = "";
    try {
      for (const hour of hours) {
        // A page needs at most limit + 1 items of each shard: no Query ahead of need.
        const cursors = partitionKeysToRead({ shards: this.shards, packMs: this.packMs }, pair, stream, hour).map((pk) => new PartitionCursor(pk, (startKey) => this.query(pk, lo, hi, startKey, undefined, pageItems), { ahead: limit === undefined }));
        await mergeCursors(cursors, async (item: Item) => {
          const micros = (item.sk?.S ?? "").slice(0, 16);
          if (limit !== undefined && end.frames >= limit && micros !== lastMicros) {
            end.nextMicros = Number(micros);
            throw new PageFull();
          }
          lastMicros = micros;
          if (request.type !== undefined && item.ev?.S !== request.type) return;
          let frame: string;
          try {
            frame = decodeItem(item);
          } catch {
            end.badItems++;
            return;
          }
          end.frames++;
          const pending = onFrame(frame);
          if (pending) await pending;
        });
      }
    } catch (err) {
      if (!(err instanceof PageFull)) throw err;
    }
    return end;
  }

  /** The gap records of `pair` (both streams) that meet [fromMicros, toMicros], by start time. */
  async gaps(pair: string, fromMicros: number, toMicros: number): Promise<StoredGap[]> {
    const history = this.history();
    const out: StoredGap[] = [];
    for (const stream of STREAMS) {
      for (const gap of await history.gaps(pair, fromMicros, toMicros, stream)) {
        out.push({ stream, startMicros: gap.startMicros, endMicros: gap.endMicros, reason: gap.reason, ...(gap.rxMicros > 0 ? { rxMicros: gap.rxMicros } : {}) });
      }
    }
    return out.sort((a, b) => a.startMicros - b.startMicros || a.stream.localeCompare(b.stream));
  }
}
