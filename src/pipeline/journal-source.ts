/**
 * The upload stage's source when there is a journal: its segments, read from the checkpoint (old
 * segments of an earlier run first, then the live one as it grows). It owns what only a journal has:
 * the checkpoint, retention of acknowledged segments, the backlog figure, and the quarantine for
 * lines that cannot be stored (the checkpoint moves over them). Web standards + `node:fs`.
 */
import { describeError, obcapError } from "../base/errors.ts";
import { readCheckpoint, writeCheckpoint, type JournalPosition } from "../journal/checkpoint.ts";
import { MAX_OWN_LINE_BYTES, parseRecordedLine, startsLikeOwnLine, type RecordedLine } from "../journal/journal-line.ts";
import { SIGNAL_ROTATIONS, SIGNAL_WRITES, type JournalSettings } from "../journal/journal-protocol.ts";
import { Quarantine } from "../journal/quarantine.ts";
import { deleteAcknowledgedSegments } from "../journal/retention.ts";
import { SegmentTail } from "../journal/segment-tail.ts";
import type { SourceEntry, UploadSource } from "./upload-source.ts";

/**
 * A line longer than this cannot become an item: DynamoDB's item limit is 400 KB, and an item is
 * about as long as its frame. Such a frame is quarantined as E_FRAME_OVERSIZE.
 */
export const MAX_STORED_LINE_BYTES = 350 * 1024;
// obcap's own lines (`{"rx":…,"obcap":…}`, which no network frame can take) may be longer, up to
// MAX_OWN_LINE_BYTES: an order book snapshot record is MiBs, and becomes chunk items of 256 KiB
// (store/dynamodb/snapshot-item.ts).
/** Retention runs this often (and once at start-up). */
const RETENTION_EVERY_MS = 60_000;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

export class JournalSource implements UploadSource<JournalPosition> {
  readonly name: string;
  private readonly signal: Int32Array;
  private readonly quarantine: Quarantine;
  private readonly tail: SegmentTail;
  private readonly resumeAt: JournalPosition | undefined;
  private readonly note: string | undefined;
  private checkpoint: JournalPosition | undefined;
  private lastCheckpointMs = Date.now();
  private lastRetentionMs = Date.now();
  private waitingFor: { value: number; promise: Promise<unknown> } | undefined;
  /** The writes counter as it was before the last read: a write after it wakes the next wait. */
  private writesSeen = 0;
  private backlog = { bytes: 0, segments: 0 };
  deletedSegments = 0;
  quarantined = 0;

  constructor(
    signal: SharedArrayBuffer,
    private readonly journal: JournalSettings,
    private readonly table: string,
    private readonly checkpointEveryMs: number,
    private readonly onNote: (message: string) => void,
  ) {
    this.name = `the journal ${journal.dir}`;
    this.signal = new Int32Array(signal);
    this.quarantine = new Quarantine(journal.dir);
    const read = readCheckpoint(journal.dir);
    this.resumeAt = read.kind === "ok" ? { segment: read.checkpoint.segment, offset: read.checkpoint.offset } : undefined;
    this.note = read.kind === "invalid" ? `${read.reason}; reading the journal from its oldest segment (re-uploading overwrites the same items)` : undefined;
    this.checkpoint = this.resumeAt;
    this.tail = new SegmentTail({ dir: journal.dir, start: this.resumeAt, onNote });
    this.retention();
    this.refreshBacklog();
  }

  opening(): { resumeAt: JournalPosition | undefined; note: string | undefined } {
    return { resumeAt: this.resumeAt, note: this.note };
  }

  read(max: number, final: boolean, take: (entry: SourceEntry, position: JournalPosition) => void): number {
    this.writesSeen = Atomics.load(this.signal, SIGNAL_WRITES);
    const hints = { rotations: Atomics.load(this.signal, SIGNAL_ROTATIONS), final };
    return this.tail.read(
      max,
      hints,
      (line, end) => take(entryOfLine(line), end),
      (rest, end) => take({ bad: { code: "E_JOURNAL_LINE", reason: `unterminated line at the end of journal segment ${end.segment} (cut by a crash or power failure)` }, raw: rest }, end),
    );
  }

  isDone(): boolean {
    return this.tail.isDone();
  }

