/**
 * The pipeline's figures, one type for every way frames go (journal, upload, replay): frames taken,
 * events decoded, items written, rejects and unknown kinds, DynamoDB's requests and retries, frames
 * per channel. The Worker sends them to the main thread, which shows them in the log and the metrics.
 */
import type { DecodeResult } from "../exchange/bitstamp/decode.ts";
import type { BatchWriterStats } from "../store/dynamodb/batch-writer.ts";

export interface PipelineStats {
  /** Frames taken from the ring (obcap's own records not counted). */
  frames: number;
  /**
   * Frames whose fate is settled: stored in DynamoDB (acknowledged), rejected or not stored. Set only
   * when the upload stage reads the ring (--no-journal): then it is what the capture counts as kept.
   */
  settledFrames?: number;
  /** Order and trade events decoded. */
  events: number;
  /** Items DynamoDB acknowledged (events and gap records: coverage items not counted), or journal lines written. */
  written: number;
  /** Coverage items DynamoDB acknowledged (docs/data-model.md "Coverage items"); absent without a table. */
  coverageWritten?: number;
  /** Order book snapshot records decoded and checked (each becomes chunk items); absent before the first. */
  snapshots?: number;
  /** Chunk items of snapshots DynamoDB acknowledged (not in `written`, like coverage items); absent without a table. */
  snapshotItemsWritten?: number;
  /**
   * The self-check of each pair's book against fresh snapshots (book-self-check.ts), by pair; absent
   * before the first snapshot (and without a table: the upload stage runs it).
   */
  bookChecks?: Record<string, BookCheckStats>;
  /** Same key twice inside one batch: the later copy was kept. */
  duplicatesDropped: number;
  /** Frames rejected by the decoder (bad UTF-8, bad JSON, schema), by code. */
  rejected: Record<string, number>;
  /** Valid frames of events or channels obcap does not store, by `event@channel-prefix`. */
  unknown: Record<string, number>;
  requests: number;
  retryRequests: number;
  retriedItems: number;
  unprocessedItems: number;
  throttled: number;
  inFlight: number;
  /** BatchWriteItem requests allowed in flight now (adaptive, or pinned by `--in-flight`). */
  concurrency?: number;
  /**
   * Frames per channel as the writer decoded them (valid envelopes only; rejected frames have no
   * channel). Counted here, not on the receive thread, which never parses data frames: the figures
   * lag the receiver by what is in the queue. Optional: older writers do not send it.
   */
  channels?: Record<string, ChannelStats>;
}

/** One pair's self-check figures. */
export interface BookCheckStats {
  /** Snapshots the book started from (the first, and the first after a gap or a difference). */
  anchored: number;
  /** Snapshots compared with the book. */
  checked: number;
  /** Of those, snapshots that differed. */
  differing: number;
  /** Orders that differed, summed over every check. */
  differences: number;
  /** Snapshots that came too late to be compared. */
  late: number;
}

/** One channel's frames, for metrics (`obcap_frames_received_total`, `obcap_last_frame_age_seconds`). */
export interface ChannelStats {
  frames: number;
  /** Receive time of the latest frame, µs since the epoch. */
  lastRxMicros: number;
}

/**
 * Counts a decoded frame under its channel in `stats.channels` (exchange frames only: events, kinds
 * obcap does not store, control frames; not obcap's own gap records, not rejected frames).
 */
export function countChannelFrame(stats: PipelineStats, decoded: DecodeResult, rxMicros: number): void {
  const channel = decoded.kind === "event" ? decoded.event.channel : decoded.kind === "unknown" || decoded.kind === "control" ? decoded.channel : undefined;
  if (channel === undefined) return;
  // Null prototype: a frame may name any channel, "__proto__" included.
  const channels = (stats.channels ??= Object.create(null) as Record<string, ChannelStats>);
  const entry = channels[channel];
  if (entry) {
    entry.frames++;
    entry.lastRxMicros = rxMicros;
  } else {
    channels[channel] = { frames: 1, lastRxMicros: rxMicros };
  }
}

export function emptyPipelineStats(): PipelineStats {
  return {
    frames: 0,
    events: 0,
    written: 0,
    duplicatesDropped: 0,
    rejected: {},
    unknown: {},
    requests: 0,
    retryRequests: 0,
    retriedItems: 0,
    unprocessedItems: 0,
    throttled: 0,
    inFlight: 0,
  };
}

/** Copies the batch writer's counts, and the in-batch duplicates the uploader dropped, into `stats`. */
export function copyWriteStats(stats: PipelineStats, w: BatchWriterStats, duplicatesDropped: number): void {
  // Coverage items are bookkeeping: "written" stays events + gap records, as every summary adds it up.
  stats.written = w.written - w.coverageWritten;
  stats.coverageWritten = w.coverageWritten;
  stats.requests = w.requests;
  stats.retryRequests = w.retryRequests;
  stats.retriedItems = w.retriedItems;
  stats.unprocessedItems = w.unprocessedItems;
  stats.throttled = w.throttled;
  stats.inFlight = w.inFlight;
  stats.concurrency = w.concurrency;
  stats.duplicatesDropped = duplicatesDropped;
}
