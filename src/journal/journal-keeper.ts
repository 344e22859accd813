/**
 * Keeps the journal directory within its disk budget, from the journal stage: compresses closed
 * segments (a block at a time, between drains of the ring), applies the budget (disk-budget.ts), and
 * measures what the progress line and the metrics show (size, free space, hours left). Web standards
 * + `node:fs`.
 *
 * Deleting a segment truncates it before unlinking it, so its space is free at once even if the
 * uploader still has it open (it sees the segment shrink and moves on: segment-tail.ts).
 */
import { statfsSync, truncateSync } from "node:fs";
import { obcapError } from "../base/errors.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { segmentRxRange } from "./previous-run.ts";
import { budgetActions, bytesToFree, describeBytes, type BudgetAction, type FullPolicy } from "./disk-budget.ts";
import { SegmentCompressor } from "./segment-compressor.ts";
import { segmentDiskBytes } from "./segment-sizes.ts";
import { COMPRESSED_SUFFIX, deleteSegment, listSegments, segmentFile, segmentPath, tidySegments } from "./segments.ts";

export interface KeeperSettings {
  /** `--journal-max`: bytes the segments may take on disk. */
  budgetBytes: number;
  /** `--journal-min-free`: free bytes to leave on the journal's filesystem. */
  minFreeBytes: number;
  /** `--journal-full`. */
  policy: FullPolicy;
  /** gzip level of closed segments, 1-9; 0 = keep them plain. */
  gzipLevel: number;
}

export interface KeeperStats {
  /** Bytes the segments take on disk. */
  journalBytes: number;
  budgetBytes: number;
  /** Free bytes on the journal's filesystem (for an unprivileged user). */
  freeBytes: number;
  minFreeBytes: number;
  /** Hours until the budget or the floor is reached at the recent rate; undefined while nothing grows. */
  hoursLeft?: number;
  compressedSegments: number;
  /** Lines' bytes and disk bytes of the segments compressed by this run. */
  compressedPlainBytes: number;
  compressedBytes: number;
  /** Segments deleted for the budget: acknowledged ones, and evicted ones (not in DynamoDB). */
  deletedSegments: number;
  evictedSegments: number;
}

export interface KeeperHooks {
  /** A gap record to journal (an eviction): written by the caller with a receive time no later than the next line. */
  appendGap(record: Omit<EvictedGap, "kind">): void;
  /** Something worth a warning (the budget at 80%, an eviction). */
  warn(message: string): void;
  /** Segments were deleted: readers should list the directory again. */
  segmentsDeleted(): void;
}

type EvictedGap = Extract<BudgetAction, { kind: "evict" }>;

/** How often the budget is checked (and after every rotation and compression). */
const CHECK_EVERY_MS = 2_000;
/** While the ring is busy, at most one compression block this often. */
const BUSY_STEP_EVERY_MS = 100;
/** The 80% warning is repeated this often while the journal stays above it. */
const WARN_AGAIN_MS = 10 * 60_000;
/** The growth rate is measured over this window. */
const RATE_WINDOW_MS = 60_000;

export class JournalKeeper {
  private readonly queue: string[] = [];
  private compressor: SegmentCompressor | undefined;
  private live = "";
  private lastCheckMs = Number.NEGATIVE_INFINITY;
  private lastStepMs = Number.NEGATIVE_INFINITY;
  private lastWarnMs = Number.NEGATIVE_INFINITY;
  private journalBytes = 0;
  private freeBytes = 0;
  private samples: Array<{ atMs: number; writtenBytes: number }> = [];
  private readonly counts = { compressedSegments: 0, compressedPlainBytes: 0, compressedBytes: 0, deletedSegments: 0, evictedSegments: 0 };

