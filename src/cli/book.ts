/**
 * `obcap book`: the order book of one pair as it stood at an instant, or a series of it, rebuilt from
 * a table (`--table`) or a journal directory (`--journal`, no AWS needed). docs/book.md has the rule.
 *
 *   obcap book --table Orders --pair btcusd --at 2026-09-04T12:00Z [--depth 20] [--l3] [--json]
 *   obcap book --journal /var/lib/obcap --pair btcusd --from 2026-09-04T12:00Z --to 2026-09-04T13:00Z --every 1s --depth 25 --format csv
 */
import { defineCommand } from "citty";
import { obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { seriesCsvHeader, seriesCsvRow, seriesNdjsonRow } from "../book/series-format.ts";
import { DEFAULT_MARGIN_MICROS } from "../book/snapshot-alignment.ts";
import { fileOutput, OutputClosed, stdoutOutput, type LineOutput } from "../export/line-output.ts";
import { dynamoQueryFn } from "../export/partition-query.ts";
import { layoutQueryFn } from "../export/packed-query.ts";
import { parseTimeMicros } from "../export/time-range.ts";
import { bookAt, isoOfMicros } from "../history/book-at.ts";
import { bookJson, bookTable } from "../history/book-text.ts";
import type { HistorySource } from "../history/history-source.ts";
import { JournalHistory } from "../history/journal-history.ts";
import { seriesAtSteps } from "../history/series-at-steps.ts";
import { checkSnapshots } from "../history/snapshot-check.ts";
import { TableHistory } from "../history/table-history.ts";
import { PAIR_PATTERN } from "../model/channels.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { openTableForReading } from "../store/dynamodb/table.ts";
import { durationOption } from "./duration-option.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

const args = {
  table: { type: "string", description: "DynamoDB table to read", valueHint: "Orders" },
  journal: { type: "string", description: "Journal directory (or recordings) to read instead of a table: no AWS needed", valueHint: "DIR" },
  pair: { type: "string", description: "The pair", valueHint: "btcusd" },
  at: { type: "string", description: "The instant: ISO 8601 (UTC if no zone) or epoch s / ms / µs; every event at or before it is applied", valueHint: "TIME" },
  from: { type: "string", description: "Series: first step (same forms as --at)", valueHint: "TIME" },
  to: { type: "string", description: "Series: last step, inclusive", valueHint: "TIME" },
  every: { type: "string", description: "Series: time between steps (ms, s, m, h)", default: "1s" },
  depth: { type: "string", description: "Price levels per side", default: "20" },
  l3: { type: "boolean", description: "--at: each level's orders in queue order", default: false },
  json: { type: "boolean", description: "--at: one JSON document (decimals as strings)", default: false },
  check: { type: "boolean", description: "With --from --to: rebuild each stored snapshot from the one before it and the events between; name every order that differs (exit 6 if any)", default: false },
  format: { type: "string", description: "Series: csv (a header row) or ndjson", default: "csv" },
  out: { type: "string", description: "File to write (replaced); default stdout", valueHint: "FILE" },
  margin: { type: "string", description: "Events applied from this long before the snapshot's time (docs/book.md)", default: "1s" },
  ...awsArgs,
  ...verbosityArgs,
} as const;

/** Most steps of one series: a bound against `--every 1ms` over a year by mistake. */
const MAX_STEPS = 10_000_000;

export const bookCommand = defineCommand({
  meta: {
    name: "book",
    description: "The order book at an instant, or a series of it: obcap book --table Orders --pair btcusd --at 2026-09-04T12:00Z (or --journal DIR; --from --to --every for a series)",
  },
  args,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("book", rawArgs, args);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    if (!a.pair) throw obcapError("E_USAGE", "--pair is required: e.g. 'obcap book --table Orders --pair btcusd --at 2026-09-04T12:00Z'");
    if (!PAIR_PATTERN.test(a.pair)) throw obcapError("E_USAGE", `--pair '${a.pair}' is not a Bitstamp pair name (lower-case url_symbol like btcusd)`);
    if (!a.table === !a.journal) throw obcapError("E_USAGE", "give one of --table (read DynamoDB) or --journal (read a journal directory)");
    const series = a.from !== undefined || a.to !== undefined;
    if (!a.check && series === (a.at !== undefined)) throw obcapError("E_USAGE", "give --at TIME (the book at an instant) or --from TIME --to TIME [--every 1s] (a series), not both");
    const depth = intOption("depth", a.depth, 20, 1, 100_000);
    const marginMicros = durationOption("margin", a.margin, DEFAULT_MARGIN_MICROS / 1000) * 1000;

    const { source, close } = await openSource(a);
    try {
      const output: LineOutput = a.out && a.out !== "-" ? await fileOutput(a.out) : stdoutOutput();
      try {
        if (a.check) {
          if (!a.from || !a.to) throw obcapError("E_USAGE", "--check needs --from and --to: the snapshots in that range are checked");
          await runCheck(source, a.pair, parseTimeMicros("from", a.from), parseTimeMicros("to", a.to), marginMicros);
        } else if (!series) {
          const atMicros = parseTimeMicros("at", a.at!);
          const result = await bookAt(source, a.pair, atMicros, { marginMicros });
          const view = { depth, l3: a.l3 };
          await output.write(a.json || !process.stdout.isTTY ? bookJson(result, view) : bookTable(result, view));
          for (const warning of result.warnings) log.warn(warning);
        } else {
          if (a.l3 || a.json) throw obcapError("E_USAGE", "--l3 and --json are for --at; a series takes --format csv|ndjson");
          if (!a.from || !a.to) throw obcapError("E_USAGE", "a series needs --from and --to: e.g. --from 2026-09-04T12:00Z --to 2026-09-04T13:00Z --every 1s");
          const fromMicros = parseTimeMicros("from", a.from);
          const toMicros = parseTimeMicros("to", a.to);
          if (fromMicros > toMicros) throw obcapError("E_USAGE", `--from ${a.from} is after --to ${a.to}`);
          const everyMicros = durationOption("every", a.every, 1000, 1) * 1000;
          if ((toMicros - fromMicros) / everyMicros + 1 > MAX_STEPS) {
            throw obcapError("E_USAGE", `--from ${a.from} --to ${a.to} --every ${a.every} makes more than ${MAX_STEPS.toLocaleString("en")} rows: choose a longer --every or a shorter range`);
          }
          if (a.format !== "csv" && a.format !== "ndjson") throw obcapError("E_USAGE", `--format '${a.format}' is not a series format (allowed: csv, ndjson)`);
          const run = await seriesAtSteps(source, { pair: a.pair, fromMicros, toMicros, everyMicros, depth, marginMicros });
          if (a.format === "csv") await output.write(seriesCsvHeader(depth));
          let rows = 0;
          for await (const row of run.rows) {
            await output.write(a.format === "csv" ? seriesCsvRow(row, depth) : seriesNdjsonRow(row));
            rows++;
          }
          const provenance = await run.provenance();
          for (const warning of provenance.warnings) log.warn(warning);
          log.info(
            `book series: ${rows} rows of ${a.pair} from ${isoOfMicros(fromMicros)} to ${isoOfMicros(toMicros)} every ${a.every}, ` +
              `snapshot of ${isoOfMicros(provenance.snapshot.microtimestamp)} + ${provenance.eventsApplied} events (${provenance.source})`,
          );
        }
        await output.close();
      } catch (err) {
        if (!(err instanceof OutputClosed)) throw err;
      }
    } finally {
      close();
    }
  },
});

