/**
 * Messages of the upload stage (upload-stage.ts), which runs in the capture's pipeline Worker beside
 * the journal stage: it reads frames from a source (the journal's segments, or with --no-journal the
 * ring itself), turns them into items (ingest.ts) and writes them to DynamoDB.
 */
import type { JournalPosition } from "../journal/checkpoint.ts";
import type { JournalSettings, SnapshotDelivery, SnapshotReport } from "../journal/journal-protocol.ts";
import type { PipelineStats } from "./pipeline-stats.ts";
import type { ConcurrencySettings } from "../store/dynamodb/write-concurrency.ts";
import type { QueueRecord } from "../queue/frame-publisher.ts";
import type { TableLayout } from "../store/dynamodb/table-metadata.ts";

export interface UploaderTarget {
  table: string;
  endpoint?: string;
  region?: string;
  /** From the table's metadata item; undefined: the upload stage reads it (retrying while DynamoDB is down, with a journal). */
  shards: number | undefined;
  /** BatchWriteItem requests in flight: adaptive within bounds, or pinned (`--in-flight`). */
  inFlight: ConcurrencySettings;
}

/**
 * Where the upload stage reads: the journal's segments from the checkpoint (the journal stage tells
 * it about writes through `signal`), or the ring, straight from the receive thread (--no-journal:
 * no checkpoint, no quarantine, a crash loses what is queued).
 */
export type UploadSource =
  | { kind: "journal"; signal: SharedArrayBuffer; journal: JournalSettings }
  | { kind: "ring"; ring: SharedArrayBuffer; channels: readonly string[] };

export interface UploaderInit {
  type: "init";
  source: UploadSource;
  target: UploaderTarget;
  lingerMs: number;
  progressEveryMs: number;
  /** How often the checkpoint is written while it moves. */
  checkpointEveryMs: number;
}

/** Main thread -> uploader. */
export type UploaderControl =
  /**
   * The journal is closed: upload to its end, checkpoint, then report done. With the ring as the
   * source: the ring is closed; upload what is in it, then `leftovers`, then report done.
   */
  | { type: "finish"; leftovers?: QueueRecord[] }
  /** Shutdown deadline: checkpoint what is acknowledged now and report done. */
  | { type: "abort" }
  /** An order book snapshot to store (--no-journal --table only: with a journal it comes through the journal). */
  | { type: "snapshot"; snapshot: SnapshotDelivery };

export interface UploaderStats extends PipelineStats {
  /** Records written to the quarantine. */
  quarantined: number;
  /** Journal bytes not yet read (the backlog waiting for DynamoDB), and in how many segments. */
  backlogBytes: number;
  backlogSegments: number;
  /** Segments deleted by retention. */
  deletedSegments: number;
  /** The position last written to the checkpoint. */
  checkpoint: JournalPosition | undefined;
}

export type UploaderMessage =
  /** The adaptive number of requests in flight changed (the log says it at --verbose). */
  | { type: "concurrency"; message: string }
  /** The table answered at start-up: its shard count (the log says it once). */
  | { type: "table"; table: string; shards: number; layout: TableLayout; packMs?: number }
  | { type: "ready"; resumeAt: JournalPosition | undefined; stats: UploaderStats; note?: string }
  | { type: "progress"; stats: UploaderStats }
  | { type: "rejected"; code: string; message: string; count: number }
  | { type: "unknown-kind"; kind: string; sample: string }
  /** A snapshot was queued for upload, or dropped (the upload had already ended). */
  | { type: "snapshot"; report: SnapshotReport }
  | { type: "retry"; message: string }
  /** Something worth a warning in the log (DynamoDB silent for long, a checkpoint oddity). */
  | { type: "note"; message: string }
  | { type: "fatal"; code: string; message: string; stats: UploaderStats }
  /** `complete`: everything journaled is acknowledged (false after an abort). */
  | { type: "done"; stats: UploaderStats; complete: boolean };
