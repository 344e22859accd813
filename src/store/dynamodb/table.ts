/**
 * Table administration: `table create` (create or adopt a table, write its metadata item), the
 * start-up check of `capture` (the table exists, has obcap's keys, and says how many shards to use),
 * and marking the coverage records complete (`table coverage`, coverage-rebuild.ts).
 *
 * The metadata item (pk "obcap#meta", sk "table") is how writers and readers agree on the shard count:
 * a capture writing with another count than the one readers assume would hide data from queries, so
 * an existing count always wins over a requested one. No data pk can collide with it: data pks start
 * with a pair name.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import {
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";
import { describeError, isObcapError, obcapError, type ObcapError } from "../../base/errors.ts";
import { classifyAwsError } from "./aws-errors.ts";
import { clientTarget, type ClientTarget } from "./client.ts";
import {
  EVENT_SCHEMA_VERSION, META_PK, META_SK, PACKED_SCHEMA_VERSION, itemOfMetadata, metadataOfItem, type TableLayout, type TableMetadata,
} from "./table-metadata.ts";
import { DEFAULT_PACK_MS, packMsProblem } from "../packed/pack-ms.ts";

/** obcap's key scheme and billing (docs/data-model.md): pk (S) HASH + sk (S) RANGE, on demand. */
export const CAPTURE_TABLE_SCHEMA = {
  KeySchema: [
    { AttributeName: "pk", KeyType: "HASH" },
    { AttributeName: "sk", KeyType: "RANGE" },
  ],
  AttributeDefinitions: [
    { AttributeName: "pk", AttributeType: "S" },
    { AttributeName: "sk", AttributeType: "S" },
  ],
  BillingMode: "PAY_PER_REQUEST",
} as const satisfies Omit<CreateTableCommandInput, "TableName">;

/** Start-up calls give up after this long, so an unreachable endpoint fails fast. */
export const STARTUP_TIMEOUT_MS = 10_000;
/** CreateTable on AWS takes seconds to tens of seconds before the table is ACTIVE. */
const ACTIVE_TIMEOUT_MS = 300_000;

export interface CreateTableOptions {
  client: DynamoDBClient;
  table: string;
  /** Shards per hour bucket, for a new metadata item. */
  shards: number;
  /** How events are stored, for a new metadata item. Default "event". */
  layout?: TableLayout;
  /** The packed layout's window (ms). Default DEFAULT_PACK_MS. */
  packMs?: number;
  /** Written into `createdBy`, e.g. "obcap 0.1.0". */
  createdBy?: string;
  /** Bound on each DynamoDB call. Default 10 s. */
  callTimeoutMs?: number;
  /** Bound on the wait for a new table to become ACTIVE. Default 300 s. */
  activeTimeoutMs?: number;
}

export interface CreateTableResult {
  /** `created`: the table is new. `exists`: a compatible table was there already. */
  status: "created" | "exists";
  /** The shard count in force: the existing metadata's if there was one, else the requested one. */
  shards: number;
  requestedShards: number;
  /** Whether the metadata item was written now or found. */
  metadata: "written" | "present";
  metadataItem: TableMetadata;
  /** Set when the table keeps another shard count than requested: a line for the user. */
  note?: string;
}

/**
 * Creates the table (pk S HASH + sk S RANGE, on-demand), waits until ACTIVE and writes the metadata
 * item; adopts an existing compatible table. Throws E_TABLE_INCOMPATIBLE for a table with other
 * keys, E_DDB_UNREACHABLE when DynamoDB does not answer, E_AWS_* for credentials and permissions.
 */
export async function createTable(options: CreateTableOptions): Promise<CreateTableResult> {
  const { client, table, shards } = options;
  if (!Number.isInteger(shards) || shards < 1) {
    throw obcapError("E_USAGE", `--shards must be a positive integer, got ${shards}`);
  }
  const layout = options.layout ?? "event";
  const packMs = options.packMs ?? DEFAULT_PACK_MS;
  const packProblem = layout === "packed" ? packMsProblem(packMs) : undefined;
  if (packProblem) throw obcapError("E_USAGE", `--pack-ms ${packMs} ${packProblem}`);
  const call = new Caller(client, table, options.callTimeoutMs ?? STARTUP_TIMEOUT_MS);
  let status: CreateTableResult["status"] = "exists";
  let description = await call.describe();
  if (!description) {
    try {
      await call.send("CreateTable", (abortSignal) =>
        client.send(
          new CreateTableCommand({
            TableName: table,
            ...CAPTURE_TABLE_SCHEMA,
          }),
          { abortSignal },
        ),
      );
      status = "created";
    } catch (err) {
      // Another `table create` won the race: adopt its table like any existing one.
      if (!(err instanceof TableInUse)) throw err;
    }
    description = await waitActive(call, options.activeTimeoutMs ?? ACTIVE_TIMEOUT_MS);
  } else if (description.TableStatus === "CREATING") {
    description = await waitActive(call, options.activeTimeoutMs ?? ACTIVE_TIMEOUT_MS);
  } else if (description.TableStatus === "DELETING") {
    throw deletingError(table);
  }
  const incompatible = checkKeySchema(description, table);
  if (incompatible) throw incompatible;

  const found = await call.readMetadata();
  if (found) return existingResult(status, found, shards, layout);
  // A new or empty table has every coverage record it needs (none); a table adopted with data in it
  // may hold data written without them, until `obcap table coverage` rebuilds them.
  const empty = status === "created" || (await call.isEmpty());
  const item: TableMetadata = {
    shards,
    schemaVersion: layout === "packed" ? PACKED_SCHEMA_VERSION : EVENT_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    createdBy: options.createdBy ?? "obcap",
    coverage: empty ? "complete" : "incomplete",
    layout,
    ...(layout === "packed" ? { packMs } : {}),
  };
  if (await call.putMetadataIfAbsent(item)) {
    return { status, shards, requestedShards: shards, metadata: "written", metadataItem: item };
  }
  // Written by a concurrent `table create` between our read and our write.
  const raced = await call.readMetadata();
  if (!raced) throw obcapError("E_INTERNAL", `metadata item of table ${table} vanished during table create`);
  return existingResult(status, raced, shards, layout);
}

