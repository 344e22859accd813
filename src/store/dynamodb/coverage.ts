/**
 * Coverage records: which (pair, stream, hour) partitions hold data, so a reader lists the hours of a
 * range instead of probing every hour bucket of it (a year is 8,760 hours x streams x shards Queries).
 * docs/data-model.md, "Coverage items", gives the layout and why.
 *
 *   pk = obcap#coverage                     one partition for the whole table
 *   sk = <pair>#<stream>#<YYYYMMDDHH>       the hour holds items of this (pair, stream)   btcusd#orders#2026080910
 *      | <pair>#<stream>#gaps               the (pair, stream) has gap records            btcusd#orders#gaps
 *   ev = "obcap:coverage"
 *
 * Content only, like every key here: the item is a pure function of the partition it covers, so every
 * writer (a capture, a second capture box, a replay, `table coverage`) writes the identical item, and
 * writing it again changes nothing. Sort-key order is (pair, stream, time): one Query lists the hours
 * of a (pair, stream) in a range (hours are 10 digits, which sort before "gaps"), and the pairs are
 * listed by skipping from one pair to the next ({@link listPairs}: pairs + 1 one-item Queries).
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import type { Item } from "./item.ts";
import { GAPS_KEY_PART, hourBucketOfMicros } from "./keys.ts";
import { readWithRetry, type ReadRetryOptions } from "./read-retry.ts";

/** Partition key of every coverage item. Never a data pk: those have three or four parts. */
export const COVERAGE_PK = "obcap#coverage";
/** `ev` of a coverage item: obcap's own, like `obcap:gap`; no exchange event is named `obcap:*`. */
export const COVERAGE_EVENT = "obcap:coverage";

/**
 * A partition key of data: `<pair>#<stream>#<hour>#<shard>` (events), `<pair>#<stream>#<hour>` (a
 * future layout without shards), `<pair>#<stream>#gaps` (gap records). Pairs as Bitstamp spells them
 * (PAIR_PATTERN of model/channels.ts); any lower-case stream name, so streams added later (snapshot
 * chunks: "snapshots") fit without a change here.
 */
const DATA_PK = /^([a-z0-9]+(?:-perp)?)#([a-z][a-z0-9_]*)#(?:(\d{10})(?:#\d+|#p)?|gaps)$/;

/** Sort key of the coverage item of one hour of a (pair, stream): `btcusd#orders#2026080910`. */
export function coverageSortKey(pair: string, stream: string, hourBucket: string): string {
  return `${pair}#${stream}#${hourBucket}`;
}

/** Sort key of the coverage item saying a (pair, stream) has gap records: `btcusd#orders#gaps`. */
export function gapsCoverageSortKey(pair: string, stream: string): string {
  return `${pair}#${stream}#${GAPS_KEY_PART}`;
}

/**
 * The coverage sort key of the partition an item lives in, or `undefined` when the item is not data
 * (the metadata item, a coverage item, anything foreign): `btcusd#orders#2026080910#3` (and the
 * packed layout's `btcusd#orders#2026080910#p`) ->
 * `btcusd#orders#2026080910`, `btcusd#orders#gaps` -> itself. Writers and `table coverage` both
 * derive coverage this way, so they cannot disagree.
 */
export function coverageSortKeyOfPartition(pk: string): string | undefined {
  const m = DATA_PK.exec(pk);
  if (m === null) return undefined;
  return m[3] === undefined ? pk : `${m[1]}#${m[2]}#${m[3]}`;
}

/** What a coverage sort key names; `undefined` for anything else. */
export type CoverageEntry = { pair: string; stream: string } & ({ kind: "hour"; hourBucket: string } | { kind: "gaps" });

/** A coverage sort key: `<pair>#<stream>#<YYYYMMDDHH>` or `<pair>#<stream>#gaps`. */
const COVERAGE_SK = /^([a-z0-9]+(?:-perp)?)#([a-z][a-z0-9_]*)#(\d{10}|gaps)$/;

/** Splits a coverage sort key written by {@link coverageSortKey} or {@link gapsCoverageSortKey}. */
export function parseCoverageSortKey(sk: string): CoverageEntry | undefined {
  const m = COVERAGE_SK.exec(sk);
  if (m === null) return undefined;
  const [, pair, stream, last] = m as unknown as [string, string, string, string];
  return last === GAPS_KEY_PART ? { pair, stream, kind: "gaps" } : { pair, stream, kind: "hour", hourBucket: last };
}

/** The coverage item with sort key `sk`: identical whoever writes it (no receive time, no counter). */
export function encodeCoverageItem(sk: string): Item {
  return { pk: { S: COVERAGE_PK }, sk: { S: sk }, ev: { S: COVERAGE_EVENT } };
}