  /** Resolves when the journal stage writes again (it bumps and notifies the writes counter). */
  waitForData(): Promise<unknown> | undefined {
    const writesSeen = this.writesSeen;
    if (this.waitingFor?.value !== writesSeen) {
      const wait = Atomics.waitAsync(this.signal, SIGNAL_WRITES, writesSeen);
      if (!wait.async) return undefined; // written meanwhile
      this.waitingFor = { value: writesSeen, promise: wait.value };
    }
    return this.waitingFor.promise;
  }

  keep(code: string, reason: string, raw: Uint8Array, position: JournalPosition, rxMicros?: number): void {
    try {
      this.quarantine.add({ code, reason, rxMicros, segment: position.segment, offset: position.offset, content: raw });
    } catch (err) {
      throw obcapError("E_JOURNAL_IO", `cannot write the quarantine in ${this.journal.dir} (${describeError(err)}): free disk space`, err);
    }
    this.quarantined++;
  }

  keepItem(reason: string, item: string, key: string): void {
    try {
      this.quarantine.add({ code: "E_FRAME_UNSTORABLE", reason: `DynamoDB refused the item: ${reason}`, content: item, isItem: true });
      this.quarantined++;
    } catch (err) {
      this.onNote(`cannot write the quarantine in ${this.journal.dir} (${describeError(err)}); the refused item ${key} is only in the journal`);
    }
  }

  /** Checkpoint (when due and moved), retention, backlog. */
  housekeeping(acknowledged: JournalPosition | undefined, nowMs: number): void {
    if (nowMs - this.lastCheckpointMs >= this.checkpointEveryMs) {
      this.lastCheckpointMs = nowMs;
      this.saveCheckpoint(acknowledged);
    }
    if (nowMs - this.lastRetentionMs >= RETENTION_EVERY_MS) {
      this.lastRetentionMs = nowMs;
      this.retention();
    }
    this.refreshBacklog();
  }

  /** The last checkpoint and backlog; the tail is closed. */
  end(acknowledged: JournalPosition | undefined, closeTail: boolean): void {
    this.saveCheckpoint(acknowledged);
    this.refreshBacklog();
    this.quarantine.close();
    if (closeTail) this.tail.close();
  }

  figures(): { backlogBytes: number; backlogSegments: number; checkpoint: JournalPosition | undefined } {
    return { backlogBytes: this.backlog.bytes, backlogSegments: this.backlog.segments, checkpoint: this.checkpoint };
  }

  /** Writes the acknowledged position if it moved. Never throws: a stale checkpoint only costs re-uploads. */
  private saveCheckpoint(acknowledged: JournalPosition | undefined): void {
    if (acknowledged === undefined || acknowledged === this.checkpoint) return;
    try {
      writeCheckpoint(this.journal.dir, acknowledged, this.table);
      this.checkpoint = acknowledged;
    } catch (err) {
      this.onNote(`cannot write the journal checkpoint in ${this.journal.dir} (${describeError(err)}); will retry`);
    }
  }

  private retention(): void {
    if (this.checkpoint === undefined) return;
    try {
      const { deleted } = deleteAcknowledgedSegments(this.journal.dir, this.checkpoint, this.journal.keepMs);
      this.deletedSegments += deleted.length;
    } catch (err) {
      this.onNote(`cannot delete old journal segments in ${this.journal.dir}: ${describeError(err)}`);
    }
  }

  private refreshBacklog(): void {
    this.backlog = this.tail.backlogBytes();
  }
}

/** A journal line as the ingest step reads it, or why it cannot be read. */
function entryOfLine(line: Uint8Array): SourceEntry {
  if (line.length > MAX_STORED_LINE_BYTES && (line.length > MAX_OWN_LINE_BYTES || !startsLikeOwnLine(line))) {
    const own = startsLikeOwnLine(line);
    return {
      bad: {
        code: "E_FRAME_OVERSIZE",
        reason: own
          ? `journal line of obcap's own record of ${line.length} bytes: longer than the ${MAX_OWN_LINE_BYTES} bytes such a record may have`
          : `journal line of ${line.length} bytes: larger than a DynamoDB item can hold (400 KB)`,
      },
      raw: line,
    };
  }
  let text: string;
  try {
    text = STRICT_UTF8.decode(line);
  } catch {
    return { bad: { code: "E_JOURNAL_LINE", reason: "journal line is not valid UTF-8 (a damaged segment?)" }, raw: line };
  }
  const recorded: RecordedLine = parseRecordedLine(text);
  if (recorded.kind === "frame") {
    return { bad: { code: "E_JOURNAL_LINE", reason: "a line without a receive time: obcap's journal does not write these" }, raw: line };
  }
  return { recorded, raw: line, text };
}
