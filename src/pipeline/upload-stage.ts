/**
 * The upload stage of the pipeline Worker: reads frames from its source (the journal's segments, or
 * with --no-journal the ring), turns each into items (ingest.ts), writes them to DynamoDB through
 * ItemUploader, and tells the source what DynamoDB acknowledged (the journal moves its checkpoint).
 * Web standards + `node:fs` + the AWS SDK; src/pipeline/pipeline-host.ts runs it.
 *
 * It reads only as fast as DynamoDB acknowledges (ItemUploader.pump waits while `maxInFlight`
 * batches are out), so during an outage or long throttling memory stays flat: the backlog stays on
 * disk (journal) or fills the ring, whose full-queue policy then applies (--no-journal). The
 * BatchWriter retries forever with backoff. Records that cannot be stored are counted, logged
 * (sampled) and, with a journal, kept in the quarantine; the upload goes on.
 */
import { nextMacrotask } from "../base/next-macrotask.ts";
import { describeError, isObcapError, obcapError } from "../base/errors.ts";
import { backoffDelayMs } from "../base/backoff.ts";
import type { JournalPosition } from "../journal/checkpoint.ts";
import { BatchWriter, type BatchWriterOptions, type ItemWriter } from "../store/dynamodb/batch-writer.ts";
import type { TableLayout, TableMetadata } from "../store/dynamodb/table-metadata.ts";
import { writerForLayout } from "../store/packed/packing-writer.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { isGapItem } from "../store/dynamodb/gap-item.ts";
import { describeItemKey } from "../store/dynamodb/item-identity.ts";
import { openCaptureTable } from "../store/dynamodb/table.ts";
import { IngestCounter, ingestRecorded, type Ingested } from "./ingest.ts";
import { JournalSource } from "./journal-source.ts";
import { copyWriteStats, emptyPipelineStats } from "./pipeline-stats.ts";
import { RingSource } from "./ring-source.ts";
import { StoredItems } from "./stored-item.ts";
import { buildSnapshotRecord } from "../model/order-book-snapshot.ts";
import type { UploaderControl, UploaderInit, UploaderMessage, UploaderStats } from "./upload-protocol.ts";
import type { SourceEntry, UploadSource } from "./upload-source.ts";
import { ItemUploader } from "./uploader.ts";
import { BookSelfCheck } from "./book-self-check.ts";

/** Records read between two awaits of the DynamoDB side (keeps the batches in flight fed). */
const RECORDS_PER_STEP = 250;
/** A loop that always has records yields to the event loop this often (the journal stage shares the thread). */
const YIELD_EVERY_MS = 20;
/** Warn when DynamoDB has acknowledged nothing for this long while items wait, then this often. */
const STALL_WARN_MS = 30_000;

const NO_ITEMS: readonly never[] = [];
const LENIENT_UTF8 = new TextDecoder();

/**
 * What the stage writes to, for tests: each one left out is DynamoDB through the AWS SDK (one client
 * for both, built on first use from the target's endpoint and region).
 */
export interface UploadStageDeps {
  /** The table check (openCaptureTable): its shard count; throws ObcapError (E_DDB_UNREACHABLE while DynamoDB does not answer). */
  openTable?: (table: string) => Promise<{ shards: number; metadata?: Pick<TableMetadata, "layout" | "packMs"> }>;
  /** The batch writer (a BatchWriter on the client); must keep BatchWriter's contract. */
  createBatchWriter?: (options: Omit<BatchWriterOptions, "client">) => BatchWriter;
}

/** One run of the upload stage; `control()` takes the main thread's finish/abort. */
export class UploadStage {
  /** When the read loop last had nothing to read (performance.now()), and whether it is waiting for more now. */
  private lastCaughtUpMs = Number.NEGATIVE_INFINITY;
  private waitingForData = false;