/** True for a coverage item (its partition). */
export function isCoverageItem(item: Item): boolean {
  return item.pk?.S === COVERAGE_PK;
}

/** Options of the listing reads: retries, a Query counter, the page size. */
export interface CoverageReadOptions extends ReadRetryOptions {
  /** Items per Query page (Limit). Default: DynamoDB's 1 MB pages (about 25,000 coverage items). */
  pageItems?: number;
}

/**
 * The hour buckets (`YYYYMMDDHH`, ascending) in which `pair`/`stream` holds data and which meet the
 * half-open range [fromMicros, toMicros). One Query (plus one per 1 MB page: a year of one stream
 * is 8,760 items of about 40 bytes, one page). Strongly consistent, like export's reads. Only as
 * complete as the table's coverage: see `coverage` in the table's metadata (table-metadata.ts).
 * Throws ObcapError (E_DDB_UNREACHABLE after the retries, fatal AWS errors at once).
 */
export async function listCoverage(
  client: DynamoDBClient,
  table: string,
  pair: string,
  stream: string,
  fromMicros: number,
  toMicros: number,
  options: CoverageReadOptions = {},
): Promise<string[]> {
  if (!(toMicros > fromMicros)) return [];
  const prefix = `${pair}#${stream}#`;
  const lo = prefix + hourBucketOfMicros(fromMicros);
  const hi = prefix + hourBucketOfMicros(toMicros - 1);
  const hours: string[] = [];
  await queryAll(client, table, {
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi",
    ExpressionAttributeValues: { ":pk": { S: COVERAGE_PK }, ":lo": { S: lo }, ":hi": { S: hi } },
  }, `Query of coverage ${lo}..${hi}`, options, (sk) => {
    const entry = parseCoverageSortKey(sk);
    if (entry?.kind === "hour") hours.push(entry.hourBucket);
  });
  return hours;
}

/**
 * Every pair the table holds data or gap records of, ascending. Skips from one pair to the next:
 * a one-item Query for the first coverage key after `<pair>#~` ("~" sorts after every character of
 * a stream name, an hour or "gaps", and "#" before every character of a pair), so it costs pairs + 1
 * Queries however many hours the table holds.
 */
export async function listPairs(client: DynamoDBClient, table: string, options: ReadRetryOptions = {}): Promise<string[]> {
  const pairs: string[] = [];
  let after: string | undefined;
  for (;;) {
    const input: Omit<QueryCommandInput, "TableName"> = after === undefined
      ? { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: COVERAGE_PK } } }
      : { KeyConditionExpression: "pk = :pk AND sk > :after", ExpressionAttributeValues: { ":pk": { S: COVERAGE_PK }, ":after": { S: after } } };
    const out = await readWithRetry(client, table, "Query", `Query of the pairs in coverage after ${after ?? "the start"}`, () =>
      client.send(new QueryCommand({ TableName: table, ...input, ...SK_ONLY, Limit: 1, ConsistentRead: true })), options);
    const sk = out.Items?.[0]?.sk?.S;
    if (sk === undefined) return pairs;
    const entry = parseCoverageSortKey(sk);
    if (entry === undefined) {
      after = sk; // not obcap's: step over it (a strictly greater key each time, so this ends)
      continue;
    }
    pairs.push(entry.pair);
    after = `${entry.pair}#~`;
  }
}

/** Every coverage sort key of the table (`table coverage` reads them before it scans). */
export async function listAllCoverage(client: DynamoDBClient, table: string, options: CoverageReadOptions = {}): Promise<string[]> {
  const keys: string[] = [];
  await queryAll(client, table, {
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": { S: COVERAGE_PK } },
  }, "Query of every coverage item", options, (sk) => keys.push(sk));
  return keys;
}

/** Only the sort key comes back: coverage items carry nothing else a reader needs. */
const SK_ONLY = { ProjectionExpression: "#sk", ExpressionAttributeNames: { "#sk": "sk" } } as const;

/** Runs a Query of the coverage partition page by page, handing each sort key to `onKey`. */
async function queryAll(
  client: DynamoDBClient,
  table: string,
  input: Pick<QueryCommandInput, "KeyConditionExpression" | "ExpressionAttributeValues">,
  what: string,
  options: CoverageReadOptions,
  onKey: (sk: string) => void,
): Promise<void> {
  let startKey: QueryCommandInput["ExclusiveStartKey"];
  do {
    const out = await readWithRetry(client, table, "Query", what, () =>
      client.send(new QueryCommand({
        TableName: table,
        ...input,
        ...SK_ONLY,
        ExclusiveStartKey: startKey,
        ...(options.pageItems === undefined ? {} : { Limit: options.pageItems }),
        ConsistentRead: true,
      })), options);
    for (const item of out.Items ?? []) {
      const sk = item.sk?.S;
      if (sk !== undefined) onKey(sk);
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
}
