/**
 * The table checks that need no DynamoDB: obcap's key schema (checkKeySchema) and the metadata item's
 * layout (table-metadata.ts). Creating and opening tables is tested against DynamoDB Local
 * (tests/integration/table.test.ts).
 */
import { describe, expect, test } from "bun:test";
import type { TableDescription } from "@aws-sdk/client-dynamodb";
import { EXIT, type ObcapError } from "../../../../src/base/errors.ts";
import { checkKeySchema } from "../../../../src/store/dynamodb/table.ts";
import { CAPTURE_TABLE_SCHEMA } from "../../../../src/store/dynamodb/table-admin.ts";
import { META_PK, META_SK, SCHEMA_VERSION, itemOfMetadata, metadataOfItem, type TableMetadata } from "../../../../src/store/dynamodb/table-metadata.ts";
import { META_KEY } from "../../../../src/store/dynamodb/keys.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";

/** A DescribeTable answer with these keys ([name, type, role]). */
function described(...keys: Array<[string, string | undefined, "HASH" | "RANGE"]>): TableDescription {
  return {
    KeySchema: keys.map(([AttributeName, , KeyType]) => ({ AttributeName, KeyType })),
    AttributeDefinitions: keys.flatMap(([AttributeName, AttributeType]) => (AttributeType === undefined ? [] : [{ AttributeName, AttributeType: AttributeType as "S" }])),
  };
}

describe("checkKeySchema", () => {
  test("accepts pk (S) HASH + sk (S) RANGE, the schema table create uses", () => {
    expect(checkKeySchema(described(["pk", "S", "HASH"], ["sk", "S", "RANGE"]), "t")).toBeUndefined();
    expect(checkKeySchema({ ...CAPTURE_TABLE_SCHEMA, TableStatus: "ACTIVE" } as TableDescription, "t")).toBeUndefined();
  });

  test("other attributes, indexes and billing modes do not matter", () => {
    const description: TableDescription = {
      ...described(["pk", "S", "HASH"], ["sk", "S", "RANGE"]),
      BillingModeSummary: { BillingMode: "PROVISIONED" },
      GlobalSecondaryIndexes: [{ IndexName: "by-rx", KeySchema: [{ AttributeName: "rx", KeyType: "HASH" }] }],
    };
    description.AttributeDefinitions!.push({ AttributeName: "rx", AttributeType: "N" });
    expect(checkKeySchema(description, "t")).toBeUndefined();
  });

  test("anything else: E_TABLE_INCOMPATIBLE saying which keys the table has", () => {
    const cases: Array<[TableDescription, string]> = [
      [described(["pk", "N", "HASH"], ["sk", "S", "RANGE"]), "pk (N) HASH + sk (S) RANGE"],
      [described(["pk", "S", "HASH"], ["sk", "B", "RANGE"]), "pk (S) HASH + sk (B) RANGE"],
      [described(["pk", "S", "HASH"]), "pk (S) HASH"],
      [described(["id", "S", "HASH"], ["ts", "N", "RANGE"]), "id (S) HASH + ts (N) RANGE"],
      [described(["pk", undefined, "HASH"], ["sk", undefined, "RANGE"]), "pk (?) HASH + sk (?) RANGE"],
      [{}, "(none)"],
    ];
    for (const [description, has] of cases) {
      const err = checkKeySchema(description, "Orders") as ObcapError;
      expect(err.code).toBe("E_TABLE_INCOMPATIBLE");
      expect(err.exitCode).toBe(EXIT.config);
      expect(err.message).toBe(`table Orders has key ${has}; obcap needs pk (S) HASH + sk (S) RANGE: choose another --table name`);
    }
  });
});

const METADATA: TableMetadata = { shards: 4, schemaVersion: 2, createdAt: "2026-08-09T10:00:00.000Z", createdBy: "obcap 0.1.0", coverage: "complete", layout: "event" };

/** The ObcapError `fn` throws. */
function thrown(fn: () => unknown): ObcapError {
  try {
    fn();
  } catch (err) {
    return err as ObcapError;
  }
  throw new Error("expected a throw");
}

