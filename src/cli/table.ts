/** `obcap table create|describe|coverage`: the DynamoDB table obcap writes to (key scheme in docs/data-model.md). */
import { defineCommand } from "citty";
import { obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { DEFAULT_SHARDS } from "../store/dynamodb/keys.ts";
import { coverageAdvice, openCaptureTable } from "../store/dynamodb/table.ts";
import { createTable, markCoverageComplete } from "../store/dynamodb/table-admin.ts";
import { rebuildCoverage } from "../store/dynamodb/coverage-rebuild.ts";
import { DEFAULT_PACK_MS, PACK_MS_MAX, PACK_MS_MIN, packMsProblem } from "../store/packed/pack-ms.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";
import { VERSION } from "../base/version.ts";
import { migrateCommand } from "./table-migrate.ts";

const tableArgs = {
  table: { type: "string", description: "Table name", valueHint: "Orders" },
  ...awsArgs,
  ...verbosityArgs,
} as const;

const createArgs = {
  ...tableArgs,
  shards: {
    type: "string",
    description: `Partitions per pair, stream and hour (each takes up to 1,000 writes/s)`,
    default: String(DEFAULT_SHARDS),
  },
  layout: {
    type: "string",
    description: "How events are stored: packed (windows of exchange time, deflated columns: about 1/20 of the write units) or event (one item per event)",
    default: "packed",
  },
  "pack-ms": {
    type: "string",
    description: "Packed layout: window of exchange time per item, ms (divides an hour); a window is readable about this long after it ends",
    default: String(DEFAULT_PACK_MS),
  },
} as const;

function clientFor(a: { endpoint?: string; region?: string }) {
  return createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region });
}

function requireTable(name: string | undefined, command: string): string {
  if (!name) throw obcapError("E_USAGE", `--table is required: e.g. 'obcap table ${command} --table Orders'`);
  return name;
}

const create = defineCommand({
  meta: { name: "create", description: "Create the table (on-demand billing, pk/sk keys) and its metadata item; exits 0 if a compatible one exists" },
  args: createArgs,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("table create", rawArgs, createArgs);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    const table = requireTable(a.table, "create");
    const shards = intOption("shards", a.shards, DEFAULT_SHARDS, 1, 100);
    const layout = a.layout;
    if (layout !== "packed" && layout !== "event") throw obcapError("E_USAGE", `--layout must be packed or event, got ${JSON.stringify(layout)}`);
    const packMs = intOption("pack-ms", a["pack-ms"], DEFAULT_PACK_MS, PACK_MS_MIN, PACK_MS_MAX);
    const problem = packMsProblem(packMs);
    if (problem) throw obcapError("E_USAGE", `--pack-ms ${packMs} ${problem}`);
    const client = clientFor(a);
    try {
      const result = await createTable({ client, table, shards, layout, packMs, createdBy: `obcap ${VERSION}` });
      const what = result.metadataItem.layout === "packed" ? `packed layout, ${result.metadataItem.packMs} ms windows` : `event layout, ${result.shards} shards`;
      if (result.status === "created") log.success(`created table ${table} (on-demand, ${what})`);
      else if (result.note) log.info(`table ${table} already exists and is compatible; ${result.note}`);
      else log.info(`table ${table} already exists and is compatible (${what}); nothing to do`);
      if (result.metadataItem.coverage !== "complete") {
        log.warn(`table ${table} holds data without coverage records, so readers probe every hour of a range: ${coverageAdvice(table)}`);
      }
    } finally {
      client.destroy();
    }
  },
});

const describe = defineCommand({
  meta: { name: "describe", description: "Check the table is usable by capture and print its settings as JSON" },
  args: tableArgs,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("table describe", rawArgs, tableArgs);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    const table = requireTable(a.table, "describe");
    const client = clientFor(a);
    try {
      const info = await openCaptureTable({ client, table });
      process.stdout.write(`${JSON.stringify({ table, ...info })}\n`);
    } finally {
      client.destroy();
    }
  },
});

const coverageArgs = {
  ...tableArgs,
  segments: { type: "string", description: "Parallel Scan segments", default: "4" },
} as const;

const coverage = defineCommand({
  meta: {
    name: "coverage",
    description: "Scan the table once, write the coverage records it lacks (data from before they existed), then mark its coverage complete",
  },
  args: coverageArgs,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("table coverage", rawArgs, coverageArgs);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    const table = requireTable(a.table, "coverage");
    const segments = intOption("segments", a.segments, 4, 1, 1_000);
    const client = clientFor(a);
    try {
      const { metadata } = await openCaptureTable({ client, table });
      const startedMs = performance.now();
      let lastLogMs = startedMs;
      const summary = await rebuildCoverage({
        client,
        table,
        segments,
        onRetry: (message) => log.debug(message),
        onProgress: (s) => {
          const now = performance.now();
          if (now - lastLogMs < 10_000) return;
          lastLogMs = now;
          log.info(`progress: scanned ${s.scannedItems} items, ${s.missing} coverage items missing so far (written as found)`);
        },
      });
      const marked = await markCoverageComplete({ client, table });
      log.info(
        `table coverage summary: scanned ${summary.scannedItems} items in ${summary.scanCalls} Scan calls (${segments} segments), ` +
          `coverage items found ${summary.existing}, written ${summary.written}, ` +
          `elapsed ${((performance.now() - startedMs) / 1000).toFixed(1)} s`,
      );
      log.success(
        `table ${table}: coverage complete (schema ${metadata.schemaVersion} -> ${marked.schemaVersion}); ` +
          `readers now list the hours that hold data, and obcap older than schema ${marked.schemaVersion} refuses the table`,
      );
    } finally {
      client.destroy();
    }
  },
});

export const tableCommand = defineCommand({
  meta: { name: "table", description: "Create or check the DynamoDB table, rebuild its coverage records, or copy it into another layout" },
  subCommands: { create, describe, coverage, migrate: migrateCommand },
});
