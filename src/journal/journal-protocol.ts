/**
 * Messages of the journal stage (journal-stage.ts), which runs in the capture's pipeline Worker:
 *
 *   ring -> journal stage: every record to the segment files (or, with --no-journal --out, to that stream)
 *
 * Frames never travel in messages. The stage tells the upload stage that lines were written through
 * a small SharedArrayBuffer (the journal signal): a counter of writes it bumps and notifies (the
 * upload stage sleeps on it with Atomics.waitAsync) and a counter of rotations (the upload stage lists
 * the directory again only when it changed). The same buffer carries what the main thread must know
 * even when the Worker no longer answers (a disk that hangs): the frames handed to the OS and the
 * frames abandoned at the shutdown deadline, and the main thread's abandon request
 * ({@link journalCounters}).
 */
import type { AppenderStats } from "./appender.ts";
import type { QueueRecord } from "../queue/frame-publisher.ts";
import type { FullPolicy } from "./disk-budget.ts";
import type { KeeperSettings, KeeperStats } from "./journal-keeper.ts";
import type { SnapshotBodyForm, SnapshotFetch } from "../model/order-book-snapshot.ts";

/** Int32 indexes in the signal buffer. */
export const SIGNAL_WRITES = 0;
export const SIGNAL_ROTATIONS = 1;
/** Set by the main thread at the shutdown deadline: stop journaling frames, record the rest as a gap. */
const SIGNAL_ABANDON = 2;
/** BigInt64 indexes (bytes 16..31): frames handed to the OS, frames abandoned. */
const COUNTER_JOURNALED = 2;
const COUNTER_ABANDONED = 3;
const SIGNAL_BYTES = 32;

/** The shared counters of the journal path (see the file comment). */
export function createJournalSignal(): SharedArrayBuffer {
  return new SharedArrayBuffer(SIGNAL_BYTES);
}

/** Typed access to the signal buffer's counters and the abandon flag. */
export function journalCounters(signal: SharedArrayBuffer) {
  const i32 = new Int32Array(signal);
  const i64 = new BigInt64Array(signal);
  return {
    /** Frames the journal stage has handed to the OS (they survive a crash of obcap). */
    journaled: (): number => Number(Atomics.load(i64, COUNTER_JOURNALED)),
    addJournaled: (frames: number): void => void Atomics.add(i64, COUNTER_JOURNALED, BigInt(frames)),
    /** Frames the journal stage skipped at the shutdown deadline (covered by a "shutdown" gap record). */
    abandoned: (): number => Number(Atomics.load(i64, COUNTER_ABANDONED)),
    addAbandoned: (frames: number): void => void Atomics.add(i64, COUNTER_ABANDONED, BigInt(frames)),
    abandonRequested: (): boolean => Atomics.load(i32, SIGNAL_ABANDON) !== 0,
    requestAbandon: (): void => {
      Atomics.store(i32, SIGNAL_ABANDON, 1);
      Atomics.notify(i32, SIGNAL_ABANDON);
    },
  };
}

/** Settings of the journal directory, from the flags. */
export interface JournalSettings {
  /** `--journal DIR`. */
  dir: string;
  /** `--fsync-ms`: fdatasync at most this long after a write; 0 = every write. */
  fsyncMs: number;
  /** `--segment-mb` in bytes. */
  segmentBytes: number;
  /** `--segment-age` in ms. */
  segmentAgeMs: number;
  /** `--journal-keep` in ms: acknowledged segments older than this are deleted. */
  keepMs: number;
  /**
   * The disk budget (`--journal-max`, `--journal-min-free`, `--journal-full`) and the compression of
   * closed segments (`--journal-gzip`). Sizes undefined: chosen from the disk at start (session.ts).
   */
  disk: { maxBytes?: number; minFreeBytes?: number; policy: FullPolicy; gzipLevel: number };
}

/** Where the journal stage writes its lines. */
export type JournalOutput =
  /** The journal directory: rotating segments within the disk budget, and an optional `--out` copy. */
  | {
      kind: "segments";
      journal: JournalSettings;
      /** Goes into segment names. */
      pid: number;
      /** The disk budget with its sizes resolved (the session chose the defaults from the disk). */
      budget: KeeperSettings;
      /** `--out`: also write every line to this file, or to stdout (null); undefined = no copy. */
      tee: { path: string | null } | undefined;
    }
  /** `--no-journal --out`: the lines go to this file or stdout (null) only, the capture's one output. */
  | { kind: "stream"; path: string | null };

export interface JournalStageInit {
  ring: SharedArrayBuffer;
  signal: SharedArrayBuffer;
  output: JournalOutput;
  progressEveryMs: number;
  /** The capture's channels: a loss of frames before the ring is a gap of each of them. */
  channels: readonly string[];
}

/**
 * An order book snapshot the capture thread fetched, on its way to the journal (or, with --no-journal
 * --table, to the upload stage). It travels in a message, not in the ring: a book is MiBs, more than
 * the ring's largest record, and must not take the ring's room from frames. The body's buffer is
 * transferred, not copied.
 */
export interface SnapshotDelivery extends SnapshotFetch {
  /** Numbers the snapshots of a run: the stage's report names it. */
  id: number;
}

/** What the stage that took a snapshot reports (the main thread logs it). */
export interface SnapshotReport {
  id: number;
  pair: string;
  /** `journaled` (journal stage), `queued` (upload stage, --no-journal), or not kept and why. */
  outcome: "journaled" | "queued" | "dropped";
  reason?: string;
  form?: SnapshotBodyForm;
  bodyBytes: number;
  /** When the body is a JSON object with `bids` and `asks` arrays: their lengths. */
  bids?: number;
  asks?: number;
}

/** Main thread -> journal stage. */
export type JournalStageControl =
  /**
   * The publisher has closed the ring: journal what is in it, then `leftovers` (records that did not
   * fit in the ring before the close deadline: own records and a loss marker), then close.
   */
  | { type: "finish"; leftovers: QueueRecord[] }
  /** A snapshot to journal as obcap's own record (journal-stage.ts says when). */
  | { type: "snapshot"; snapshot: SnapshotDelivery };

export type JournalStats = AppenderStats & {
  /** The journal's disk: size, budget, free space, compression, deletions (journal-keeper.ts). */
  disk?: KeeperStats;
  /** Of `ownLines`: order book snapshot records. */
  snapshotLines?: number;
};

export type JournalStageMessage =
  | { type: "ready"; segment: string; stats: JournalStats }
  | { type: "progress"; stats: JournalStats }
  /** The journal cannot be written (disk full, permissions): frames from now on cannot be kept. */
  | { type: "fatal"; code: string; message: string; stats: JournalStats }
  /** Something worth a warning in the log (the journal near its budget, a segment dropped for it). */
  | { type: "warning"; message: string }
  /** The `--out` copy skipped lines (its reader is behind or gone); sent at most once a second while it grows. */
  | { type: "tee-skipped"; skippedLines: number; reason?: string }
  /** A snapshot was journaled (or dropped: the journal was already closed). */
  | { type: "snapshot"; report: SnapshotReport }
  /** The ring is closed and drained; every line is written, synced, and the segment closed. */
  | { type: "done"; stats: JournalStats };

