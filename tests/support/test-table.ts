/**
 * The one way tests make DynamoDB tables: each gets a name no other test uses, and is created
 * - by default through obcap's own path, `createTable` of src/store/dynamodb/table.ts (what
 *   `obcap table create` runs): obcap's keys and its metadata item, the table a capture, replay,
 *   export or uploader opens;
 * - with `schema: "keys-only"`: obcap's key schema (CAPTURE_TABLE_SCHEMA) without the metadata item,
 *   a table obcap did not make (a scan finds only what the test wrote; openCaptureTable refuses it);
 * - with `schema: [keys]`: a table with other keys (one obcap must refuse);
 * - with `cli: entry`: by running `obcap table create` of that entry, for the end-to-end tests whose
 *   flow starts with the command itself.
 */
import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { clientTarget } from "../../src/store/dynamodb/client.ts";
import { DEFAULT_SHARDS } from "../../src/store/dynamodb/keys.ts";
import { CAPTURE_TABLE_SCHEMA, createTable } from "../../src/store/dynamodb/table-admin.ts";
import type { TableLayout } from "../../src/store/dynamodb/table-metadata.ts";
import { runObcap, testClient, type Entry } from "./capture-harness.ts";

/** A table name no other test uses (also for a table that must not exist). */
export function uniqueTableName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface TestTableKey {
  name: string;
  type: "S" | "N" | "B";
  role: "HASH" | "RANGE";
}

export interface TestTableOptions {
  /** "obcap" (default): made by obcap's createTable. "keys-only": obcap's keys, no metadata item. Or other keys. */
  schema?: "obcap" | "keys-only" | readonly TestTableKey[];
  /** Shards in the metadata item of an "obcap" table. Default: obcap's (DEFAULT_SHARDS). */
  shards?: number;
  /** Create the "obcap" table with `obcap table create` of this entry (a child process) instead of in this process. */
  cli?: Entry;
  /** How an "obcap" table stores events. Default "event". */
  layout?: TableLayout;
  /** The packed layout's window; default obcap's. */
  packMs?: number;
}

/**
 * Creates a table on DynamoDB Local (`target`: a client, or an endpoint for a client of the test
 * credentials) and returns its unique name, `prefix-...`. An "obcap" table is ACTIVE with its
 * metadata item when this resolves.
 */
export async function createTestTable(target: DynamoDBClient | string, prefix: string, options: TestTableOptions = {}): Promise<string> {
  const table = uniqueTableName(prefix);
  const schema = options.schema ?? "obcap";
  if (options.cli) {
    if (schema !== "obcap") throw new Error(`createTestTable: obcap table create only makes obcap tables, not ${JSON.stringify(schema)}`);
    const endpoint = typeof target === "string" ? target : (await clientTarget(target)).endpoint;
    const shards = options.shards === undefined ? [] : ["--shards", String(options.shards)];
    const layout = ["--layout", options.layout ?? "event", ...(options.packMs === undefined ? [] : ["--pack-ms", String(options.packMs)])];
    const run = await runObcap(options.cli, ["table", "create", "--table", table, ...shards, ...layout, "--endpoint", endpoint]);
    if (run.code !== 0) throw new Error(`obcap table create --table ${table} (${options.cli}) exited with ${run.code}:\n${run.stderr}`);
    return table;
  }
  const client = typeof target === "string" ? testClient(target) : target;
  try {
    if (schema === "obcap") {
      await createTable({ client, table, shards: options.shards ?? DEFAULT_SHARDS, layout: options.layout ?? "event", ...(options.packMs === undefined ? {} : { packMs: options.packMs }) });
    } else {
      const keySchema =
        schema === "keys-only"
          ? CAPTURE_TABLE_SCHEMA
          : {
              KeySchema: schema.map((k) => ({ AttributeName: k.name, KeyType: k.role })),
              AttributeDefinitions: schema.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
              BillingMode: "PAY_PER_REQUEST" as const,
            };
      // DynamoDB Local creates a table ACTIVE at once.
      await client.send(new CreateTableCommand({ TableName: table, ...keySchema }));
    }
  } finally {
    if (client !== target) client.destroy();
  }
  return table;
}
