/**
 * Table administration, what `obcap table` does and a capture never needs: create or adopt a table
 * and write its metadata item (`table create`), and mark the coverage records complete (`table
 * coverage`, coverage-rebuild.ts). Kept apart from table.ts so the capture's and the readers' code
 * calls no CreateTable, Scan or UpdateItem: their IAM policies (README "Install on a server") go
 * without them, and tests/integration/iam-policy.test.ts checks it from the imports.
 */
import {
  CreateTableCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";
import { obcapError } from "../../base/errors.ts";
import { DEFAULT_PACK_MS, packMsProblem } from "../packed/pack-ms.ts";
import { Caller, checkKeySchema, ConditionFailed, deletingError, STARTUP_TIMEOUT_MS, TableInUse } from "./table.ts";
import {
  EVENT_SCHEMA_VERSION, META_PK, META_SK, PACKED_SCHEMA_VERSION, itemOfMetadata, type TableLayout, type TableMetadata,
} from "./table-metadata.ts";

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
  const empty = status === "created" || (await isEmpty(call));
  const item: TableMetadata = {
    shards,
    schemaVersion: layout === "packed" ? PACKED_SCHEMA_VERSION : EVENT_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    createdBy: options.createdBy ?? "obcap",
    coverage: empty ? "complete" : "incomplete",
    layout,
    ...(layout === "packed" ? { packMs } : {}),
  };
  if (await putMetadataIfAbsent(call, item)) {
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

/** Whether the table holds no item at all (one Scan of one item). */
async function isEmpty(call: Caller): Promise<boolean> {
  const out = await call.send("Scan", (abortSignal) =>
    call.client.send(new ScanCommand({ TableName: call.table, Limit: 1, ConsistentRead: true }), { abortSignal }),
  );
  return (out.Items ?? []).length === 0 && out.LastEvaluatedKey === undefined;
}

/** Writes the metadata item unless one exists; false when one appeared meanwhile. */
async function putMetadataIfAbsent(call: Caller, item: TableMetadata): Promise<boolean> {
  try {
    await call.send("PutItem", (abortSignal) =>
      call.client.send(
        new PutItemCommand({
          TableName: call.table,
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