function existingResult(status: CreateTableResult["status"], found: TableMetadata, requested: number, requestedLayout: TableLayout): CreateTableResult {
  const result: CreateTableResult = {
    status,
    shards: found.shards,
    requestedShards: requested,
    metadata: "present",
    metadataItem: found,
  };
  if (found.shards !== requested) {
    result.note =
      `the table already records shards=${found.shards} (requested ${requested}); kept ${found.shards}, ` +
      `because every capture and reader of a table must use the same count`;
  }
  if (found.layout !== requestedLayout) {
    const layoutNote = `the table already stores events in the ${found.layout} layout (requested ${requestedLayout}); kept it, ` +
      `because every writer and reader of a table must agree (\`obcap table migrate\` converts a table)`;
    result.note = result.note ? `${result.note}; ${layoutNote}` : layoutNote;
  }
  return result;
}

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

/**
 * Marks the table's coverage records complete (`table coverage`, once it has written every missing
 * one) and raises its schema to 2 (3 for a packed table), so an obcap that does not write coverage
 * records refuses the table from now on. Returns the metadata as now stored. Throws like
 * {@link openCaptureTable} (E_TABLE_INCOMPATIBLE when the metadata item is missing).
 */
export async function markCoverageComplete(options: { client: DynamoDBClient; table: string; timeoutMs?: number }): Promise<TableMetadata> {
  const { client, table } = options;
  const call = new Caller(client, table, options.timeoutMs ?? STARTUP_TIMEOUT_MS);
  // Schema 2 for the event layout (older obcaps still read it), 3 for the packed one.
  const version = (await call.readMetadata())?.layout === "packed" ? PACKED_SCHEMA_VERSION : EVENT_SCHEMA_VERSION;
  try {
    await call.send("UpdateItem", (abortSignal) =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: META_PK }, sk: { S: META_SK } },
          UpdateExpression: "SET coverage = :complete, schemaVersion = :version, coverageCompletedAt = :now",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: {
            ":complete": { S: "complete" },
            ":version": { N: String(version) },
            ":now": { S: new Date().toISOString() },
          },
        }),
        { abortSignal },
      ),
    );
  } catch (err) {
    if (!(err instanceof ConditionFailed)) throw err;
    throw obcapError("E_TABLE_INCOMPATIBLE", `table ${table} has no obcap metadata item (pk "${META_PK}", sk "${META_SK}"): run \`obcap table create --table ${table}\` first`);
  }
  const metadata = await call.readMetadata();
  if (!metadata) throw obcapError("E_INTERNAL", `metadata item of table ${table} vanished while marking its coverage complete`);
  return metadata;
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

function deletingError(table: string): ObcapError {
  return obcapError(
    "E_TABLE_NOT_FOUND",
    `table ${table} is being deleted (DELETING): once it is gone, run \`obcap table create --table ${table}\``,
  );
}

async function waitActive(call: Caller, timeoutMs: number): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  let delayMs = 200;
  for (;;) {
    const description = await call.describe();
    if (description?.TableStatus === "ACTIVE") return description;
    if (Date.now() + delayMs > deadline) {
      throw obcapError(
        "E_DDB_UNREACHABLE",
        `table ${call.table} is still ${description?.TableStatus ?? "missing"} after ${Math.round(timeoutMs / 1000)} s: ` +
          `run \`obcap table create --table ${call.table}\` again later`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(2_000, delayMs * 1.5);
  }
}

/** CreateTable found the table already there (ResourceInUseException). */
class TableInUse extends Error {}

/** Runs one DynamoDB call with a time bound and turns its failure into the ObcapError to show. */
class Caller {
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

  /** Whether the table holds no item at all (one Scan of one item). */
  async isEmpty(): Promise<boolean> {
    const out = await this.send("Scan", (abortSignal) =>
      this.client.send(new ScanCommand({ TableName: this.table, Limit: 1, ConsistentRead: true }), { abortSignal }),
    );
    return (out.Items ?? []).length === 0 && out.LastEvaluatedKey === undefined;
  }

  /** Writes the metadata item unless one exists; false when one appeared meanwhile. */
  async putMetadataIfAbsent(item: TableMetadata): Promise<boolean> {
    try {
      await this.send("PutItem", (abortSignal) =>
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: itemOfMetadata(item),
            ConditionExpression: "attribute_not_exists(pk)",
          }),
          { abortSignal },
        ),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
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

/** PutItem's condition failed (ConditionalCheckFailedException). */
class ConditionFailed extends Error {}