  private readonly stats: UploaderStats = {
    ...emptyPipelineStats(), quarantined: 0, backlogBytes: 0, backlogSegments: 0, deletedSegments: 0, checkpoint: undefined,
  };
  private readonly counter: IngestCounter;
  /** Each pair's book from the stored events, against every fresh snapshot (book-self-check.ts). */
  private readonly selfCheck = new BookSelfCheck();
  private source: UploadSource<JournalPosition | number> | undefined;
  private finishing = false;
  private aborted = false;
  private ended = false;
  private wake: () => void = () => {};
  private uploader: ItemUploader<JournalPosition | number> | undefined;
  private writer: ItemWriter | undefined;
  private lastRetry = "";
  private readonly every = { ackChange: Date.now(), stallWarn: 0, lastAck: undefined as unknown };

  constructor(private readonly init: UploaderInit, private readonly post: (message: UploaderMessage) => void, private readonly deps: UploadStageDeps = {}) {
    this.counter = new IngestCounter(this.stats, {
      rejected: (code, message, count) => post({ type: "rejected", code, message, count }),
      unknownKind: (kind, sample) => post({ type: "unknown-kind", kind, sample }),
    });
  }

  /**
   * finish: upload to the end of the source. abort: checkpoint now and report done at once. snapshot
   * (--no-journal --table): store it as an own record of the ring.
   */
  control(message: UploaderControl): void {
    if (message.type === "snapshot") {
      this.takeSnapshot(message.snapshot);
      return;
    }
    if (message.type === "finish") {
      this.finishing = true;
      if (this.source instanceof RingSource) this.source.finish(message.leftovers ?? []);
    }
    if (message.type === "abort" && !this.ended) {
      this.aborted = true;
      this.end(false);
    }
    this.wake();
  }

  async run(): Promise<void> {
    const { target, source: from } = this.init;
    let client: ReturnType<typeof createDynamoClient> | undefined;
    const dynamo = () => (client ??= createDynamoClient({ endpoint: target.endpoint, region: target.region, maxSockets: Math.max(50, target.inFlight.max) }));
    const openTable = this.deps.openTable ?? ((table: string) => openCaptureTable({ client: dynamo(), table }));
    const createBatchWriter = this.deps.createBatchWriter ?? ((options: Omit<BatchWriterOptions, "client">) => new BatchWriter({ ...options, client: dynamo() }));
    try {
      let opening: { resumeAt: JournalPosition | undefined; note: string | undefined } = { resumeAt: undefined, note: undefined };
      if (from.kind === "journal") {
        const source = new JournalSource(from.signal, from.journal, target.table, this.init.checkpointEveryMs, (message) => this.post({ type: "note", message }));
        opening = source.opening();
        this.source = source;
      } else {
        this.source = new RingSource(from.ring, from.channels);
      }
      // The table is checked before ready: a missing table, bad credentials or (without a journal)
      // an unreachable DynamoDB stop the capture before it subscribes. With a journal, a DynamoDB that
      // does not answer yet does not: frames are kept on disk and uploaded once it answers.
      let opened: OpenedTable | undefined = target.shards === undefined ? undefined : { shards: target.shards, layout: "event" };
      if (opened === undefined) {
        try {
          opened = openedTable(await openTable(target.table));
          this.post({ type: "table", table: target.table, shards: opened.shards, layout: opened.layout, ...(opened.packMs ? { packMs: opened.packMs } : {}) });
        } catch (err) {
          if (from.kind !== "journal" || !isObcapError(err) || err.code !== "E_DDB_UNREACHABLE") throw err;
          this.post({ type: "note", message: `${err.message}; capturing into the journal ${from.journal.dir} meanwhile, the upload starts when DynamoDB answers` });
        }
      }
      this.post({ type: "ready", resumeAt: opening.resumeAt, stats: this.snapshot(), ...(opening.note ? { note: opening.note } : {}) });
      opened ??= await this.openTableWhenReachable(openTable);
      if (this.aborted) return;
      const { shards } = opened;
      const source = this.source;
      const batchWriter = createBatchWriter({
        table: target.table,
        concurrency: target.inFlight,
        onConcurrency: (change) => this.post({ type: "concurrency", message: `write concurrency ${change.from} -> ${change.to}: ${change.reason}` }),
        onRetry: (info) => {
          this.lastRetry = info.reason;
          this.post({ type: "retry", message: `retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}` });
        },
        // Beyond the documented limits checked before (item-limits.ts): the item is kept, the upload goes on.
        onRefused: (item, reason) => {
          const key = describeItemKey(item);
          this.counter.reject("E_FRAME_UNSTORABLE", `DynamoDB refused the item ${key}: ${reason}${source.keepItem ? "; quarantined" : ""}`);
          source.keepItem?.(reason, JSON.stringify(item), key);
        },
      });
      this.writer = writerForLayout(batchWriter, { name: target.table, ...opened }, {
        client: dynamo(),
        maxWindowsInFlight: target.inFlight.initial,
        onRetry: (message) => {
          this.lastRetry = message;
          this.post({ type: "retry", message });
        },
        onRefused: (item, reason) => {
          const key = describeItemKey(item);
          this.counter.reject("E_FRAME_UNSTORABLE", `the item ${key} cannot be packed: ${reason}${source.keepItem ? "; quarantined" : ""}`);
          source.keepItem?.(reason, JSON.stringify(item), key);
        },
      });
      const uploader = (this.uploader = new ItemUploader<JournalPosition | number>(this.writer));
      const stored = new StoredItems(shards);
      // Reports, checkpoints and retention run on their own timer: while DynamoDB is down the loop
      // below waits inside pump(), and the log must still show the backlog growing.
      const housekeeping = setInterval(() => this.housekeeping(uploader), this.init.progressEveryMs);
      try {
        await this.readLoop(source, uploader, stored);
      } finally {
        clearInterval(housekeeping);
      }
      if (this.aborted) return;
      await uploader.finish();
      this.end(source.isDone());
    } catch (err) {
      if (this.ended) return;
      this.ended = true;
      const error = isObcapError(err) ? err : obcapError("E_WORKER_FAILED", `the upload failed: ${describeError(err)}`, err);
      this.source?.end(this.uploader?.acknowledged(), true);
      this.post({ type: "fatal", code: error.code, message: error.message, stats: this.snapshot() });
    }
  }

