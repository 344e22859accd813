/**
 * The uploader Worker's job: reads the journal from the checkpoint (old segments of an earlier run
 * first, then the live one as it grows), decodes each line, writes the items to DynamoDB through
 * ItemUploader, and moves the checkpoint over what DynamoDB acknowledged. Web standards + `node:fs`
 * + the AWS SDK; the Worker entry (`src/cli/uploader.worker.ts`) wires messages.
 *
 * It reads only as fast as DynamoDB acknowledges (ItemUploader.pump waits while `maxInFlight`
 * batches are out), so during an outage or long throttling memory stays flat and the backlog stays on
 * disk; the BatchWriter retries forever with backoff, and the journal Worker keeps appending. Lines
 * that cannot be stored go to the quarantine (quarantine.ts) and the checkpoint moves over them.
 */
import { describeError, isObcapError, obcapError } from "../base/errors.ts";
import { decodeFrame, decodeOwnRecord, type DecodeResult } from "../exchange/bitstamp/decode.ts";
import type { Item } from "./batcher.ts";
import { ItemUploader } from "./uploader.ts";
import { StoredItems } from "./stored-item.ts";
import { copyWriteStats, countChannelFrame, emptyWriterStats } from "./writer-protocol.ts";
import {
  SIGNAL_ROTATIONS, SIGNAL_WRITES, type UploaderControl, type UploaderInit, type UploaderMessage, type UploaderStats,
} from "./journal-protocol.ts";
import { parseRecordedLine } from "../journal/journal-line.ts";
import { readCheckpoint, writeCheckpoint, type JournalPosition } from "../journal/checkpoint.ts";
import { SegmentTail } from "../journal/segment-tail.ts";
import { Quarantine } from "../journal/quarantine.ts";
import { deleteAcknowledgedSegments } from "../journal/retention.ts";
import { BatchWriter } from "../store/dynamodb/batch-writer.ts";
import { describeItemKey } from "../store/dynamodb/item-identity.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { openCaptureTable } from "../store/dynamodb/table.ts";
import { backoffDelayMs } from "../base/backoff.ts";

/** Lines read between two awaits of the DynamoDB side (keeps the batches in flight fed). */
const LINES_PER_STEP = 250;
/**
 * A line longer than this cannot become an item: DynamoDB's item limit is 400 KB, and an item is
 * about as long as its frame. Such a frame is quarantined as E_FRAME_OVERSIZE.
 */
export const MAX_STORED_LINE_BYTES = 350 * 1024;
const REJECT_REPORT_FIRST = 5;
const REJECT_REPORT_EVERY = 1000;
/** Retention runs this often (and once at start-up). */
const RETENTION_EVERY_MS = 60_000;
/** Warn when DynamoDB has acknowledged nothing for this long while items wait, then this often. */
const STALL_WARN_MS = 30_000;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const NO_ITEMS: readonly never[] = [];

/** What one journal line comes to. */
type LineVerdict =
  | { kind: "items"; items: readonly Item[] }
  | { kind: "quarantine"; code: string; reason: string; rxMicros?: number };
const NOTHING: LineVerdict = { kind: "items", items: NO_ITEMS };

/** One run of the uploader; `control()` takes the main thread's finish/abort. */
export class JournalUploaderRun {
  private readonly stats: UploaderStats = {
    ...emptyWriterStats(), quarantined: 0, backlogBytes: 0, backlogSegments: 0, deletedSegments: 0, checkpoint: undefined,
  };
  private readonly signal: Int32Array;
  private readonly quarantine: Quarantine;
  private finishing = false;
  private aborted = false;
  private ended = false;
  private wake: () => void = () => {};
  private uploader: ItemUploader<JournalPosition> | undefined;
  private writer: BatchWriter | undefined;
  private tail: SegmentTail | undefined;
  private lastRetry = "";

  constructor(private readonly init: UploaderInit, private readonly post: (message: UploaderMessage) => void) {
    this.signal = new Int32Array(init.signal);
    this.quarantine = new Quarantine(init.journal.dir);
  }

  /** finish: upload to the end of the journal. abort: checkpoint now and report done at once. */
  control(message: UploaderControl): void {
    if (message.type === "finish") this.finishing = true;
    if (message.type === "abort" && !this.ended) {
      this.aborted = true;
      this.end(false);
    }
    this.wake();
  }

