/**
 * The metadata item of an obcap table (pk "obcap#meta", sk "table"): how writers and readers agree on
 * the shard count and learn whether the coverage records are complete (table.ts writes it at
 * `table create`, reads it at start-up, and `table coverage` marks the coverage complete). This file is its
 * layout only: the item written, and the checks on the item read back.
 */
import { obcapError } from "../../base/errors.ts";
import type { Item } from "./item.ts";
import { META_KEY } from "./keys.ts";
import { packMsProblem } from "../packed/pack-ms.ts";

export const META_PK = META_KEY.pk;
export const META_SK = META_KEY.sk;
/**
 * Version of the data model in the table (DESIGN.md "Data model"); bumped on incompatible changes.
 * 2: every writer writes coverage records (coverage.ts). An obcap that knows only 1 would write data
 * without them, which readers of a complete table would never find, so it must refuse such a table
 * (metadataOfItem below: "upgrade obcap"). A table of schema 1 is still read and written.
 */
export const SCHEMA_VERSION = 3;
/**
 * 3: the packed layout (store/packed/). A packed table records schema 3, so an obcap that knows only 2
 * refuses it rather than write event items no reader of the table would look for; an event-layout
 * table keeps recording 2, which older obcaps still read and write.
 */
export const PACKED_SCHEMA_VERSION = 3;
export const EVENT_SCHEMA_VERSION = 2;

/** How events are stored: one item each (`event`), or packed into windows of exchange time (`packed`). */
export type TableLayout = "event" | "packed";

/**
 * `complete`: every partition of data in the table has its coverage item, so readers list hours
 * from the coverage records. `incomplete`: the table holds data written before coverage records
 * existed (or written by a schema-1 obcap); readers probe every hour until `obcap table coverage`
 * has rebuilt them.
 */
export type CoverageState = "complete" | "incomplete";

/** The metadata item of an obcap table. */
export interface TableMetadata {
  shards: number;
  schemaVersion: number;
  createdAt: string;
  createdBy: string;
  /** Attribute `coverage` (S); absent in tables made before coverage records: `incomplete`. */
  coverage: CoverageState;
  /** Attribute `layout` (S); absent in tables made before the packed layout: `event`. */
  layout: TableLayout;
  /** Attribute `packMs` (N): the packed layout's window, ms. */
  packMs?: number;
}

/** The item that records `metadata` (Numbers as text). */
export function itemOfMetadata(metadata: TableMetadata): Item {
  return {
    pk: { S: META_PK },
    sk: { S: META_SK },
    shards: { N: String(metadata.shards) },
    schemaVersion: { N: String(metadata.schemaVersion) },
    createdAt: { S: metadata.createdAt },
    createdBy: { S: metadata.createdBy },
    coverage: { S: metadata.coverage },
    ...(metadata.layout === "packed" ? { layout: { S: "packed" }, packMs: { N: String(metadata.packMs) } } : {}),
  };
}

/**
 * The metadata an item read back records. Throws E_TABLE_INCOMPATIBLE when its shards/schemaVersion
 * are missing or invalid, or when the schema is newer than this obcap knows.
 */
export function metadataOfItem(item: Item, table: string): TableMetadata {
  const shards = Number(item.shards?.N);
  const schemaVersion = Number(item.schemaVersion?.N);
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(schemaVersion)) {
    throw obcapError(
      "E_TABLE_INCOMPATIBLE",
      `metadata item of table ${table} (pk "${META_PK}", sk "${META_SK}") has no valid shards/schemaVersion ` +
        `(shards=${item.shards?.N ?? "missing"}, schemaVersion=${item.schemaVersion?.N ?? "missing"}): ` +
        `fix or delete that item, then run \`obcap table create --table ${table}\``,
    );
  }
  if (schemaVersion > SCHEMA_VERSION) {
    throw obcapError(
      "E_TABLE_INCOMPATIBLE",
      `table ${table} holds obcap data schema ${schemaVersion}; this obcap knows up to ${SCHEMA_VERSION}: upgrade obcap`,
    );
  }
  const layout = item.layout?.S ?? "event";
  if (layout !== "event" && layout !== "packed") {
    throw obcapError("E_TABLE_INCOMPATIBLE", `table ${table} stores events in layout ${JSON.stringify(layout)}; this obcap knows "event" and "packed": upgrade obcap`);
  }
  let packMs: number | undefined;
  if (layout === "packed") {
    packMs = Number(item.packMs?.N);
    const problem = packMsProblem(packMs);
    if (problem) {
      throw obcapError("E_TABLE_INCOMPATIBLE", `metadata item of table ${table} records the packed layout with packMs=${item.packMs?.N ?? "missing"}, which ${problem}: fix that item (it was not written by obcap)`);
    }
  }
  return {
    shards,
    schemaVersion,
    createdAt: item.createdAt?.S ?? "",
    createdBy: item.createdBy?.S ?? "",
    coverage: item.coverage?.S === "complete" ? "complete" : "incomplete",
    layout,
    ...(packMs === undefined ? {} : { packMs }),
  };
}
