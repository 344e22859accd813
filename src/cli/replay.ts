/**
 * `obcap replay <file|dir|-> ... --table Orders`: recorded Bitstamp frames (journal lines or plain
 * frames, .gz too, directories, stdin) -> the same items the capture writes. Idempotent (keys come
 * from the frames' content), resumable (checkpoint of the acknowledged position), streaming.
 * docs/replay-export.md has the details.
 */
import { defineCommand } from "citty";
import { resolve } from "node:path";
import { obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { ItemUploader } from "../pipeline/uploader.ts";
import { describeItemKey } from "../store/dynamodb/item-identity.ts";
import { BatchWriter, type BatchWriterStats, type ItemWriter } from "../store/dynamodb/batch-writer.ts";
import { writerForLayout } from "../store/packed/packing-writer.ts";
import { WriteMeter, type WriteMeterStats } from "../store/dynamodb/write-meter.ts";
import type { TableLayout } from "../store/dynamodb/table-metadata.ts";
import { IN_FLIGHT_ARGS, inFlightOption } from "./in-flight-option.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { DEFAULT_SHARDS } from "../store/dynamodb/keys.ts";
import { openCaptureTable } from "../store/dynamodb/table.ts";
import { onStopSignal } from "../runtime/bun/signals.ts";
import { BadLineReport } from "../replay/bad-lines.ts";
import { resolveInputs, type ReplayInput } from "../replay/inputs.ts";
import { ReplayProgress } from "../replay/progress.ts";
import { CheckpointWriter, checkCheckpointMatches, readCheckpoint, type Checkpoint, type ReplayPosition } from "../replay/replay-checkpoint.ts";
import { runReplay, type ReplayStore, type ReplaySummary } from "../replay/replay-run.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

const args = {
  input: {
    type: "positional",
    description: "Recordings to read, in order: files (.ndjson, .gz, ...), directories (their recordings in name order), '-' for stdin",
    valueHint: "file|dir|-",
    required: false,
  },
  table: { type: "string", description: "DynamoDB table to write to (as for capture; not needed with --dry-run)", valueHint: "Orders" },
  "dry-run": { type: "boolean", description: "Read, validate and map every line, print the summary, write nothing (no AWS needed)", default: false },
  strict: { type: "boolean", description: "Stop at the first bad line (default: skip it, report it as file:line, exit 6 at the end)", default: false },
  resume: { type: "boolean", description: "Continue from the checkpoint of an earlier run of the same replay (files only)", default: false },
  checkpoint: { type: "string", description: "Checkpoint file (default: obcap-replay-<table>-<hash of the inputs>.checkpoint in the current directory)", valueHint: "FILE" },
  "checkpoint-ms": { type: "string", description: "At most one checkpoint write per this many ms", default: "1000" },
  "max-line-kb": { type: "string", description: "Longer lines are bad lines, never buffered whole", default: "1024" },
  "show-errors": { type: "string", description: "Bad lines reported in full; after that only counted", default: "20" },
  ...IN_FLIGHT_ARGS,
  "linger-ms": { type: "string", description: "How long a partial batch waits for more lines (a slow stdin)", default: "200" },
  "progress-s": { type: "string", description: "Seconds between progress lines when stderr is not a terminal", default: "10" },
  ...awsArgs,
  ...verbosityArgs,
} as const;

export const replayCommand = defineCommand({
  meta: {
    name: "replay",
    description:
      "Write recorded frames into the table: obcap replay <file|dir|-> ... --table Orders (journal lines or raw frames, .gz, directories, '-' = stdin)",
  },
  args,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("replay", rawArgs, args);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    const dryRun = a["dry-run"];
    const table = a.table;
    if (!table && !dryRun) throw obcapError("E_USAGE", "--table is required: e.g. 'obcap replay capture.ndjson --table Orders' (or --dry-run to only validate)");
    if (dryRun && a.resume) throw obcapError("E_USAGE", "--resume continues a replay into a table; a --dry-run has nothing to resume");
    const inputs = resolveInputs(a._.map(String), (path) => log.debug(`not a recording, not read: ${path}`));
    const hasStdin = inputs.some((input) => input.path === undefined);
    if (a.resume && hasStdin) throw obcapError("E_USAGE", "--resume needs files: stdin ('-') cannot be read again from a checkpoint");
    for (const input of inputs) if (input.sizeBytes === 0) log.warn(`input ${input.name} is empty`);
    const maxLineBytes = intOption("max-line-kb", a["max-line-kb"], 1024, 1, 1024 * 1024) * 1024;

    const progress = new ReplayProgress({
      tty: process.stderr.isTTY === true && !a.quiet,
      write: (text) => process.stderr.write(text),
      log: (line) => log.info(line),
      dryRun,
      logEveryMs: intOption("progress-s", a["progress-s"], 10, 1, 86_400) * 1000,
    });
    const badLines = new BadLineReport(intOption("show-errors", a["show-errors"], 20, 0, 1_000_000), (line) =>
      progress.interject(() => log.warn(line)),
    );
    const stop = new AbortController();
    const offSignal = onStopSignal((signal) => {
      progress.interject(() => log.warn(`${signal}: stopping; storing what was read, then saving the checkpoint (again to exit at once)`));
      stop.abort();
    });

    const startedMs = performance.now();
    let sink: TableSink | undefined;
    let summary: ReplaySummary;
    try {
      sink = dryRun ? undefined : await openTableSink(a, table!, inputs, hasStdin);
      summary = await runReplay({
        inputs,
        shards: sink?.shards ?? DEFAULT_SHARDS,
        store: sink?.store,
        strict: a.strict,
        maxLineBytes,
        resumeFrom: sink?.resumeFrom,
        onBadLine: (where, reason) => badLines.add(where, reason),
        onProgress: (figures) => progress.tick(figures),
        stop: stop.signal,
      });
    } catch (err) {
      // The acknowledged position is still true: save it so --resume skips what is stored.
      sink?.saveCheckpoint();
      if (sink?.checkpoint) log.info(`checkpoint saved in ${sink.checkpoint.path}: after fixing the cause, rerun with --resume`);
      throw err;
    } finally {
      offSignal();
      progress.clear();
      sink?.close();
    }
    const elapsedMs = performance.now() - startedMs;
    const closing = badLines.closingLine();
    if (closing) log.warn(closing);
    log.info(summaryLine(summary, sink, elapsedMs, dryRun));
    finish(summary, sink);
  },
});

