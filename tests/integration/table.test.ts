/**
 * `table create` and the capture start-up check against real DynamoDB Local, including what users
 * meet when the table, the endpoint, the region or the credentials are wrong. Environment-dependent
 * cases (credentials chain, region, endpoint variables) run in a child process with a clean env,
 * because the SDK reads process.env and ~/.aws itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { DeleteTableCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../../src/store/dynamodb/client.ts";
import { openCaptureTable, openTableForReading } from "../../src/store/dynamodb/table.ts";
import { createTable } from "../../src/store/dynamodb/table-admin.ts";
import { META_PK, META_SK } from "../../src/store/dynamodb/table-metadata.ts";
import { ObcapError } from "../../src/base/errors.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { createTestTable, uniqueTableName, type TestTableOptions } from "../support/test-table.ts";
import { freePort } from "../support/dynamodb-local.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { testTempDir } from "../support/temp-dirs.ts";

// `make test` sets these; a file run alone with plain `bun test` gets the same values.
for (const [name, value] of Object.entries(TEST_AWS_ENV)) process.env[name] ??= value;

let endpoint: string;
let client: DynamoDBClient;
const tables: string[] = [];

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = createDynamoClient({ endpoint });
});

afterAll(async () => {
  for (const table of tables) await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  client.destroy();
});

/** A name for a table the test makes itself (with createTable, the code under test); deleted after the file. */
function tableName(prefix: string): string {
  const table = uniqueTableName(prefix);
  tables.push(table);
  return table;
}

/** A table made for the test (see test-table.ts); deleted after the file. */
async function testTable(prefix: string, options: TestTableOptions): Promise<string> {
  const table = await createTestTable(client, prefix, options);
  tables.push(table);
  return table;
}

async function rejection(promise: Promise<unknown>): Promise<ObcapError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ObcapError);
  return err as ObcapError;
}

describe("createTable", () => {
  test("creates the table and its metadata item, then reports an existing compatible table as 'exists'", async () => {
    const table = tableName("tc-new");
    const first = await createTable({ client, table, shards: 4, createdBy: "obcap 0.1.0-test" });
    expect(first).toMatchObject({ status: "created", shards: 4, requestedShards: 4, metadata: "written" });
    expect(first.note).toBeUndefined();

    const meta = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: META_PK }, sk: { S: META_SK } } }));
    expect(meta.Item?.shards).toEqual({ N: "4" });
    expect(meta.Item?.schemaVersion).toEqual({ N: "2" });
    // A new table holds nothing written without coverage records: its coverage is complete.
    expect(meta.Item?.coverage).toEqual({ S: "complete" });
    expect(meta.Item?.createdBy).toEqual({ S: "obcap 0.1.0-test" });
    expect(Number.isNaN(Date.parse(meta.Item?.createdAt?.S ?? ""))).toBe(false);

    const second = await createTable({ client, table, shards: 4 });
    expect(second).toMatchObject({ status: "exists", shards: 4, metadata: "present" });
    expect(second.metadataItem.createdBy).toBe("obcap 0.1.0-test");
  });

  test("keeps the recorded shard count when asked for another one, and says so", async () => {
    const table = tableName("tc-shards");
    await createTable({ client, table, shards: 4 });
    const again = await createTable({ client, table, shards: 16 });
    expect(again).toMatchObject({ status: "exists", shards: 4, requestedShards: 16, metadata: "present" });
    expect(again.note).toContain("shards=4");
    expect(again.note).toContain("requested 16");
    expect((await openCaptureTable({ client, table })).shards).toBe(4);
  });

  test("adopts an existing pk/sk table without metadata by writing the metadata item", async () => {
    const table = await testTable("tc-adopt", { schema: "keys-only" }); // pk (S) HASH + sk (S) RANGE
    const result = await createTable({ client, table, shards: 2 });
    expect(result).toMatchObject({ status: "exists", shards: 2, metadata: "written" });
    expect((await openCaptureTable({ client, table })).shards).toBe(2);
    // Empty when adopted: nothing in it lacks a coverage record.
    expect(result.metadataItem.coverage).toBe("complete");
  });

  test("adopting a table that already holds items marks its coverage incomplete", async () => {
    const table = await testTable("tc-adopt-data", { schema: "keys-only" });
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "btcusd#orders#2026080910#0" }, sk: { S: "1786269861947000#x" } } }));
    const result = await createTable({ client, table, shards: 4 });
    expect(result).toMatchObject({ status: "exists", metadata: "written" });
    expect(result.metadataItem.coverage).toBe("incomplete");
    expect((await openCaptureTable({ client, table })).metadata.coverage).toBe("incomplete");
  });

  test("refuses a table with other keys and says exactly what differs", async () => {
    const table = await testTable("tc-orders", { schema: [{ name: "id", type: "N", role: "HASH" }] });
    const error = await rejection(createTable({ client, table, shards: 4 }));
    expect(error.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(error.message).toBe(
      `table ${table} has key id (N) HASH; obcap needs pk (S) HASH + sk (S) RANGE: choose another --table name`,
    );
  });

  test("refuses a table whose sort key has the right name but the wrong type", async () => {
    const table = await testTable("tc-numsk", {
      schema: [
        { name: "pk", type: "S", role: "HASH" },
        { name: "sk", type: "N", role: "RANGE" },
      ],
    });
    const error = await rejection(createTable({ client, table, shards: 4 }));
    expect(error.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(error.message).toContain("has key pk (S) HASH + sk (N) RANGE;");
  });
});

