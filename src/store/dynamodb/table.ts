/**
 * Opening a table: the start-up check of `capture` and `replay` (the table exists, has obcap's keys
 * and a metadata item that says how many shards to use and the layout) and of the readers. Only
 * DescribeTable and GetItem: what a capture's or a reader's IAM policy allows (README "Install on a
 * server"). Creating and adopting a table, and marking its coverage complete, are table-admin.ts.
 *
 * The metadata item (pk "obcap#meta", sk "table") is how writers and readers agree on the shard count:
 * a capture writing with another count than the one readers assume would hide data from queries, so
 * an existing count always wins over a requested one. No data pk can collide with it: data pks start
 * with a pair name.
 */
import { DescribeTableCommand, GetItemCommand, type DynamoDBClient, type TableDescription } from "@aws-sdk/client-dynamodb";
import { describeError, isObcapError, obcapError, type ObcapError } from "../../base/errors.ts";
import { classifyAwsError } from "./aws-errors.ts";
import { clientTarget, type ClientTarget } from "./client.ts";
import { META_PK, META_SK, metadataOfItem, type TableMetadata } from "./table-metadata.ts";

/** Start-up calls give up after this long, so an unreachable endpoint fails fast. */
export const STARTUP_TIMEOUT_MS = 10_000;

/**
 * Start-up check of `capture`: the table exists, has obcap's keys and a metadata item. Returns the
 * shard count to write with. Throws E_TABLE_NOT_FOUND (with the `table create` command),
 * E_TABLE_INCOMPATIBLE, E_DDB_UNREACHABLE (within `timeoutMs`), E_AWS_CREDENTIALS / E_AWS_ACCESS_DENIED.
 */
export async function openCaptureTable(options: {
  client: DynamoDBClient;
  table: string;
  timeoutMs?: number;
}): Promise<{ shards: number; metadata: TableMetadata }> {
  const { client, table } = options;
  const call = new Caller(client, table, options.timeoutMs ?? STARTUP_TIMEOUT_MS);
  const description = await call.describe();
  if (!description) {
    const target = await clientTarget(client);
    throw obcapError(
      "E_TABLE_NOT_FOUND",
      `DynamoDB table ${table} not found in ${target.region} at ${target.endpoint}: ` +
        `create it with \`obcap table create --table ${table}\` (same --region/--endpoint)`,
    );
  }
  if (description.TableStatus === "CREATING") {
    throw obcapError("E_DDB_UNREACHABLE", `table ${table} is still being created (CREATING): start the capture again in a minute`);
  }
  if (description.TableStatus === "DELETING") throw deletingError(table);
  const incompatible = checkKeySchema(description, table);
  if (incompatible) throw incompatible;
  const metadata = await call.readMetadata();
  if (!metadata) {
    throw obcapError(
      "E_TABLE_INCOMPATIBLE",
      `table ${table} has obcap's keys but no obcap metadata item (pk "${META_PK}", sk "${META_SK}"): ` +
        `run \`obcap table create --table ${table}\` to adopt it`,
    );
  }
  return { shards: metadata.shards, metadata };
}

/**
 * Start-up check of the readers (export, book): one GetItem of the metadata item, no DescribeTable,
 * so a read-only identity (Query and GetItem on the table) is enough, and the check is one small
 * read (DynamoDB Local's DescribeTable counts every item: measured 340 ms on a table of 1.1M items).
 * A missing table (or one still being created or deleted) answers ResourceNotFoundException:
 * E_TABLE_NOT_FOUND. A table whose keys are not obcap's answers the GetItem with a
 * ValidationException: then DescribeTable says exactly what differs (E_TABLE_INCOMPATIBLE).
 */
export async function openTableForReading(options: { client: DynamoDBClient; table: string; timeoutMs?: number }): Promise<{ shards: number; metadata: TableMetadata }> {
  const { client, table } = options;
  const call = new Caller(client, table, options.timeoutMs ?? STARTUP_TIMEOUT_MS);
  let metadata: TableMetadata | undefined;
  try {
    metadata = await call.readMetadata();
  } catch (err) {
    if (!(isObcapError(err) && err.code === "E_AWS_VALIDATION")) throw err;
    const opened = await openCaptureTable(options).catch((described: unknown) => {
      if (isObcapError(described) && described.code === "E_TABLE_INCOMPATIBLE") throw described;
      throw obcapError("E_TABLE_INCOMPATIBLE", `table ${table} refused a read of obcap's metadata item (${describeError(err)}): its keys are not obcap's pk (S) HASH + sk (S) RANGE; choose another --table name`, err);
    });
    return opened;
  }
  if (!metadata) {
    throw obcapError(
      "E_TABLE_INCOMPATIBLE",
      `table ${table} has no obcap metadata item (pk "${META_PK}", sk "${META_SK}"): it is not an obcap table, ` +
        `or run \`obcap table create --table ${table}\` to adopt it`,
    );
  }
  return { shards: metadata.shards, metadata };
}

