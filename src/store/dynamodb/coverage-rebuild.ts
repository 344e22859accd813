/**
 * `obcap table coverage`: writes the coverage items a table lacks (data written before coverage
 * records existed, or by a schema-1 obcap). One pass over the table: the coverage partition first
 * (what exists), then a Scan of every item's `pk` in `segments` parallel segments; each data
 * partition not yet covered gets its item (coverage.ts `coverageSortKeyOfPartition`, the writers'
 * own rule), written through the BatchWriter. Idempotent: run it twice and the second run writes
 * nothing; an item written by a capture meanwhile is the identical item.
 *
 * Memory: one string per (pair, stream, hour) of the table (a year of one pair's two streams is
 * 17,520 keys, about 1.5 MB). Cost: the Scan reads the whole table once (read units for every
 * item's size, though only `pk` comes back).
 */
import { ScanCommand, type DynamoDBClient, type ScanCommandInput } from "@aws-sdk/client-dynamodb";
import { BatchWriter } from "./batch-writer.ts";
import { coverageSortKeyOfPartition, encodeCoverageItem, listAllCoverage } from "./coverage.ts";
import type { Item } from "./item.ts";
import { readWithRetry } from "./read-retry.ts";

/** BatchWriteItem's limit on items per call. */
const BATCH_ITEMS = 25;

export interface CoverageRebuildOptions {
  client: DynamoDBClient;
  table: string;
  /** Parallel Scan segments (Scan `TotalSegments`). */
  segments: number;
  /** Items per Scan page (Limit); default DynamoDB's 1 MB pages. */
  pageItems?: number;
  /** BatchWriteItem requests in flight. Default 4. */
  maxInFlight?: number;
  /** After each Scan page: figures so far, for progress lines. */
  onProgress?: (summary: CoverageRebuildSummary) => void;
  onRetry?: (message: string) => void;
}

export interface CoverageRebuildSummary {
  /** Items the Scan returned (every item of the table). */
  scannedItems: number;
  /** Scan calls (pages), retries included. */
  scanCalls: number;
  /** Coverage items found before the Scan. */
  existing: number;
  /** Coverage items found missing so far (each queued to be written). */
  missing: number;
  /** Coverage items DynamoDB acknowledged (set at the end: every missing one). */
  written: number;
}

/** Writes every missing coverage item of `table`; resolves once DynamoDB acknowledged all. Throws ObcapError. */
export async function rebuildCoverage(options: CoverageRebuildOptions): Promise<CoverageRebuildSummary> {
  const { client, table } = options;
  if (!Number.isInteger(options.segments) || options.segments < 1) throw new RangeError(`segments must be a positive integer, got ${options.segments}`);
  const summary: CoverageRebuildSummary = { scannedItems: 0, scanCalls: 0, existing: 0, missing: 0, written: 0 };
  const covered = new Set(await listAllCoverage(client, table, { onRetry: options.onRetry }));
  summary.existing = covered.size;
  const writer = new BatchWriter({
    client,
    table,
    maxInFlight: options.maxInFlight ?? 4,
    onRetry: (info) => options.onRetry?.(`BatchWriteItem: retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}`),
  });
  let pending: Item[] = [];
  const submitFull = async (all: boolean): Promise<void> => {
    while (pending.length >= BATCH_ITEMS || (all && pending.length > 0)) {
      const batch = pending.slice(0, BATCH_ITEMS);
      pending = pending.slice(BATCH_ITEMS);
      await writer.submit(batch);
    }
  };

  const scanSegment = async (segment: number): Promise<void> => {
    let startKey: ScanCommandInput["ExclusiveStartKey"];
    do {
      const out = await readWithRetry(client, table, "Scan", `Scan segment ${segment} of ${options.segments}`, () =>
        client.send(new ScanCommand({
          TableName: table,
          Segment: segment,
          TotalSegments: options.segments,
          ProjectionExpression: "#pk",
          ExpressionAttributeNames: { "#pk": "pk" },
          ExclusiveStartKey: startKey,
          ...(options.pageItems === undefined ? {} : { Limit: options.pageItems }),
          ConsistentRead: true,
        })), { onRetry: options.onRetry, onCall: () => summary.scanCalls++ });
      for (const item of out.Items ?? []) {
        summary.scannedItems++;
        const key = coverageSortKeyOfPartition(item.pk?.S ?? "");
        if (key === undefined || covered.has(key)) continue;
        covered.add(key);
        summary.missing++;
        pending.push(encodeCoverageItem(key));
      }
      await submitFull(false);
      options.onProgress?.(summary);
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
  };

  await Promise.all(Array.from({ length: options.segments }, (_, segment) => scanSegment(segment)));
  await submitFull(true);
  await writer.flush();
  summary.written = writer.stats().written;
  return summary;
}
