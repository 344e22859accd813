/**
 * Reading one partition key's items in sort-key order: paginated Query calls with a bound on how
 * many run at once (shared by every partition of an export), retries with backoff for throttling and
 * network trouble, and a one-page read-ahead per partition so merging rarely waits.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Item } from "../store/dynamodb/item.ts";
import { readWithRetry } from "../store/dynamodb/read-retry.ts";

export type StartKey = Record<string, AttributeValue>;

export interface QueryPage {
  items: Item[];
  /** Where the next page starts; undefined on the last page. */
  lastKey: StartKey | undefined;
}

/** Only some attributes of each item (a Query's ProjectionExpression and the names it uses). */
export interface Projection {
  readonly ProjectionExpression: string;
  readonly ExpressionAttributeNames?: Readonly<Record<string, string>>;
}

/** One page of `pk` with `lo <= sk <= hi`, from `startKey`; whole items unless `projection`. */
/** One page of a partition's items in [lo, hi]; `limit` overrides the page size the function was made with. */
export type QueryFn = (pk: string, lo: string, hi: string, startKey: StartKey | undefined, projection?: Projection, limit?: number) => Promise<QueryPage>;

/** Runs at most `max` tasks at once, first come first served. */
export class Limiter {
  private active = 0;
  private waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on: `active` stays
      else this.active--;
    }
  }
}

export interface DynamoQueryOptions {
  client: DynamoDBClient;
  table: string;
  /** Items per page (Query `Limit`): bounds memory per partition. */
  pageItems: number;
  /** Query calls at once. */
  parallel: number;
  /** Attempts per page before giving up with E_DDB_UNREACHABLE. Default 10. */
  maxAttempts?: number;
  onRetry?: (message: string) => void;
  /** Counts every Query call sent. */
  onQuery?: () => void;
}

/**
 * A {@link QueryFn} over DynamoDB. Strongly consistent reads: an export right after a replay sees
 * everything the replay wrote. Throws the ObcapError of a fatal AWS error (table gone, credentials).
 */
export function dynamoQueryFn(options: DynamoQueryOptions): QueryFn {
  const limiter = new Limiter(options.parallel);
  const retry = { maxAttempts: options.maxAttempts, onRetry: options.onRetry, onCall: options.onQuery };
  return (pk, lo, hi, startKey, projection, limit) =>
    limiter.run(async () => {
      const out = await readWithRetry(
        options.client,
        options.table,
        "Query",
        `Query of ${pk}`,
        () =>
          options.client.send(
            new QueryCommand({
              TableName: options.table,
              KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi",
              ExpressionAttributeValues: { ":pk": { S: pk }, ":lo": { S: lo }, ":hi": { S: hi } },
              ExclusiveStartKey: startKey,
              Limit: limit ?? options.pageItems,
              ConsistentRead: true,
              ...(projection ? { ProjectionExpression: projection.ProjectionExpression, ExpressionAttributeNames: projection.ExpressionAttributeNames ? { ...projection.ExpressionAttributeNames } : undefined } : {}),
            }),
          ),
        retry,
      );
      return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
    });
}

/**
 * One partition's items in sort-key order, a page at a time, the next page fetched while this one is
 * used (`ahead`, the default), or only once this one is used up (`ahead: false`: a reader that takes a
 * few items, like one API page, sends no Query it will not need).
 */
export class PartitionCursor {
  private page: Item[] = [];
  private index = 0;
  private nextPage: Promise<QueryPage> | undefined;
  private nextKey: StartKey | undefined;
  private readonly ahead: boolean;

  constructor(
    readonly pk: string,
    private readonly fetch: (startKey: StartKey | undefined) => Promise<QueryPage>,
    options: { ahead?: boolean } = {},
  ) {
    this.ahead = options.ahead ?? true;
    this.nextPage = this.prefetch(undefined);
  }

  /** The current item if its page is loaded, else undefined (then call {@link load}). */
  current(): Item | undefined {
    return this.page[this.index];
  }

  advance(): void {
    this.index++;
  }

  /** Loads pages until there is a current item; false when the partition is exhausted. */
  async load(): Promise<boolean> {
    while (this.index >= this.page.length) {
      if (this.nextPage === undefined && this.nextKey !== undefined) {
        this.nextPage = this.prefetch(this.nextKey);
        this.nextKey = undefined;
      }
      if (this.nextPage === undefined) return false;
      const page = await this.nextPage;
      this.page = page.items;
      this.index = 0;
      this.nextPage = page.lastKey === undefined || !this.ahead ? undefined : this.prefetch(page.lastKey);
      if (!this.ahead) this.nextKey = page.lastKey;
    }
    return true;
  }

  private prefetch(startKey: StartKey | undefined): Promise<QueryPage> {
    const promise = this.fetch(startKey);
    promise.catch(() => undefined); // reported when awaited in load(), never as an unhandled rejection
    return promise;
  }
}