/** What to tell a user whose table's coverage records are incomplete: the command that fixes it. */
export function coverageAdvice(table: string): string {
  return `run \`obcap table coverage --table ${table}\` once (same --region/--endpoint) to record which hours hold data`;
}

/**
 * Why a table's keys are not obcap's, or `undefined` when they are (pk S HASH + sk S RANGE).
 * Other attributes, indexes and billing modes do not matter.
 */
export function checkKeySchema(description: TableDescription, table: string): ObcapError | undefined {
  const types = new Map((description.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const keys = (description.KeySchema ?? []).map((k) => ({ name: k.AttributeName ?? "?", role: k.KeyType ?? "?" }));
  const has = keys.map((k) => `${k.name} (${types.get(k.name) ?? "?"}) ${k.role}`).join(" + ");
  const ok =
    keys.length === 2 &&
    keys[0]?.name === "pk" &&
    keys[0].role === "HASH" &&
    types.get("pk") === "S" &&
    keys[1]?.name === "sk" &&
    keys[1].role === "RANGE" &&
    types.get("sk") === "S";
  if (ok) return undefined;
  return obcapError(
    "E_TABLE_INCOMPATIBLE",
    `table ${table} has key ${has || "(none)"}; obcap needs pk (S) HASH + sk (S) RANGE: choose another --table name`,
  );
}

export function deletingError(table: string): ObcapError {
  return obcapError(
    "E_TABLE_NOT_FOUND",
    `table ${table} is being deleted (DELETING): once it is gone, run \`obcap table create --table ${table}\``,
  );
}

/** CreateTable found the table already there (ResourceInUseException). */
export class TableInUse extends Error {}

/** Runs one DynamoDB call with a time bound and turns its failure into the ObcapError to show. */
export class Caller {
  private target: Promise<ClientTarget> | undefined;

  constructor(
    readonly client: DynamoDBClient,
    readonly table: string,
    private readonly timeoutMs: number,
  ) {}

  /** DescribeTable; `undefined` when the table does not exist. */
  async describe(): Promise<TableDescription | undefined> {
    try {
      const out = await this.send("DescribeTable", (abortSignal) =>
        this.client.send(new DescribeTableCommand({ TableName: this.table }), { abortSignal }),
      );
      return out.Table;
    } catch (err) {
      if (isObcapError(err) && err.code === "E_TABLE_NOT_FOUND") return undefined;
      throw err;
    }
  }

  async readMetadata(): Promise<TableMetadata | undefined> {
    const out = await this.send("GetItem", (abortSignal) =>
      this.client.send(
        new GetItemCommand({ TableName: this.table, Key: { pk: { S: META_PK }, sk: { S: META_SK } }, ConsistentRead: true }),
        { abortSignal },
      ),
    );
    if (!out.Item) return undefined;
    return metadataOfItem(out.Item, this.table);
  }

  /** Runs `fn` with an abort signal firing after the time bound; maps failures to ObcapErrors. */
  async send<T>(operation: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      return await fn(signal);
    } catch (err) {
      const name = err instanceof Error ? err.name : "";
      if (name === "ResourceInUseException") throw new TableInUse();
      if (name === "ConditionalCheckFailedException") throw new ConditionFailed();
      throw await this.toObcapError(err, operation, signal.aborted);
    }
  }

  private async toObcapError(err: unknown, operation: string, timedOut: boolean): Promise<ObcapError> {
    this.target ??= clientTarget(this.client);
    const target = await this.target;
    const verdict = classifyAwsError(err, { ...target, table: this.table, operation });
    if (verdict.kind === "fatal") return verdict.error;
    const problem = timedOut ? `no answer within ${this.timeoutMs / 1000} s` : verdict.reason;
    const advice =
      verdict.category === "network"
        ? `check --endpoint / AWS_ENDPOINT_URL_DYNAMODB, --region and the network, then try again`
        : `DynamoDB is busy or failing: try again later`;
    return obcapError(
      "E_DDB_UNREACHABLE",
      `DynamoDB at ${target.endpoint} (${target.region}) failed ${operation} on table ${this.table}: ${problem}: ${advice}`,
      err,
    );
  }
}

/** A conditional write's condition failed (ConditionalCheckFailedException). */
export class ConditionFailed extends Error {}
