/**
 * Messages between the capture's main thread and the writer Worker. Frames never travel here: they
 * go through the ring (SharedArrayBuffer). These messages carry set-up, progress and the end.
 */
import type { DecodeResult } from "../exchange/bitstamp/decode.ts";
import type { BatchWriterStats } from "../store/dynamodb/batch-writer.ts";
import type { QueueRecord } from "../queue/frame-publisher.ts";

/** Where the writer puts what it decodes. */
export type WriterTarget =
  | {
      kind: "dynamodb";
      table: string;
      endpoint?: string;
      region?: string;
      shards: number;
      maxInFlight: number;
    }
  | {
      kind: "journal-lines";
      /** File path, or `null` for stdout. */
      path: string | null;
    };

export interface WriterInit {
  type: "init";
  ring: SharedArrayBuffer;
  target: WriterTarget;
  /** A partial batch waits at most this long for more items. */
  lingerMs: number;
  /** How often progress is posted back. */
  progressEveryMs: number;
  /** The capture's channels: a loss of frames before the ring is a gap of each of them. */
  channels: readonly string[];
}

/** Main thread -> writer: the ring is closed; store what is in it, then `leftovers`, then end. */
export interface WriterFinish {
  type: "finish";
  leftovers: QueueRecord[];
}

export interface WriterStats {
  /** Frames taken from the ring (obcap's own records not counted). */
  frames: number;
  /**
   * Frames whose fate is settled: stored in DynamoDB (acknowledged) or rejected or not stored (with
   * DynamoDB), or written as lines (`--out`). Optional: only the --no-journal writer sets it.
   */
  settledFrames?: number;
  /** Order and trade events decoded. */
  events: number;
  /** Items DynamoDB acknowledged, or journal lines written. */
  written: number;
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
  /**
   * Frames per channel as the writer decoded them (valid envelopes only; rejected frames have no
   * channel). Counted here, not on the receive thread, which never parses data frames: the figures
   * lag the receiver by what is in the queue. Optional: older writers do not send it.
   */
  channels?: Record<string, ChannelStats>;
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
export function countChannelFrame(stats: WriterStats, decoded: DecodeResult, rxMicros: number): void {
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

export type WriterMessage =
  | { type: "ready" }
  | { type: "progress"; stats: WriterStats }
  /** A frame the decoder rejected (the first ones of each code, then sampled). */
  | { type: "rejected"; code: string; message: string; count: number }
  /** First frame of an event kind obcap does not store. */
  | { type: "unknown-kind"; kind: string; sample: string }
  | { type: "retry"; message: string }
  /** The writer cannot go on (e.g. table deleted, credentials revoked). */
  | { type: "fatal"; code: string; message: string; stats: WriterStats }
  /** The ring is closed and everything is written. */
  | { type: "done"; stats: WriterStats };

export function emptyWriterStats(): WriterStats {
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
export function copyWriteStats(stats: WriterStats, w: BatchWriterStats, duplicatesDropped: number): void {
  stats.written = w.written;
  stats.requests = w.requests;
  stats.retryRequests = w.retryRequests;
  stats.retriedItems = w.retriedItems;
  stats.unprocessedItems = w.unprocessedItems;
  stats.throttled = w.throttled;
  stats.inFlight = w.inFlight;
  stats.duplicatesDropped = duplicatesDropped;
}