/** What a replay into a table needs besides the loop: writer, uploader, checkpoint. */
interface TableSink {
  shards: number;
  store: ReplayStore;
  layout: TableLayout;
  writer: ItemWriter;
  /** Write units billed, as DynamoDB bills them (write-meter.ts). */
  meter: WriteMeter;
  checkpoint: CheckpointWriter | undefined;
  resumeFrom: Checkpoint | undefined;
  saveCheckpoint(): void;
  close(): void;
}

async function openTableSink(
  a: { endpoint?: string; region?: string; resume: boolean; checkpoint?: string; "checkpoint-ms": string; "in-flight"?: string; "in-flight-max"?: string; "linger-ms": string },
  table: string,
  inputs: readonly ReplayInput[],
  hasStdin: boolean,
): Promise<TableSink> {
  // One socket per request in flight, up to the adaptive bound.
  const client = createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region, maxSockets: Math.max(50, inFlightOption(a).max) });
  try {
    const { shards, metadata } = await openCaptureTable({ client, table });
    let checkpoint: CheckpointWriter | undefined;
    let resumeFrom: Checkpoint | undefined;
    if (!hasStdin) {
      const path = a.checkpoint ? resolve(a.checkpoint) : defaultCheckpointPath(table, inputs);
      const existing = readCheckpoint(path);
      if (a.resume && existing) {
        checkCheckpointMatches(existing, path, table, inputs);
        resumeFrom = existing;
      } else if (a.resume) {
        log.info(`no checkpoint at ${path}: replaying from the start`);
      } else if (existing) {
        log.info(`a checkpoint of an earlier run is at ${path}; replaying from the start and replacing it (--resume would continue it)`);
      }
      checkpoint = new CheckpointWriter(path, table, inputs, intOption("checkpoint-ms", a["checkpoint-ms"], 1000, 0, 3_600_000));
      // Written now, so a path that cannot be written fails before any work.
      checkpoint.update(resumeFrom?.position ?? undefined, resumeFrom?.badLines ?? 0, true);
    }
    const meter = new WriteMeter();
    const batchWriter = new BatchWriter({
      client,
      meter,
      table,
      concurrency: inFlightOption(a),
      onConcurrency: (change) => log.debug(`write concurrency ${change.from} -> ${change.to}: ${change.reason}`),
      onRetry: (info) => log.debug(`retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}`),
      // Beyond the limits checked line by line (item-limits.ts): reported, counted with the bad lines, never fatal.
      onRefused: (item, reason) => log.warn(`DynamoDB refused the item ${describeItemKey(item)}: ${reason}; skipped`),
    });
    const writer = writerForLayout(batchWriter, { name: table, layout: metadata.layout, packMs: metadata.packMs }, {
      client,
      maxWindowsInFlight: inFlightOption(a).initial,
      onRetry: (message) => log.debug(message),
      onRefused: (item, reason) => log.warn(`the item ${describeItemKey(item)} cannot be packed: ${reason}; skipped`),
      meter,
    });
    const uploader = new ItemUploader<ReplayPosition>(writer);
    let lastAcked: { position: ReplayPosition | undefined; badLines: number } = {
      position: resumeFrom?.position ?? undefined,
      badLines: resumeFrom?.badLines ?? 0,
    };
    return {
      shards,
      layout: metadata.layout,
      writer,
      meter,
      checkpoint,
      resumeFrom,
      store: {
        uploader,
        stats: () => dataStats(writer.stats()),
        lingerMs: intOption("linger-ms", a["linger-ms"], 200, 0, 60_000),
        onAcknowledged(position, badLines) {
          lastAcked = { position: position ?? lastAcked.position, badLines };
          checkpoint?.update(lastAcked.position, badLines);
        },
      },
      saveCheckpoint() {
        try {
          checkpoint?.update(lastAcked.position, lastAcked.badLines, true);
        } catch (err) {
          log.warn(`could not save the checkpoint: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
      close: () => client.destroy(),
    };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/** `obcap-replay-<table>-<8 hex of the input paths>.checkpoint` in the current directory. */
export function defaultCheckpointPath(table: string, inputs: readonly ReplayInput[]): string {
  const key = JSON.stringify([table, ...inputs.map((input) => input.path ?? "-")]);
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  const safeTable = table.replace(/[^A-Za-z0-9_.-]/g, "_");
  return resolve(`obcap-replay-${safeTable}-${(h >>> 0).toString(16).padStart(8, "0")}.checkpoint`);
}

function summaryLine(s: ReplaySummary, sink: TableSink | undefined, elapsedMs: number, dryRun: boolean): string {
  const skipped = s.skipped.blank + s.skipped.control + s.skipped["not-stored"] + s.skipped.other + s.badLines;
  const rate = elapsedMs > 0 ? Math.round((s.lines * 1000) / elapsedMs) : 0;
  const w = sink?.writer.stats();
  const resumed = s.resumedAt ? `resumed at ${s.resumedAt.input}:${s.resumedAt.line}; ` : "";
  const before = s.badLinesBefore > 0 ? ` (+${s.badLinesBefore} in earlier runs)` : "";
  return (
    `${dryRun ? "dry run summary" : "summary"}: ${resumed}lines ${s.lines}, events ${s.events}, ` +
    (s.gaps > 0 ? `gap records ${s.gaps}, ` : "") +
    (s.snapshots > 0 ? `order book snapshots ${s.snapshots}${sink ? ` (${sink.store.uploader.snapshotItemsWritten} chunk items written)` : ""}, ` : "") +
    `skipped ${skipped} (bad ${s.badLines}${before}, control ${s.skipped.control}, not stored ${s.skipped["not-stored"]}, ` +
    `blank ${s.skipped.blank}, other ${s.skipped.other}), ` +
    (dryRun ? `written 0 (dry run)` : `written ${w ? dataStats(w).written - (sink?.store.uploader.snapshotItemsWritten ?? 0) : 0}, coverage items ${w?.coverageWritten ?? 0}, retried requests ${w?.retryRequests ?? 0}`) +
    (sink && !dryRun ? `, ${sink.layout} layout, write units ${writeUnitsText(sink.meter.stats())}` : "") +
    `, elapsed ${(elapsedMs / 1000).toFixed(1)} s, ${rate} lines/s`
  );
}

/** Billed write units; items of requests that got no answer are named apart (maybe written, maybe not). */
function writeUnitsText(m: WriteMeterStats): string {
  return `${m.writeUnits} (${m.itemWrites} item writes${m.unknownItems > 0 ? `, ${m.unknownItems} more without an answer` : ""})`;
}

/** The writer's figures with "written" as the summaries count it: events and gap records, not coverage items. */
function dataStats(w: BatchWriterStats): BatchWriterStats {
  return { ...w, written: w.written - w.coverageWritten };
}

/** Removes or saves the checkpoint, and turns the way the run ended into the exit code. */
function finish(s: ReplaySummary, sink: TableSink | undefined): void {
  const checkpoint = sink?.checkpoint;
  if (s.end === "complete") checkpoint?.remove();
  else sink?.saveCheckpoint();
  const resumeHint = checkpoint ? `; checkpoint saved in ${checkpoint.path}: run the same command with --resume to continue` : "";
  if (s.end === "strict") {
    const where = s.strictStop!;
    throw obcapError(
      "E_BAD_LINES",
      `${where.where}: ${where.reason} (--strict stops at the first bad line; every line before it is ${sink ? "stored" : "valid"})${resumeHint}`,
    );
  }
  if (s.end === "stopped") {
    throw obcapError("E_INTERRUPTED", `replay stopped by a signal after ${s.lines} lines; what was read is stored${resumeHint}`);
  }
  const bad = s.badLines + s.badLinesBefore;
  const refused = sink?.writer.stats().refusedItems ?? 0;
  if (bad > 0 || refused > 0) {
    throw obcapError(
      "E_BAD_LINES",
      `${bad} bad line${bad === 1 ? "" : "s"} skipped (reported above as file:line)` +
        (refused > 0 ? ` and ${refused} item${refused === 1 ? "" : "s"} DynamoDB refused (reported above by key)` : "") +
        `; every other line was ${sink ? "stored" : "valid"}`,
    );
  }
}