describe("openTableForReading (export, book): GetItem only, so a read-only identity can read", () => {
  /** The client's commands, by name, as sent. */
  const recording = () => {
    const c = createDynamoClient({ endpoint });
    const sent: string[] = [];
    c.middlewareStack.add((next, context) => async (args) => {
      sent.push(String(context.commandName));
      return next(args);
    }, { step: "initialize" });
    return { c, sent };
  };

  test("returns the shard count and metadata with one GetItem, never DescribeTable", async () => {
    const table = await testTable("or-ok", { shards: 3 });
    const { c, sent } = recording();
    const opened = await openTableForReading({ client: c, table });
    c.destroy();
    expect(opened.shards).toBe(3);
    expect(opened.metadata).toMatchObject({ schemaVersion: 2, coverage: "complete" });
    expect(sent).toEqual(["GetItemCommand"]);
  });

  test("a missing table: E_TABLE_NOT_FOUND with the table create command", async () => {
    const table = uniqueTableName("or-missing");
    const error = await rejection(openTableForReading({ client, table }));
    expect(error.code).toBe("E_TABLE_NOT_FOUND");
    expect(error.message).toContain(`obcap table create --table ${table}`);
  });

  test("a table with other keys: E_TABLE_INCOMPATIBLE saying exactly what differs", async () => {
    const table = await testTable("or-orders", { schema: [{ name: "id", type: "N", role: "HASH" }] });
    const error = await rejection(openTableForReading({ client, table }));
    expect(error.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(error.message).toContain("has key id (N) HASH; obcap needs pk (S) HASH + sk (S) RANGE");
  });

  test("a pk/sk table without obcap's metadata item: E_TABLE_INCOMPATIBLE", async () => {
    const table = await testTable("or-nometa", { schema: "keys-only" });
    const error = await rejection(openTableForReading({ client, table }));
    expect(error.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(error.message).toContain("no obcap metadata item");
  });
});

describe("openCaptureTable", () => {
  test("returns the shard count of a table made by createTable", async () => {
    const table = await testTable("oc-ok", { shards: 3 });
    const opened = await openCaptureTable({ client, table });
    expect(opened.shards).toBe(3);
    expect(opened.metadata).toMatchObject({ schemaVersion: 2, coverage: "complete" });
  });

  test("reports a missing table with the table create command", async () => {
    const table = uniqueTableName("oc-missing");
    const error = await rejection(openCaptureTable({ client, table }));
    expect(error.code).toBe("E_TABLE_NOT_FOUND");
    expect(error.message).toContain(`obcap table create --table ${table}`);
    expect(error.message).toContain(endpoint);
  });

  test("refuses an incompatible table", async () => {
    const table = await testTable("oc-orders", { schema: [{ name: "id", type: "N", role: "HASH" }] });
    const error = await rejection(openCaptureTable({ client, table }));
    expect(error.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(error.message).toContain("has key id (N) HASH; obcap needs pk (S) HASH + sk (S) RANGE");
  });

  test("refuses a pk/sk table without metadata and points to table create to adopt it", async () => {
    const table = await testTable("oc-nometa", { schema: "keys-only" }); // pk (S) HASH + sk (S) RANGE
    const error = await rejection(openCaptureTable({ client, table }));
    expect(error.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(error.message).toContain(`obcap table create --table ${table}`);
  });

  test("reports a closed port as E_DDB_UNREACHABLE naming the endpoint", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = createDynamoClient({ endpoint: closed });
    const error = await rejection(openCaptureTable({ client: unreachable, table: "any" }));
    unreachable.destroy();
    expect(error.code).toBe("E_DDB_UNREACHABLE");
    expect(error.message).toContain(closed);
    expect(error.message).toContain("ECONNREFUSED");
  });

  test("gives up on an endpoint that accepts connections but never answers, within its time bound", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
    const address = silent.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    const stuck = createDynamoClient({ endpoint: url });
    try {
      const error = await rejection(openCaptureTable({ client: stuck, table: "any", timeoutMs: 500 }));
      expect(error.code).toBe("E_DDB_UNREACHABLE");
      expect(error.message).toContain(url);
      expect(error.message).toContain("no answer within 0.5 s");
    } finally {
      stuck.destroy();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test("reports UnrecognizedClientException as a credentials problem", async () => {
    await using proxy = startFaultProxy({
      target: endpoint,
      failAllWith: { status: 400, type: "UnrecognizedClientException", message: "The security token included in the request is invalid." },
    });
    const proxied = createDynamoClient({ endpoint: proxy.url });
    const error = await rejection(openCaptureTable({ client: proxied, table: "any" }));
    proxied.destroy();
    expect(error.code).toBe("E_AWS_CREDENTIALS");
    expect(error.message).toContain("AWS_PROFILE");
  });
});

describe("client configuration from the environment (child process, clean env)", () => {
  const root = resolve(import.meta.dir, "../..");
  const home = testTempDir("aws");
  writeFileSync(join(home, "credentials"), "");
  writeFileSync(join(home, "config"), "");
  /** No keys, no profile, empty shared files, no instance metadata: the chain finds nothing. */
  const bareEnv = {
    PATH: process.env.PATH ?? "",
    HOME: home,
    AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
    AWS_CONFIG_FILE: join(home, "config"),
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const keys = { AWS_ACCESS_KEY_ID: TEST_AWS_ENV.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY };

  /** Runs openCaptureTable in a child with `env`; returns its outcome. */
  async function openInChild(
    env: Record<string, string>,
    options: { endpoint?: string },
    table: string,
  ): Promise<{ shards?: number; code?: string; message?: string }> {
    const script = `
      import { createDynamoClient } from ${JSON.stringify(join(root, "src/store/dynamodb/client.ts"))};
      import { openCaptureTable } from ${JSON.stringify(join(root, "src/store/dynamodb/table.ts"))};
      const client = createDynamoClient(${JSON.stringify(options)});
      try {
        const { shards } = await openCaptureTable({ client, table: ${JSON.stringify(table)}, timeoutMs: 5000 });
        console.log(JSON.stringify({ shards }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, message: e.message }));
      } finally {
        client.destroy();
      }`;
    const child = Bun.spawn([process.execPath, "-e", script], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const line = out.trim().split("\n").at(-1) ?? "";
    if (!line.startsWith("{")) throw new Error(`child printed no result: ${out} ${err}`);
    return JSON.parse(line);
  }

  test("reports missing credentials as E_AWS_CREDENTIALS", async () => {
    const result = await openInChild({ ...bareEnv, AWS_REGION: "us-east-1" }, { endpoint }, "any");
    expect(result.code).toBe("E_AWS_CREDENTIALS");
    expect(result.message).toContain("AWS_ACCESS_KEY_ID");
  });

  test("asks for AWS_REGION or --region when no region and no endpoint are configured", async () => {
    const result = await openInChild({ ...bareEnv, ...keys }, {}, "any");
    expect(result.code).toBe("E_USAGE");
    expect(result.message).toContain("AWS_REGION");
    expect(result.message).toContain("--region");
  });

  test("defaults the region when an endpoint is given, since DynamoDB Local ignores it", async () => {
    const table = await testTable("env-endpoint", { shards: 5 });
    expect(await openInChild({ ...bareEnv, ...keys }, { endpoint }, table)).toEqual({ shards: 5 });
  });

  test("takes the endpoint from AWS_ENDPOINT_URL_DYNAMODB (the SDK reads it natively)", async () => {
    const table = await testTable("env-var", { shards: 6 });
    expect(await openInChild({ ...bareEnv, ...keys, AWS_ENDPOINT_URL_DYNAMODB: endpoint }, {}, table)).toEqual({ shards: 6 });
    expect(await openInChild({ ...bareEnv, ...keys, AWS_ENDPOINT_URL: endpoint }, {}, table)).toEqual({ shards: 6 });
  });

  test("takes the region from AWS_DEFAULT_REGION, which the JS SDK alone ignores", async () => {
    const table = uniqueTableName("env-region");
    // A closed port: the call fails, and its message names the region the client resolved.
    const result = await openInChild({ ...bareEnv, ...keys, AWS_DEFAULT_REGION: "eu-west-3" }, { endpoint: "http://127.0.0.1:1" }, table);
    expect(result.code).toBe("E_DDB_UNREACHABLE");
    expect(result.message).toContain("(eu-west-3)");
  });
});
