/**
 * `obcap export --table Orders --pair btcusd --from <time> --to <time>`: the stored events of a time
 * range as NDJSON frames, in exchange-time order, byte for byte as the exchange sent them (what
 * `obcap replay` reads back). docs/replay-export.md has the details.
 */
import { defineCommand } from "citty";
import { obcapError } from "../base/errors.ts";
import { PAIR_PATTERN, type Stream } from "../model/channels.ts";
import { MICROS_PER_HOUR } from "../store/dynamodb/keys.ts";
import { log, setLogLevel } from "../base/log.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { coverageAdvice, openTableForReading } from "../store/dynamodb/table.ts";
import { listCoverage } from "../store/dynamodb/coverage.ts";
import { runExport, type ExportFormat } from "../export/export-run.ts";
import { fileOutput, stdoutOutput, type LineOutput } from "../export/line-output.ts";
import { dynamoQueryFn } from "../export/partition-query.ts";
import { layoutQueryFn } from "../export/packed-query.ts";
import { SnapshotStream } from "../export/snapshot-stream.ts";
import { parseTimeRange } from "../export/time-range.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

const args = {
  table: { type: "string", description: "DynamoDB table to read", valueHint: "Orders" },
  pair: { type: "string", description: "Pair(s) to export, comma separated (merged in time order)", valueHint: "btcusd" },
  from: { type: "string", description: "Start, inclusive: ISO 8601 (UTC if no zone) or epoch s / ms / µs", valueHint: "TIME" },
  to: { type: "string", description: "End, exclusive: same forms as --from", valueHint: "TIME" },
  stream: { type: "string", description: "orders (live_orders), trades (live_trades) or all", default: "all" },
  out: { type: "string", description: "File to write (replaced); default stdout", valueHint: "FILE" },
  format: { type: "string", description: "frames (the exchange's frames) or journal ({\"rx\":µs,\"m\":frame} when the receive time is stored, and the order book snapshots of the range) or csv (trades and order events, a header row, exact decimals)", default: "frames" },
  parallel: { type: "string", description: "Query requests at once", default: "8" },
  "page-items": { type: "string", description: "Items per Query page; memory holds about 3 pages per partition of an hour", default: "200" },
  "show-errors": { type: "string", description: "Bad items reported in full; after that only counted", default: "20" },
  ...awsArgs,
  ...verbosityArgs,
} as const;