describe("the metadata item", () => {
  test("has the metadata key, Numbers as text, and reads back as written", () => {
    const item = itemOfMetadata(METADATA);
    expect({ pk: META_PK, sk: META_SK }).toEqual({ ...META_KEY });
    expect(item).toEqual({
      pk: { S: "obcap#meta" },
      sk: { S: "table" },
      shards: { N: "4" },
      schemaVersion: { N: "2" },
      createdAt: { S: "2026-08-09T10:00:00.000Z" },
      createdBy: { S: "obcap 0.1.0" },
      coverage: { S: "complete" },
    });
    expect(metadataOfItem(item, "Orders")).toEqual(METADATA);
    expect(metadataOfItem(itemOfMetadata({ ...METADATA, coverage: "incomplete" }), "Orders").coverage).toBe("incomplete");
  });

  test("missing createdAt/createdBy read as empty; an older schema is accepted; no coverage attribute reads as incomplete", () => {
    expect(metadataOfItem({ shards: { N: "1" }, schemaVersion: { N: "0" } }, "Orders")).toEqual({ shards: 1, schemaVersion: 0, createdAt: "", createdBy: "", coverage: "incomplete", layout: "event" });
    // A table made by a schema-1 obcap: read and written, its coverage records not trusted.
    expect(metadataOfItem({ shards: { N: "4" }, schemaVersion: { N: "1" }, createdAt: { S: "x" }, createdBy: { S: "obcap 0.1.0" } }, "Orders").coverage).toBe("incomplete");
    expect(metadataOfItem({ shards: { N: "4" }, schemaVersion: { N: "2" }, coverage: { S: "something else" } }, "Orders").coverage).toBe("incomplete");
  });

  test("invalid shards or schemaVersion: E_TABLE_INCOMPATIBLE naming the values", () => {
    const cases: Array<[Item, string]> = [
      [{ schemaVersion: { N: "1" } }, "shards=missing, schemaVersion=1"],
      [{ shards: { N: "0" }, schemaVersion: { N: "1" } }, "shards=0, schemaVersion=1"],
      [{ shards: { N: "1.5" }, schemaVersion: { N: "1" } }, "shards=1.5, schemaVersion=1"],
      [{ shards: { S: "4" }, schemaVersion: { N: "1" } }, "shards=missing, schemaVersion=1"],
      [{ shards: { N: "4" } }, "shards=4, schemaVersion=missing"],
    ];
    for (const [item, values] of cases) {
      const err = thrown(() => metadataOfItem(item, "Orders"));
      expect(err.code).toBe("E_TABLE_INCOMPATIBLE");
      expect(err.message).toBe(
        `metadata item of table Orders (pk "obcap#meta", sk "table") has no valid shards/schemaVersion (${values}): ` +
          "fix or delete that item, then run `obcap table create --table Orders`",
      );
    }
  });

  test("the packed layout: layout and packMs written and read back, with schema 3 (older obcaps refuse it)", () => {
    const packed: TableMetadata = { ...METADATA, schemaVersion: 3, layout: "packed", packMs: 5000 };
    const item = itemOfMetadata(packed);
    expect(item.layout).toEqual({ S: "packed" });
    expect(item.packMs).toEqual({ N: "5000" });
    expect(metadataOfItem(item, "Orders")).toEqual(packed);
    expect(itemOfMetadata(METADATA).layout).toBeUndefined();
  });

  test("an unknown layout, or a packed one without a valid packMs: E_TABLE_INCOMPATIBLE saying what", () => {
    const base = { shards: { N: "4" }, schemaVersion: { N: "3" } };
    const unknown = thrown(() => metadataOfItem({ ...base, layout: { S: "columnar" } }, "Orders"));
    expect(unknown.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(unknown.message).toContain('layout "columnar"; this obcap knows "event" and "packed": upgrade obcap');
    for (const packMs of [undefined, "0", "7000", "abc"]) {
      const err = thrown(() => metadataOfItem({ ...base, layout: { S: "packed" }, ...(packMs ? { packMs: { N: packMs } } : {}) }, "Orders"));
      expect(err.code).toBe("E_TABLE_INCOMPATIBLE");
      expect(err.message).toContain(`packed layout with packMs=${packMs ?? "missing"}`);
    }
  });

  test("a newer schema: E_TABLE_INCOMPATIBLE asking for a newer obcap", () => {
    const err = thrown(() => metadataOfItem({ shards: { N: "4" }, schemaVersion: { N: String(SCHEMA_VERSION + 1) } }, "Orders"));
    expect(err.code).toBe("E_TABLE_INCOMPATIBLE");
    expect(err.message).toBe(`table Orders holds obcap data schema ${SCHEMA_VERSION + 1}; this obcap knows up to ${SCHEMA_VERSION}: upgrade obcap`);
  });
});