  async run(): Promise<void> {
    const { target, journal } = this.init;
    const client = createDynamoClient({ endpoint: target.endpoint, region: target.region });
    try {
      const read = readCheckpoint(journal.dir);
      const resumeAt = read.kind === "ok" ? { segment: read.checkpoint.segment, offset: read.checkpoint.offset } : undefined;
      const note = read.kind === "invalid" ? `${read.reason}; reading the journal from its oldest segment (re-uploading overwrites the same items)` : undefined;
      this.stats.checkpoint = resumeAt;
      const tail = (this.tail = new SegmentTail({ dir: journal.dir, start: resumeAt, onNote: (message) => this.post({ type: "note", message }) }));
      this.retention();
      this.refreshBacklog();
      // Ready before the table check: when DynamoDB is down at start-up the capture must go on.
      this.post({ type: "ready", resumeAt, stats: this.snapshot(), ...(note ? { note } : {}) });
      const shards = target.shards ?? (await this.openTableWhenReachable(client));
      if (this.aborted) return;
      this.writer = new BatchWriter({
        client,
        table: target.table,
        maxInFlight: target.maxInFlight,
        onRetry: (info) => {
          this.lastRetry = info.reason;
          this.post({ type: "retry", message: `retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}` });
        },
        // Beyond the documented limits checked before (item-limits.ts): the item is kept, the upload goes on.
        onRefused: (item, reason) => {
          this.reject("E_FRAME_UNSTORABLE", `DynamoDB refused the item ${describeItemKey(item)}: ${reason}; quarantined`);
          try {
            this.quarantine.add({ code: "E_FRAME_UNSTORABLE", reason: `DynamoDB refused the item: ${reason}`, content: JSON.stringify(item), isItem: true });
            this.stats.quarantined++;
          } catch (err) {
            this.post({ type: "note", message: `cannot write the quarantine in ${this.init.journal.dir} (${describeError(err)}); the refused item ${describeItemKey(item)} is only in the journal` });
          }
        },
      });
      const uploader = (this.uploader = new ItemUploader<JournalPosition>(this.writer));
      await this.loop(tail, uploader, shards);
      if (this.aborted) return;
      await uploader.finish();
      this.end(tail.isDone());
    } catch (err) {
      if (this.ended) return;
      this.ended = true;
      const error = isObcapError(err) ? err : obcapError("E_WORKER_FAILED", `the uploader failed: ${describeError(err)}`, err);
      this.saveCheckpoint();
      this.post({ type: "fatal", code: error.code, message: error.message, stats: this.snapshot() });
    } finally {
      this.quarantine.close();
      if (this.ended) this.tail?.close();
    }
  }

  private async loop(tail: SegmentTail, uploader: ItemUploader<JournalPosition>, shards: number): Promise<void> {
    const stored = new StoredItems(shards);
    const onLine = (line: Uint8Array, end: JournalPosition) => this.takeLine(line, end, uploader, stored);
    const onTruncated = (rest: Uint8Array, end: JournalPosition) => {
      this.stats.frames++;
      this.toQuarantine("E_JOURNAL_LINE", `unterminated line at the end of journal segment ${end.segment} (cut by a crash or power failure)`, rest, end);
      uploader.take(NO_ITEMS, end);
    };
    // Reports, checkpoints and retention run on their own timer: while DynamoDB is down the loop
    // below waits inside pump(), and the log must still show the backlog growing.
    const housekeeping = setInterval(() => this.housekeeping(uploader), this.init.progressEveryMs);
    try {
      await this.readLoop(tail, uploader, onLine, onTruncated);
    } finally {
      clearInterval(housekeeping);
    }
  }

  private readonly every = { checkpoint: Date.now(), retention: Date.now(), ackChange: Date.now(), stallWarn: 0, lastAck: undefined as JournalPosition | undefined };