export const exportCommand = defineCommand({
  meta: {
    name: "export",
    description: "Write the stored frames of a time range as NDJSON, in exchange-time order: obcap export --table Orders --pair btcusd --from 2026-08-09T10:00Z --to 2026-08-09T11:00Z",
  },
  args,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("export", rawArgs, args);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    if (!a.table) throw obcapError("E_USAGE", "--table is required: e.g. 'obcap export --table Orders --pair btcusd --from 2026-08-09T10:00Z --to 2026-08-09T11:00Z'");
    const pairs = pairsOption(a.pair);
    const streams = streamOption(a.stream);
    const range = parseTimeRange(a.from, a.to);
    const format = formatOption(a.format);
    const parallel = intOption("parallel", a.parallel, 8, 1, 256);
    const pageItems = intOption("page-items", a["page-items"], 200, 1, 10_000);
    const showErrors = intOption("show-errors", a["show-errors"], 20, 0, 1_000_000);

    const client = createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region });
    let badItems = 0;
    try {
      const table = a.table;
      const { shards, metadata } = await openTableForReading({ client, table });
      let queries = 0;
      const countQuery = () => queries++;
      const onRetry = (message: string) => log.debug(message);
      // With complete coverage records, one Query per pair and stream says which hours hold data.
      let listHours: ((pair: string, stream: Stream) => Promise<string[]>) | undefined;
      if (metadata.coverage === "complete") {
        listHours = (pair, stream) => listCoverage(client, table, pair, stream, range.fromMicros, range.toMicros, { onCall: countQuery, onRetry });
      } else {
        const hours = Math.floor((range.toMicros - 1) / MICROS_PER_HOUR) - Math.floor(range.fromMicros / MICROS_PER_HOUR) + 1;
        log.warn(
          `table ${table} has no complete coverage records (data written before obcap recorded them), so every hour of the range is probed: ` +
            `${hours} hours x ${pairs.length * streams.length} pair-streams x ${shards} shards = ${hours * pairs.length * streams.length * shards} Queries at least; ` +
            coverageAdvice(table),
        );
      }
      const output: LineOutput = a.out && a.out !== "-" ? await fileOutput(a.out) : stdoutOutput();
      const query = layoutQueryFn(dynamoQueryFn({
        client,
        table: a.table,
        pageItems,
        parallel,
        onQuery: countQuery,
        onRetry,
      }), { shards, packMs: metadata.packMs });
      // Order book snapshots are obcap's own records: only the journal form can carry them (a plain
      // frames file that held one would be refused by replay as a forgery).
      const snapshots = format === "journal" && streams.includes("orders")
        ? new SnapshotStream(query, pairs, range, (key, reason) => {
            badItems++;
            if (badItems <= showErrors) log.warn(`${key}: ${reason}`);
          })
        : undefined;
      const startedMs = performance.now();
      let lastLogMs = startedMs;
      const summary = await runExport({
        query,
        shards,
        packMs: metadata.packMs,
        ...(listHours ? { listHours } : {}),
        pairs,
        streams,
        range,
        format,
        output,
        ...(snapshots ? { snapshots } : {}),
        onBadItem: (key, reason) => {
          badItems++;
          if (badItems <= showErrors) log.warn(`${key}: ${reason}`);
        },
        onHour: (hour, s) => {
          const now = performance.now();
          if (now - lastLogMs < 10_000) return;
          lastLogMs = now;
          log.info(`progress: hour ${hour} done, ${s.frames} frames so far`);
        },
      });
      if (!summary.closedEarly) await output.close();
      const elapsedMs = performance.now() - startedMs;
      const channels = Object.entries(summary.byChannel).map(([c, n]) => `${c} ${n}`).join(", ");
      log.info(
        `export summary: frames ${summary.frames}${channels ? ` (${channels})` : ""}, ` +
          (snapshots ? `order book snapshots ${snapshots.written}, ` : "") +
          `hours ${summary.hours}, ` +
          `partitions ${summary.partitions}, queries ${queries}${listHours ? " (hours listed from coverage records)" : " (every hour probed: no coverage records)"}, bad items ${badItems}, ` +
          `elapsed ${(elapsedMs / 1000).toFixed(1)} s, ${elapsedMs > 0 ? Math.round((summary.frames * 1000) / elapsedMs) : 0} items/s` +
          (summary.closedEarly ? " (output closed by its reader: stopped early)" : ""),
      );
      if (badItems > 0) {
        throw obcapError(
          "E_BAD_ITEMS",
          `${badItems} item${badItems === 1 ? "" : "s"} of table ${a.table} could not be rebuilt into frames (keys above${badItems > showErrors ? `, first ${showErrors} shown` : ""}); every other frame was exported`,
        );
      }
    } finally {
      client.destroy();
    }
  },
});

function pairsOption(value: string | undefined): string[] {
  if (!value) throw obcapError("E_USAGE", "--pair is required: e.g. --pair btcusd (or btcusd,ethusd)");
  const pairs = [...new Set(value.split(",").map((p) => p.trim()).filter(Boolean))];
  for (const pair of pairs) {
    if (!PAIR_PATTERN.test(pair)) throw obcapError("E_USAGE", `--pair '${pair}' is not a Bitstamp pair name (lower-case url_symbol like btcusd)`);
  }
  if (pairs.length === 0) throw obcapError("E_USAGE", "--pair is empty: e.g. --pair btcusd");
  return pairs;
}

function streamOption(value: string): Stream[] {
  if (value === "all") return ["orders", "trades"];
  if (value === "orders" || value === "trades") return [value];
  throw obcapError("E_USAGE", `--stream '${value}' is not a stream (allowed: orders, trades, all)`);
}

function formatOption(value: string): ExportFormat {
  if (value === "frames" || value === "journal" || value === "csv") return value;
  throw obcapError("E_USAGE", `--format '${value}' is not a format (allowed: frames, journal, csv)`);
}