  /** True when the read loop had nothing left to read within the last `withinMs`: not catching up on a backlog. */
  caughtUpWithin(withinMs: number): boolean {
    return this.waitingForData || performance.now() - this.lastCaughtUpMs <= withinMs;
  }

  private async readLoop(source: UploadSource<JournalPosition | number>, uploader: ItemUploader<JournalPosition | number>, stored: StoredItems): Promise<void> {
    const take = (entry: SourceEntry, position: JournalPosition | number) => this.take(entry, position, source, uploader, stored);
    let lastYieldMs = performance.now();
    while (!this.aborted) {
      const final = this.finishing;
      const taken = source.read(RECORDS_PER_STEP, final, take);
      await uploader.pump();
      if (taken > 0) {
        const now = performance.now();
        if (now - lastYieldMs >= YIELD_EVERY_MS) {
          lastYieldMs = now;
          await nextMacrotask();
        }
        continue;
      }
      if (source.isDone()) return;
      await uploader.lingerFlush(Date.now(), this.init.lingerMs);
      // A finish that came while this loop was busy: read once more as final before sleeping.
      if (this.finishing !== final) continue;
      // Sleep until the source has more, a control message, the open batch's linger deadline or the next report.
      const more = source.waitForData();
      if (more === undefined) continue; // more arrived meanwhile
      const wakeMs = uploader.hasOpenBatch() ? Math.max(1, this.init.lingerMs) : 1000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.waitingForData = true;
      await Promise.race([
        more,
        new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, wakeMs);
        }),
      ]);
      this.waitingForData = false;
      clearTimeout(timer);
      this.wake = () => {};
      lastYieldMs = this.lastCaughtUpMs = performance.now();
    }
  }

  /**
   * One record: ingest (decode, items), then to the uploader at its position. A record that cannot
   * be stored is counted and kept where the source can keep it; its position still moves on.
   */
  private take(entry: SourceEntry, position: JournalPosition | number, source: UploadSource<JournalPosition | number>, uploader: ItemUploader<JournalPosition | number>, stored: StoredItems): void {
    const own = entry.recorded?.kind === "own";
    if (!own) this.stats.frames++;
    const ingested: Ingested = entry.recorded ? ingestRecorded(entry.recorded, stored) : { kind: "bad", ...entry.bad };
    if (ingested.kind === "bad") {
      // Damaged journal lines are the disk's problem, not the feed's: kept but not counted as rejected frames.
      const where = typeof position === "number" ? "" : ` (${position.segment} byte ${position.offset})`;
      if (ingested.code !== "E_JOURNAL_LINE") this.counter.reject(ingested.code, `${ingested.reason}${where}${source.keep ? "; quarantined" : ""}`);
      source.keep?.(ingested.code, ingested.reason, entry.raw, position, ingested.rxMicros);
    } else {
      const rxMicros = entry.recorded && "rxMicros" in entry.recorded ? entry.recorded.rxMicros : 0;
      this.counter.count(ingested, rxMicros, () => entry.text ?? LENIENT_UTF8.decode(entry.raw), own);
    }
    if (ingested.kind === "items") this.check(ingested);
    uploader.take(ingested.kind === "items" ? ingested.items : NO_ITEMS, position);
  }

  /** Feeds the self-check: order events, gaps (chain breaks too), snapshots (compared, counted, a difference reported). */
  private check(ingested: Extract<Ingested, { kind: "items" }>): void {
    const decoded = ingested.decoded;
    if (decoded.kind === "event") {
      const e = decoded.event;
      if (e.stream !== "orders") return;
      if (ingested.items.some(isGapItem)) this.selfCheck.onGap(e.pair);
      this.selfCheck.onEvent({ pair: e.pair, event: e.event, data: e.data, rxMicros: e.rxMicros });
    } else if (decoded.kind === "gap") {
      for (const gap of decoded.gaps) if (gap.stream === "orders") this.selfCheck.onGap(gap.pair);
    } else {
      const outcome = this.selfCheck.onSnapshot(decoded.snapshot.pair, decoded.snapshot.book, decoded.snapshot.rxMicros);
      const figures = ((this.stats.bookChecks ??= {})[outcome.pair] ??= { anchored: 0, checked: 0, differing: 0, differences: 0, late: 0 });
      if (outcome.kind === "anchored") figures.anchored++;
      else if (outcome.kind === "late") figures.late++;
      else {
        figures.checked++;
        if (outcome.differences > 0) {
          figures.differing++;
          figures.differences += outcome.differences;
          const ids = (label: string, list: string[]) => (list.length > 0 ? `, ${label} ${list.join(" ")}` : "");
          this.post({
            type: "note",
            message:
              `book self-check of ${outcome.pair}: the snapshot of ${new Date(outcome.snapshotMicros / 1000).toISOString()} differs from the book kept from the stored events ` +
              `by ${outcome.differences} orders${ids("missing from the book", outcome.missing)}${ids("extra in the book", outcome.extra)}${ids("different", outcome.different)} ` +
              `(events missed? the book starts again from this snapshot)`,
          });
        }
      }
    }
  }

  /** A snapshot that came in a message: into the ring source as an own record (see RingSource.addOwn). */
  private takeSnapshot(snapshot: Extract<UploaderControl, { type: "snapshot" }>["snapshot"]): void {
    const source = this.source;
    const report = { id: snapshot.id, pair: snapshot.pair, bodyBytes: snapshot.body.length };
    if (!(source instanceof RingSource) || this.ended) {
      this.post({ type: "snapshot", report: { ...report, outcome: "dropped", reason: this.ended ? "the upload had already ended" : "this upload stage reads the journal" } });
      return;
    }
    try {
      const built = buildSnapshotRecord(snapshot);
      source.addOwn(built.record, Math.trunc(snapshot.receivedMicros));
      this.post({ type: "snapshot", report: { ...report, outcome: "queued", form: built.form, ...(built.bids === undefined ? {} : { bids: built.bids, asks: built.asks }) } });
    } catch (err) {
      this.post({ type: "snapshot", report: { ...report, outcome: "dropped", reason: describeError(err) } });
    }
    this.wake();
  }

  private housekeeping(uploader: ItemUploader<JournalPosition | number>): void {
    if (this.ended) return;
    const now = Date.now();
    const every = this.every;
    const ack = uploader.acknowledged();
    if (ack !== every.lastAck) {
      every.lastAck = ack;
      every.ackChange = now;
    }
    this.source?.housekeeping(ack, now);
    this.post({ type: "progress", stats: this.snapshot() });
    const inFlight = this.writer?.stats().inFlight ?? 0;
    if (inFlight > 0 && now - every.ackChange >= STALL_WARN_MS && now - every.stallWarn >= 2 * STALL_WARN_MS) {
      every.stallWarn = now;
      const waiting = this.init.source.kind === "journal"
        ? `capture goes on into the journal, ${(this.stats.backlogBytes / 1048576).toFixed(1)} MiB wait to be uploaded`
        : "without a journal the queue fills, then frames are lost (counted, with gap records)";
      this.post({
        type: "note",
        message: `DynamoDB has acknowledged nothing for ${Math.round((now - every.ackChange) / 1000)} s (last retry: ${this.lastRetry || "none yet"}); ${waiting}`,
      });
    }
  }

  /** Start-up without DynamoDB: reads the table's shard count, retrying while it does not answer. */
  private async openTableWhenReachable(openTable: NonNullable<UploadStageDeps["openTable"]>): Promise<OpenedTable> {
    const table = this.init.target.table;
    for (let attempt = 0; ; attempt++) {
      try {
        return openedTable(await openTable(table));
      } catch (err) {
        if (!isObcapError(err) || err.code !== "E_DDB_UNREACHABLE") throw err;
        const delayMs = backoffDelayMs(attempt, { baseMs: 500, maxMs: 5_000 });
        this.post({ type: "retry", message: `table check of ${table}, retry ${attempt + 1} in ${delayMs} ms: ${err.message}` });
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, delayMs);
        });
        if (this.aborted) throw err;
      }
    }
  }

  private end(complete: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.source?.end(this.uploader?.acknowledged(), true);
    this.post({ type: "done", stats: this.snapshot(), complete });
  }

  private snapshot(): UploaderStats {
    const s = this.stats;
    if (this.writer) {
      copyWriteStats(s, this.writer.stats(), this.uploader?.duplicatesDropped ?? 0);
      // Snapshot chunks are counted on their own, like coverage items ("written" = events and gap records).
      const chunks = this.uploader?.snapshotItemsWritten ?? 0;
      s.written -= chunks;
      s.snapshotItemsWritten = chunks;
    }
    const source = this.source;
    if (source instanceof JournalSource) {
      const { backlogBytes, backlogSegments, checkpoint } = source.figures();
      s.backlogBytes = backlogBytes;
      s.backlogSegments = backlogSegments;
      s.checkpoint = checkpoint;
      s.deletedSegments = source.deletedSegments;
      s.quarantined = source.quarantined;
    } else if (source instanceof RingSource) {
      s.settledFrames = (this.uploader?.acknowledged() as number | undefined) ?? 0;
    }
    return { ...s, rejected: { ...s.rejected }, unknown: { ...s.unknown } };
  }
}

/** What the upload needs of the table's metadata item. */
interface OpenedTable {
  shards: number;
  layout: TableLayout;
  packMs?: number;
}

function openedTable(opened: { shards: number; metadata?: Pick<TableMetadata, "layout" | "packMs"> }): OpenedTable {
  const layout = opened.metadata?.layout ?? "event";
  return { shards: opened.shards, layout, ...(layout === "packed" ? { packMs: opened.metadata!.packMs! } : {}) };
}