/** `--check`: every snapshot of the range after the first against the book rebuilt up to it. */
async function runCheck(source: HistorySource, pair: string, fromMicros: number, toMicros: number, marginMicros: number): Promise<void> {
  const checks = await checkSnapshots(source, pair, fromMicros, toMicros, marginMicros);
  let differing = 0;
  for (const check of checks) {
    const d = check.diff;
    const where = `snapshot ${isoOfMicros(check.snapshotMicros)} (book from ${isoOfMicros(check.startedFromMicros)} + ${check.eventsApplied} events)`;
    if (d.count === 0) {
      log.info(`${where}: equal${check.undecided.length > 0 ? ` (${check.undecided.length} orders touched in its own millisecond not compared: ${check.undecided.join(", ")})` : ""}`);
      continue;
    }
    differing++;
    const ids = (list: readonly { id: string }[]) => list.slice(0, 20).map((o) => o.id).join(", ") + (list.length > 20 ? ", ..." : "");
    log.warn(
      `${where}: ${d.count} orders differ: missing from the book ${d.missing.length} (${ids(d.missing)}), extra in the book ${d.extra.length} (${ids(d.extra)}), ` +
        `different ${d.different.length} (${ids(d.different)})${check.gaps.length > 0 ? `; gaps in between: ${check.gaps.map((g) => `${g.reason} ${isoOfMicros(g.startMicros)}..${isoOfMicros(g.endMicros)}`).join(", ")}` : "; no gap recorded in between"}`,
    );
  }
  log.info(`book check of ${pair}: ${checks.length} snapshots compared (${source.describe()}), ${differing} differ`);
  if (differing > 0) throw obcapError("E_BOOK_MISMATCH", `${differing} of ${checks.length} snapshots of ${pair} differ from the book rebuilt from the stored events (orders named above)`);
}

async function openSource(a: { table?: string; journal?: string; endpoint?: string; region?: string }): Promise<{ source: HistorySource; close(): void }> {
  if (a.journal) return { source: new JournalHistory(a.journal), close: () => {} };
  const table = a.table!;
  const client = createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region });
  try {
    const { shards, metadata } = await openTableForReading({ client, table });
    const onRetry = (message: string) => log.debug(message);
    const query = layoutQueryFn(dynamoQueryFn({ client, table, pageItems: 1000, parallel: 16, onRetry }), { shards, packMs: metadata.packMs });
    const source = new TableHistory({ client, table, shards, packMs: metadata.packMs, coverageComplete: metadata.coverage === "complete", query, onRetry });
    return { source, close: () => client.destroy() };
  } catch (err) {
    client.destroy();
    throw err;
  }
}
