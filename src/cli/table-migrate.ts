/**
 * `obcap table migrate --table Old --to-table New --from-layout event --to-layout packed`: copies a
 * table's data, or a time range and some pairs of it, into a table of another layout (created when
 * missing), hour by hour, with a checkpoint that `--resume` continues. Why a copy and not in place:
 * src/migrate/migrate-run.ts.
 */
import { resolve } from "node:path";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { defineCommand } from "citty";
import { writeFileAtomically } from "../base/atomic-file.ts";
import { obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { VERSION } from "../base/version.ts";
import { parsePairList } from "../exchange/bitstamp/pairs.ts";
import { parseTimeMicros } from "../export/time-range.ts";
import { runMigration, type MigrateSummary } from "../migrate/migrate-run.ts";
import { onStopSignal } from "../runtime/bun/signals.ts";
import { BatchWriter } from "../store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { describeItemKey } from "../store/dynamodb/item-identity.ts";
import { openTableForReading } from "../store/dynamodb/table.ts";
import { createTable } from "../store/dynamodb/table-admin.ts";
import type { TableLayout } from "../store/dynamodb/table-metadata.ts";
import { WriteMeter } from "../store/dynamodb/write-meter.ts";
import { DEFAULT_PACK_MS, PACK_MS_MAX, PACK_MS_MIN, packMsProblem } from "../store/packed/pack-ms.ts";
import { writerForLayout } from "../store/packed/packing-writer.ts";
import { IN_FLIGHT_ARGS, inFlightOption } from "./in-flight-option.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

const migrateArgs = {
  table: { type: "string", description: "The table to copy from", valueHint: "Orders" },
  "to-table": { type: "string", description: "The table to copy into (created with --to-layout when missing)", valueHint: "OrdersPacked" },
  "from-layout": { type: "string", description: "The layout the source table has (event or packed): checked, never assumed" },
  "to-layout": { type: "string", description: "The layout of the destination table (event or packed)" },
  "pack-ms": { type: "string", description: "A new packed destination: window of exchange time per item, ms", default: String(DEFAULT_PACK_MS) },
  pair: { type: "string", description: "Pairs to copy, comma separated (default: every pair of the source)" },
  from: { type: "string", description: "Copy from this time (ISO 8601 or epoch s/ms/µs; default: the beginning)" },
  to: { type: "string", description: "Copy up to this time, exclusive (default: the end)" },
  checkpoint: { type: "string", description: "Checkpoint file (default: obcap-migrate-<table>-<to-table>.checkpoint here)" },
  resume: { type: "boolean", description: "Continue the run its checkpoint records (same tables, pairs and range)" },
  ...IN_FLIGHT_ARGS,
  ...awsArgs,
  ...verbosityArgs,
} as const;

const CHECKPOINT_VERSION = 1;

interface MigrateCheckpoint {
  version: number;
  source: string;
  destination: string;
  pairs: string[] | null;
  fromMicros: number;
  toMicros: number;
  doneThroughHour: string | null;
  updatedAt: string;
}

function layoutOption(flag: string, value: string | undefined): TableLayout {
  if (value !== "event" && value !== "packed") throw obcapError("E_USAGE", `--${flag} must be event or packed, got ${JSON.stringify(value ?? "")}: e.g. --from-layout event --to-layout packed`);
  return value;
}

export const migrateCommand = defineCommand({
  meta: { name: "migrate", description: "Copy a table (or a time range and pairs of it) into a table of another layout, resumable: obcap table migrate --table Orders --to-table OrdersPacked --from-layout event --to-layout packed" },
  args: migrateArgs,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("table migrate", rawArgs, migrateArgs);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    if (!a.table || !a["to-table"]) throw obcapError("E_USAGE", "--table and --to-table are required: e.g. obcap table migrate --table Orders --to-table OrdersPacked --from-layout event --to-layout packed");
    if (a.table === a["to-table"]) throw obcapError("E_USAGE", `--to-table must be another table than --table (${a.table}): the copy goes into a new table, see docs/operations.md "Moving to the packed layout"`);
    const fromLayout = layoutOption("from-layout", a["from-layout"]);
    const toLayout = layoutOption("to-layout", a["to-layout"]);
    const packMs = intOption("pack-ms", a["pack-ms"], DEFAULT_PACK_MS, PACK_MS_MIN, PACK_MS_MAX);
    const packProblem = packMsProblem(packMs);
    if (packProblem) throw obcapError("E_USAGE", `--pack-ms ${packMs} ${packProblem}`);
    const pairs = a.pair ? parsePairList(a.pair) : undefined;
    const fromMicros = a.from ? parseTimeMicros("from", a.from) : 0;
    const toMicros = a.to ? parseTimeMicros("to", a.to) : Number.MAX_SAFE_INTEGER;
    if (toMicros <= fromMicros) throw obcapError("E_USAGE", `--to '${a.to}' is not after --from '${a.from}': the range [from, to) is empty`);
    const inFlight = inFlightOption(a);
    const checkpointPath = resolve(a.checkpoint ?? `obcap-migrate-${a.table}-${a["to-table"]}.checkpoint`);

    const client = createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region, maxSockets: Math.max(50, inFlight.max) });
    try {
      const source = await openTableForReading({ client, table: a.table });
      if (source.metadata.layout !== fromLayout) {
        throw obcapError("E_USAGE", `table ${a.table} stores events in the ${source.metadata.layout} layout, not ${fromLayout}: run again with --from-layout ${source.metadata.layout}`);
      }
      const created = await createTable({ client, table: a["to-table"], shards: source.shards, layout: toLayout, packMs, createdBy: `obcap ${VERSION} (table migrate)` });
      if (created.metadataItem.layout !== toLayout) {
        throw obcapError("E_USAGE", `table ${a["to-table"]} exists and stores events in the ${created.metadataItem.layout} layout, not ${toLayout}: pick another --to-table, or --to-layout ${created.metadataItem.layout}`);
      }
      if (created.status === "created") log.info(`created table ${a["to-table"]} (${toLayout} layout${toLayout === "packed" ? `, ${packMs} ms windows` : ""})`);

      const identity = { source: a.table, destination: a["to-table"], pairs: pairs ?? null, fromMicros, toMicros };
      let doneThroughHour: string | undefined;
      if (a.resume) {
        const found = readMigrateCheckpoint(checkpointPath);
        if (found === undefined) log.info(`no checkpoint at ${checkpointPath}: copying from the start`);
        else if (JSON.stringify({ source: found.source, destination: found.destination, pairs: found.pairs, fromMicros: found.fromMicros, toMicros: found.toMicros }) !== JSON.stringify(identity)) {
          throw obcapError("E_CHECKPOINT_MISMATCH", `the checkpoint ${checkpointPath} is of another migration (${found.source} -> ${found.destination}, pairs ${found.pairs?.join(",") ?? "all"}); run without --resume, or give its --checkpoint`);
        } else {
          doneThroughHour = found.doneThroughHour ?? undefined;
          log.info(`resuming after hour ${doneThroughHour ?? "(none done)"}`);
        }
      }
      const save = (hour: string | undefined): void => {
        const checkpoint: MigrateCheckpoint = { version: CHECKPOINT_VERSION, ...identity, doneThroughHour: hour ?? null, updatedAt: new Date().toISOString() };
        try {
          writeFileAtomically(checkpointPath, `${JSON.stringify(checkpoint)}\n`);
        } catch (err) {
          throw obcapError("E_CHECKPOINT_IO", `cannot write the checkpoint ${checkpointPath} (${err instanceof Error ? err.message : String(err)}): give a writable --checkpoint`, err);
        }
      };
      save(doneThroughHour);

      const meter = new WriteMeter();
      const onRetry = (message: string) => log.debug(message);
      const batchWriter = new BatchWriter({
        client, table: a["to-table"], concurrency: inFlight, meter,
        onRetry: (info) => onRetry(`retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}`),
        onRefused: (item, reason) => log.warn(`DynamoDB refused the item ${describeItemKey(item)}: ${reason}; skipped`),
      });
      const writer = writerForLayout(batchWriter, { name: a["to-table"], layout: created.metadataItem.layout, packMs: created.metadataItem.packMs }, {
        client, maxWindowsInFlight: inFlight.initial, meter, onRetry,
        onRefused: (item, reason) => log.warn(`the item ${describeItemKey(item)} cannot be packed: ${reason}; skipped`),
      });
      let stopping = false;
      const offSignal = onStopSignal((signal) => {
        log.warn(`${signal}: stopping after this hour, then saving the checkpoint`);
        stopping = true;
      });
      const startedMs = performance.now();
      let lastLogMs = startedMs;
      let summary: MigrateSummary;
      try {
        summary = await runMigration({
          client,
          source: { table: a.table, metadata: source.metadata },
          destination: { table: a["to-table"], metadata: created.metadataItem },
          writer,
          ...(pairs ? { pairs } : {}),
          fromMicros,
          toMicros,
          ...(doneThroughHour ? { doneThroughHour } : {}),
          shouldStop: () => stopping,
          onRetry,
          onHourDone: (hour, s) => {
            save(hour);
            const now = performance.now();
            if (now - lastLogMs < 10_000 && !a.verbose) return;
            lastLogMs = now;
            log.info(`progress: hour ${hour} done; ${s.hours} hours, ${s.events} events copied`);
          },
        });
      } finally {
        offSignal();
      }
      const m = meter.stats();
      log.info(
        `table migrate summary: ${a.table} (${fromLayout}) -> ${a["to-table"]} (${toLayout}): hours ${summary.hours}${summary.hoursSkipped ? ` (+${summary.hoursSkipped} done before)` : ""}, ` +
          `events ${summary.events}, gap records ${summary.gapItems}, snapshot items ${summary.snapshotItems}, coverage items ${summary.coverageItems}, ` +
          `write units ${m.writeUnits} (${m.itemWrites} item writes), elapsed ${((performance.now() - startedMs) / 1000).toFixed(1)} s`,
      );
      if (summary.stopped) {
        throw obcapError("E_INTERRUPTED", `table migrate stopped by a signal after hour ${summary.doneThroughHour ?? "(none)"}; checkpoint saved in ${checkpointPath}: run the same command with --resume to continue`);
      }
      rmSync(checkpointPath, { force: true });
      log.success(`copied into ${a["to-table"]}; point captures and readers at it when you are ready (docs/operations.md, "Moving to the packed layout")`);
    } finally {
      client.destroy();
    }
  },
});

function readMigrateCheckpoint(path: string): MigrateCheckpoint | undefined {
  if (!existsSync(path)) return undefined;
  let value: MigrateCheckpoint;
  try {
    value = JSON.parse(readFileSync(path, "utf8")) as MigrateCheckpoint;
  } catch (err) {
    throw obcapError("E_CHECKPOINT_IO", `the checkpoint ${path} cannot be read (${err instanceof Error ? err.message : String(err)}): delete it to start over`, err);
  }
  if (value.version !== CHECKPOINT_VERSION) throw obcapError("E_CHECKPOINT_IO", `the checkpoint ${path} has version ${value.version}; this obcap writes ${CHECKPOINT_VERSION}: delete it to start over`);
  return value;
}