  private housekeeping(uploader: ItemUploader<JournalPosition>): void {
    if (this.ended) return;
    const now = Date.now();
    const every = this.every;
    const ack = uploader.acknowledged();
    if (ack !== every.lastAck) {
      every.lastAck = ack;
      every.ackChange = now;
    }
    if (now - every.checkpoint >= this.init.checkpointEveryMs) {
      every.checkpoint = now;
      this.saveCheckpoint();
    }
    if (now - every.retention >= RETENTION_EVERY_MS) {
      every.retention = now;
      this.retention();
    }
    this.refreshBacklog();
    this.post({ type: "progress", stats: this.snapshot() });
    const inFlight = this.writer?.stats().inFlight ?? 0;
    if (inFlight > 0 && now - every.ackChange >= STALL_WARN_MS && now - every.stallWarn >= 2 * STALL_WARN_MS) {
      every.stallWarn = now;
      this.post({
        type: "note",
        message: `DynamoDB has acknowledged nothing for ${Math.round((now - every.ackChange) / 1000)} s (last retry: ${this.lastRetry || "none yet"}); ` +
          `capture goes on into the journal, ${(this.stats.backlogBytes / 1048576).toFixed(1)} MiB wait to be uploaded`,
      });
    }
  }

  private async readLoop(
    tail: SegmentTail,
    uploader: ItemUploader<JournalPosition>,
    onLine: (line: Uint8Array, end: JournalPosition) => void,
    onTruncated: (rest: Uint8Array, end: JournalPosition) => void,
  ): Promise<void> {
    let waitingFor: { value: number; promise: Promise<unknown> } | undefined;
    while (!this.aborted) {
      const writesSeen = Atomics.load(this.signal, SIGNAL_WRITES);
      const hints = { rotations: Atomics.load(this.signal, SIGNAL_ROTATIONS), final: this.finishing };
      const lines = tail.read(LINES_PER_STEP, hints, onLine, onTruncated);
      await uploader.pump();
      if (lines > 0) continue;
      if (tail.isDone()) return;
      await uploader.lingerFlush(Date.now(), this.init.lingerMs);
      // Sleep until the journal is written again, a control message, the open batch's linger
      // deadline or the next report.
      if (waitingFor?.value !== writesSeen) {
        const wait = Atomics.waitAsync(this.signal, SIGNAL_WRITES, writesSeen);
        if (!wait.async) continue; // written meanwhile
        waitingFor = { value: writesSeen, promise: wait.value };
      }
      const wakeMs = uploader.hasOpenBatch() ? Math.max(1, this.init.lingerMs) : 1000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        waitingFor.promise,
        new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, wakeMs);
        }),
      ]);
      clearTimeout(timer);
      this.wake = () => {};
    }
  }

  /**
   * One journal line: decode, then items, a quarantine record, or nothing. Every step is guarded: a
   * line that makes any step throw is quarantined with the reason and the upload goes on, so one bad
   * frame never stops the capture nor makes every restart die on it again.
   */
  private takeLine(line: Uint8Array, end: JournalPosition, uploader: ItemUploader<JournalPosition>, stored: StoredItems): void {
    this.stats.frames++;
    let verdict: LineVerdict;
    try {
      verdict = this.judgeLine(line, end, stored);
    } catch (err) {
      verdict = { kind: "quarantine", code: "E_FRAME_UNSTORABLE", reason: `the line cannot be read (${describeError(err)})` };
    }
    if (verdict.kind === "quarantine") {
      // Damaged journal lines are the disk's problem, not the feed's: quarantined but not counted as rejected frames.
      if (verdict.code !== "E_JOURNAL_LINE") this.reject(verdict.code, `${verdict.reason} (${end.segment} byte ${end.offset}); quarantined`);
      this.toQuarantine(verdict.code, verdict.reason, line, end, verdict.rxMicros);
    }
    uploader.take(verdict.kind === "items" ? verdict.items : NO_ITEMS, end);
  }

  private judgeLine(line: Uint8Array, end: JournalPosition, stored: StoredItems): LineVerdict {
    if (line.length > MAX_STORED_LINE_BYTES) {
      return { kind: "quarantine", code: "E_FRAME_OVERSIZE", reason: `journal line of ${line.length} bytes: larger than a DynamoDB item can hold (400 KB)` };
    }
    let text: string;
    try {
      text = STRICT_UTF8.decode(line);
    } catch {
      return { kind: "quarantine", code: "E_JOURNAL_LINE", reason: "journal line is not valid UTF-8 (a damaged segment?)" };
    }
    const recorded = parseRecordedLine(text);
    let decoded: DecodeResult;
    switch (recorded.kind) {
      case "journal":
        decoded = decodeFrame(recorded.frame, recorded.rxMicros);
        break;
      case "binary":
        decoded = decodeFrame(recorded.bytes, recorded.rxMicros);
        break;
      case "own":
        decoded = decodeOwnRecord(recorded.record, recorded.rxMicros);
        break;
      case "blank":
        return NOTHING;
      default: {
        const reason = recorded.kind === "broken" ? recorded.reason : "a line without a receive time: obcap's journal does not write these";
        return { kind: "quarantine", code: "E_JOURNAL_LINE", reason };
      }
    }
    const rxMicros = recorded.rxMicros;
    countChannelFrame(this.stats, decoded, rxMicros); // per-channel metrics (src/metrics/capture-metrics.ts)
    switch (decoded.kind) {
      case "invalid":
        return { kind: "quarantine", code: decoded.code, reason: decoded.message, rxMicros };
      case "unknown": {
        const kind = recorded.kind === "own" ? decoded.event : `${decoded.event}@${decoded.channel.replace(/_[a-z0-9-]+$/, "")}`;
        const seen = this.stats.unknown[kind] ?? 0;
        this.stats.unknown[kind] = seen + 1;
        if (seen === 0) this.post({ type: "unknown-kind", kind, sample: text.slice(0, 200) });
        return NOTHING;
      }
      case "event":
        this.stats.events++;
        break;
    }
    const outcome = stored.take(decoded);
    if (outcome.kind === "unstorable") return { kind: "quarantine", code: "E_FRAME_UNSTORABLE", reason: outcome.reason, rxMicros };
    return { kind: "items", items: outcome.items };
  }

  private reject(code: string, message: string): void {
    const count = (this.stats.rejected[code] ?? 0) + 1;
    this.stats.rejected[code] = count;
    if (count <= REJECT_REPORT_FIRST || count % REJECT_REPORT_EVERY === 0) this.post({ type: "rejected", code, message, count });
  }

  private toQuarantine(code: string, reason: string, line: Uint8Array, end: JournalPosition, rxMicros?: number): void {
    try {
      this.quarantine.add({ code, reason, rxMicros, segment: end.segment, offset: end.offset, content: line });
    } catch (err) {
      throw obcapError("E_JOURNAL_IO", `cannot write the quarantine in ${this.init.journal.dir} (${describeError(err)}): free disk space`, err);
    }
    this.stats.quarantined++;
  }

  /** Start-up without DynamoDB: reads the table's shard count, retrying while it does not answer. */
  private async openTableWhenReachable(client: ReturnType<typeof createDynamoClient>): Promise<number> {
    const table = this.init.target.table;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await openCaptureTable({ client, table })).shards;
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

  /** Writes the acknowledged position if it moved. Never throws: a stale checkpoint only costs re-uploads. */
  private saveCheckpoint(): void {
    const ack = this.uploader?.acknowledged();
    if (ack === undefined || ack === this.stats.checkpoint) return;
    try {
      writeCheckpoint(this.init.journal.dir, ack, this.init.target.table);
      this.stats.checkpoint = ack;
    } catch (err) {
      this.post({ type: "note", message: `cannot write the journal checkpoint in ${this.init.journal.dir} (${describeError(err)}); will retry` });
    }
  }

  private retention(): void {
    const at = this.stats.checkpoint;
    if (at === undefined) return;
    try {
      const { deleted } = deleteAcknowledgedSegments(this.init.journal.dir, at, this.init.journal.keepMs);
      this.stats.deletedSegments += deleted.length;
    } catch (err) {
      this.post({ type: "note", message: `cannot delete old journal segments in ${this.init.journal.dir}: ${describeError(err)}` });
    }
  }

  private refreshBacklog(): void {
    if (!this.tail) return;
    const { bytes, segments } = this.tail.backlogBytes();
    this.stats.backlogBytes = bytes;
    this.stats.backlogSegments = segments;
  }

  private end(complete: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.saveCheckpoint();
    this.refreshBacklog();
    this.post({ type: "done", stats: this.snapshot(), complete });
  }

  private snapshot(): UploaderStats {
    const s = this.stats;
    if (this.writer) copyWriteStats(s, this.writer.stats(), this.uploader?.duplicatesDropped ?? 0);
    return { ...s, rejected: { ...s.rejected }, unknown: { ...s.unknown } };
  }
}