  constructor(
    private readonly dir: string,
    private readonly settings: KeeperSettings,
    private readonly hooks: KeeperHooks,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /**
   * Before the first segment of the run is opened: removes what a crash during a compression left,
   * and applies the budget (a restart onto a full disk frees space before it writes). Throws
   * E_JOURNAL_FULL when it cannot.
   */
  prepare(): void {
    tidySegments(this.dir);
    this.enforce(true);
  }

  /** The run's segment is open: every older plain segment is closed, so it may be compressed. */
  start(live: string): void {
    this.live = live;
    if (this.settings.gzipLevel > 0) {
      for (const name of listSegments(this.dir)) if (name !== live && !segmentFile(this.dir, name).compressed) this.queue.push(name);
    }
    this.check(this.nowMs());
  }

  onRotated(closed: string, opened: string): void {
    this.live = opened;
    if (this.settings.gzipLevel > 0) this.queue.push(closed);
    this.lastCheckMs = Number.NEGATIVE_INFINITY; // check at the next tick
  }

  /**
   * Work due at `nowMs`: a compression block (when the ring is idle, or at most every 100 ms while it is
   * busy) and the budget check. `writtenBytes`: the journal's bytes written so far (for the rate).
   * Throws E_JOURNAL_FULL when the capture must stop.
   */
  tick(nowMs: number, idle: boolean, writtenBytes: number): void {
    this.sample(nowMs, writtenBytes);
    if ((this.compressor || this.queue.length > 0) && (idle || nowMs - this.lastStepMs >= BUSY_STEP_EVERY_MS)) {
      this.lastStepMs = nowMs;
      this.compressStep();
    }
    if (nowMs - this.lastCheckMs >= CHECK_EVERY_MS) this.check(nowMs);
  }

  /** True while compression work waits (the Worker then does not sleep long). */
  hasWork(): boolean {
    return this.compressor !== undefined || this.queue.length > 0;
  }

  stats(): KeeperStats {
    const hoursLeft = this.hoursLeft();
    return {
      journalBytes: this.journalBytes,
      budgetBytes: this.settings.budgetBytes,
      freeBytes: this.freeBytes,
      minFreeBytes: this.settings.minFreeBytes,
      ...(hoursLeft === undefined ? {} : { hoursLeft }),
      ...this.counts,
    };
  }

  /** Stops a compression in progress (its temporary file is removed; the plain segment stays). */
  close(): void {
    this.compressor?.abort();
    this.compressor = undefined;
  }

  private compressStep(): void {
    if (!this.compressor) {
      const name = this.queue.shift();
      if (name === undefined) return;
      try {
        this.compressor = new SegmentCompressor(this.dir, name, this.settings.gzipLevel);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // deleted meanwhile (budget, retention)
        throw ioError(`cannot compress journal segment ${segmentPath(this.dir, name)}`, err);
      }
    }
    let done;
    try {
      done = this.compressor.step();
    } catch (err) {
      const name = this.compressor.name;
      this.compressor.abort();
      this.compressor = undefined;
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw ioError(`cannot compress journal segment ${segmentPath(this.dir, name)}`, err);
    }
    if (done) {
      this.compressor = undefined;
      this.counts.compressedSegments++;
      this.counts.compressedPlainBytes += done.plainBytes;
      this.counts.compressedBytes += done.compressedBytes;
    }
  }

  private check(nowMs: number): void {
    this.lastCheckMs = nowMs;
    this.enforce(false);
    const used = this.journalBytes / Math.max(1, this.settings.budgetBytes);
    if (used >= 0.8 && nowMs - this.lastWarnMs >= WARN_AGAIN_MS) {
      this.lastWarnMs = nowMs;
      const left = this.hoursLeft();
      this.hooks.warn(
        `the journal ${this.dir} uses ${describeBytes(this.journalBytes)} of its ${describeBytes(this.settings.budgetBytes)} budget (${Math.round(used * 100)}%)` +
          (left === undefined ? "" : `, about ${left.toFixed(1)} h left at the current rate`) +
          `; when full: ${this.settings.policy === "stop" ? "the capture stops (--journal-full stop)" : "the oldest segments not yet in DynamoDB are dropped, with a gap record (--journal-full drop-oldest)"}`,
      );
    }
  }

  /** Measures and applies the budget; at `prepare`, no segment of this run exists yet. */
  private enforce(atStart: boolean): void {
    const names = listSegments(this.dir);
    const checkpoint = readCheckpoint(this.dir);
    const ackedBefore = checkpoint.kind === "ok" ? checkpoint.checkpoint.segment : "";
    const segments = names.map((name) => ({ name, diskBytes: segmentDiskBytes(this.dir, name), acknowledged: name < ackedBefore }));
    // At start no segment is being written: a placeholder stands for the one about to be opened.
    if (atStart) segments.push({ name: "9999999999999999-0.ndjson", diskBytes: 0, acknowledged: false });
    this.journalBytes = segments.reduce((sum, s) => sum + s.diskBytes, 0);
    this.freeBytes = freeBytesOf(this.dir);
    const state = { segments, budgetBytes: this.settings.budgetBytes, freeBytes: this.freeBytes, minFreeBytes: this.settings.minFreeBytes, policy: this.settings.policy };
    if (bytesToFree(state) <= 0) return;
    let deleted = false;
    for (const action of budgetActions(state)) {
      if (action.kind === "stop") {
        throw obcapError(
          "E_JOURNAL_FULL",
          `the journal ${this.dir} is full: ${describeBytes(this.journalBytes)} of a ${describeBytes(this.settings.budgetBytes)} budget, ` +
            `${describeBytes(this.freeBytes)} free on its disk (floor ${describeBytes(this.settings.minFreeBytes)}); ${action.reason}. ` +
            `Free disk space, raise --journal-max, or let the oldest frames go with --journal-full drop-oldest`,
        );
      }
      if (action.name === this.live) continue;
      // The interval a dropped segment's gap names: its first and last lines' receive times.
      const range = action.kind === "evict" ? segmentRxRange(this.dir, action.name) : undefined;
      this.remove(action.name);
      deleted = true;
      this.journalBytes -= action.diskBytes;
      if (action.kind === "delete") {
        this.counts.deletedSegments++;
        continue;
      }
      this.counts.evictedSegments++;
      if (range) {
        action.startMicros = range.firstMicros;
        action.endMicros = range.lastMicros;
      }
      this.hooks.appendGap(action);
      this.hooks.warn(
        `journal budget reached: dropped the oldest segment not yet in DynamoDB, ${action.name} (${describeBytes(action.diskBytes)} on disk), ` +
          `frames received from ${new Date(action.startMicros / 1000).toISOString()} to ${new Date(action.endMicros / 1000).toISOString()}; recorded as an evicted gap`,
      );
    }
    if (deleted) {
      this.freeBytes = freeBytesOf(this.dir);
      this.hooks.segmentsDeleted();
    }
  }

  /** Truncates, then deletes: the space is free at once, even while a reader holds the file open. */
  private remove(name: string): void {
    if (this.compressor?.name === name) {
      this.compressor.abort();
      this.compressor = undefined;
    }
    const index = this.queue.indexOf(name);
    if (index >= 0) this.queue.splice(index, 1);
    for (const path of [segmentPath(this.dir, name), `${segmentPath(this.dir, name)}${COMPRESSED_SUFFIX}`]) {
      try {
        truncateSync(path, 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(`cannot free journal segment ${path}`, err);
      }
    }
    deleteSegment(this.dir, name);
  }

  private sample(nowMs: number, writtenBytes: number): void {
    const samples = this.samples;
    if (samples.length === 0 || nowMs - samples[samples.length - 1]!.atMs >= 1_000) samples.push({ atMs: nowMs, writtenBytes });
    while (samples.length > 2 && nowMs - samples[0]!.atMs > RATE_WINDOW_MS) samples.shift();
  }

  /** Hours until the budget or the floor at the disk growth rate of the last minute (lines written x compression ratio). */
  private hoursLeft(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.atMs - first.atMs < 5_000) return undefined;
    const ratio = this.counts.compressedPlainBytes > 0 ? this.counts.compressedBytes / this.counts.compressedPlainBytes : 1;
    const bytesPerMs = ((last.writtenBytes - first.writtenBytes) / (last.atMs - first.atMs)) * ratio;
    if (bytesPerMs <= 0) return undefined;
    const room = Math.min(this.settings.budgetBytes - this.journalBytes, this.freeBytes - this.settings.minFreeBytes);
    return Math.max(0, room / bytesPerMs / 3_600_000);
  }
}

/** Free bytes on the filesystem of `dir` for an unprivileged user. */
function freeBytesOf(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

function ioError(what: string, err: unknown) {
  return obcapError("E_JOURNAL_IO", `${what} (${(err as Error).message}): check the disk`, err);
}
