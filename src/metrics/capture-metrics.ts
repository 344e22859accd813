/**
 * A capture's figures at one moment ({@link CaptureSnapshot}) -> Prometheus metric families.
 * Web standards only. docs/operations.md lists every family.
 *
 * Parts of the snapshot are optional: a family whose source is absent (no journal, the feed not
 * started yet) is left out rather than reported as 0, so a dashboard can tell "none" from "unknown".
 *
 * Where each figure comes from, and how fresh it is:
 * - `receivedFrames`, `queue`, `connection`: the main thread, read at scrape time.
 * - `writer` (events, writes, retries, rejected, per channel): the last progress message of the
 *   Worker that decodes (the writer with --no-journal, the uploader with a journal and a table), every
 *   500 ms. Per-channel counts are taken after decoding, so they lag the receiver by what is queued:
 *   the receive thread never parses data frames to count them.
 */
import type { FramePublisherStats } from "../queue/frame-publisher.ts";
import type { PipelineStats } from "../pipeline/pipeline-stats.ts";
import { MetricRegistry } from "./registry.ts";

/** The journal's figures (filled by the journal when `--journal` is in use). */
export interface JournalSnapshot {
  /** Journal bytes not yet acknowledged by DynamoDB. */
  backlogBytes: number;
  /** The same backlog in frames, when known. */
  backlogFrames?: number;
}

/** The journal's disk (journal-keeper.ts KeeperStats fits this shape). */
export interface DiskSnapshot {
  journalBytes: number;
  budgetBytes: number;
  freeBytes: number;
  minFreeBytes: number;
  hoursLeft?: number;
  compressedSegments: number;
  deletedSegments: number;
  evictedSegments: number;
}

/** The feed's figures (the feed supervisor's stats fit this shape). */
export interface ConnectionSnapshot {
  /** Replacement connections that subscribed after a loss. */
  reconnects: number;
  /** Gap records written (intervals in which events may be missing). */
  gaps: number;
  /** A subscribed connection is open now. */
  connected: boolean;
  /** Since the last frame of any kind on the current connection, ms; -1 if none. */
  lastFrameAgeMs: number;
  /** Since the last market-data frame on the current connection, ms; -1 if none. */
  lastDataAgeMs?: number;
}

/** Order book snapshots (the snapshot fetcher's stats fit this shape). */
export interface SnapshotsSnapshot {
  /** Bodies fetched and handed to the pipeline. */
  fetched: number;
  /** Snapshots given up (attempts used up, HTTP 4xx, body too large). */
  failed: number;
  /** Attempts retried (network errors, timeouts, 429, 5xx). */
  retries: number;
  /** Receive time (µs) of each pair's latest snapshot. */
  lastFetchedMicros: Readonly<Record<string, number>>;
}

/** The ring and its overflow (the FramePublisher's stats plus the ring's size). */
export interface QueueSnapshot extends FramePublisherStats {
  ringCapacityBytes: number;
}

/** Everything the metrics report, at `nowMicros`. */
export interface CaptureSnapshot {
  version: string;
  /** The commit the binary was built from (`source` when run from source). */
  commit?: string;
  /** Start of the capture, µs since the epoch. */
  startMicros: number;
  nowMicros: number;
  /** Data frames the receiver read from the exchange (main thread, all channels). */
  receivedFrames?: number;
  writer?: PipelineStats;
  queue?: QueueSnapshot;
  journal?: JournalSnapshot;
  disk?: DiskSnapshot;
  connection?: ConnectionSnapshot;
  /** Absent when the capture takes no snapshots (no `orders` channel). */
  snapshots?: SnapshotsSnapshot;
}

/** Renders `snapshot` as Prometheus text. */
export function renderCaptureMetrics(snapshot: CaptureSnapshot): string {
  return captureRegistry(snapshot).render();
}

/** The registry for one scrape (families in a fixed order). */
export function captureRegistry(s: CaptureSnapshot): MetricRegistry {
  const r = new MetricRegistry();
  r.gauge("obcap_up", "1 while the capture process runs and serves metrics").set(1);
  r.gauge("obcap_build_info", "obcap's version and the commit it was built from, as labels; the value is always 1", ["version", "commit"]).set(1, { version: s.version, commit: s.commit ?? "unknown" });
  r.gauge("obcap_start_time_seconds", "Start of the capture, Unix time in seconds").set(s.startMicros / 1e6);

  if (s.receivedFrames !== undefined) {
    r.counter("obcap_receiver_frames_total", "Data frames read from the exchange WebSocket by the receiver, all channels, before the queue").set(s.receivedFrames);
  }

  const w = s.writer;
  if (w) {
    const perChannel = r.counter("obcap_frames_received_total", "Frames per channel, counted by the writer after decoding (lags the receiver by the queue)", ["channel"]);
    const age = r.gauge("obcap_last_frame_age_seconds", "Seconds since the receive time of the latest frame of each channel the writer decoded", ["channel"]);
    for (const [channel, c] of sortedEntries(w.channels ?? {})) {
      perChannel.set(c.frames, { channel });
      age.set(Math.max(0, (s.nowMicros - c.lastRxMicros) / 1e6), { channel });
    }
    r.counter("obcap_events_decoded_total", "Order events and trades decoded").set(w.events);
    r.counter("obcap_events_written_total", "Items DynamoDB acknowledged (or journal lines written without --table)").set(w.written);
    r.counter("obcap_write_requests_total", "BatchWriteItem requests sent").set(w.requests);
    r.counter("obcap_write_retries_total", "BatchWriteItem requests retried (throttling, 5xx, network errors, unprocessed items)").set(w.retryRequests);
    r.counter("obcap_write_throttled_total", "BatchWriteItem requests DynamoDB throttled").set(w.throttled);
    r.counter("obcap_unprocessed_items_total", "Items DynamoDB returned as UnprocessedItems (each was retried)").set(w.unprocessedItems);
    r.gauge("obcap_write_in_flight", "BatchWriteItem requests in flight").set(w.inFlight);
    r.gauge("obcap_write_concurrency", "BatchWriteItem requests allowed in flight (adaptive, or --in-flight); 0 without a table").set(w.concurrency ?? 0);
    r.counter("obcap_duplicates_dropped_total", "Items with the same key twice in one batch (the later copy was kept)").set(w.duplicatesDropped);
    const rejected = r.counter("obcap_frames_rejected_total", "Frames the decoder rejected, by error code (bad UTF-8, bad JSON, schema)", ["code"]);
    for (const [code, n] of sortedEntries(w.rejected)) rejected.set(n, { code });
    const unknown = r.counter("obcap_frames_not_stored_total", "Valid frames of event kinds obcap does not store, by event@channel-prefix", ["kind"]);
    for (const [kind, n] of sortedEntries(w.unknown)) unknown.set(n, { kind });
    if (w.bookChecks) {
      const checks = r.counter("obcap_book_checks_total", "Fresh snapshots compared with the book kept from the stored events (the self-check), by pair", ["pair"]);
      const differing = r.counter("obcap_book_checks_differing_total", "Self-checks in which the snapshot and the book differed, by pair", ["pair"]);
      const orders = r.counter("obcap_book_check_orders_differing_total", "Orders that differed between a snapshot and the book, summed over the self-checks, by pair", ["pair"]);
      const late = r.counter("obcap_book_checks_late_total", "Snapshots that came too late to be compared with the book, by pair", ["pair"]);
      for (const [pair, c] of sortedEntries(w.bookChecks)) {
        checks.set(c.checked, { pair });
        differing.set(c.differing, { pair });
        orders.set(c.differences, { pair });
        late.set(c.late, { pair });
      }
    }
  }

  const q = s.queue;
  if (q) {
    r.gauge("obcap_ring_capacity_bytes", "Size of the ring between receiver and writer (--queue-mb)").set(q.ringCapacityBytes);
    r.gauge("obcap_ring_used_bytes", "Bytes in the ring now").set(q.ringUsedBytes);
    r.gauge("obcap_ring_high_water_bytes", "Most bytes the ring has held since the start").set(q.ringHighWaterBytes);
    r.gauge("obcap_overflow_frames", "Frames waiting in the in-memory overflow because the ring is full").set(q.overflowDepthFrames);
    r.gauge("obcap_overflow_bytes", "Bytes waiting in the overflow").set(q.overflowBytes);
    r.gauge("obcap_overflow_high_water_bytes", "Most bytes the overflow has held since the start (--overflow-mb bounds it)").set(q.overflowHighWaterBytes);
    r.counter("obcap_frames_lost_total", "Frames dropped because the ring and the overflow were both full").set(q.lostFrames);
    r.counter("obcap_frames_lost_bytes_total", "Bytes of the frames dropped").set(q.lostBytes);
    r.counter("obcap_frames_oversize_total", "Frames larger than the ring's largest record, counted and not stored").set(q.oversizeFrames);
  }

  const j = s.journal;
  if (j) {
    r.gauge("obcap_journal_backlog_bytes", "Journal bytes not yet acknowledged by DynamoDB").set(j.backlogBytes);
    if (j.backlogFrames !== undefined) r.gauge("obcap_journal_backlog_frames", "Journal frames not yet acknowledged by DynamoDB").set(j.backlogFrames);
  }

  const d = s.disk;
  if (d) {
    r.gauge("obcap_journal_bytes", "Bytes the journal's segments take on disk").set(d.journalBytes);
    r.gauge("obcap_journal_budget_bytes", "The journal's disk budget (--journal-max)").set(d.budgetBytes);
    r.gauge("obcap_disk_free_bytes", "Free bytes on the journal's filesystem").set(d.freeBytes);
    r.gauge("obcap_disk_min_free_bytes", "Free space the journal leaves on its filesystem (--journal-min-free)").set(d.minFreeBytes);
    if (d.hoursLeft !== undefined) r.gauge("obcap_journal_hours_left", "Hours until the budget or the free-space floor at the growth rate of the last minute").set(d.hoursLeft);
    r.counter("obcap_journal_segments_compressed_total", "Closed segments compressed").set(d.compressedSegments);
    r.counter("obcap_journal_segments_deleted_total", "Acknowledged segments deleted to keep the budget").set(d.deletedSegments);
    r.counter("obcap_journal_segments_evicted_total", "Segments not yet in DynamoDB (or the only copy) dropped to keep the budget, each recorded as an evicted gap").set(d.evictedSegments);
  }

  const c = s.connection;
  if (c) {
    r.counter("obcap_reconnects_total", "Replacement connections that subscribed after a connection was lost").set(c.reconnects);
    r.counter("obcap_gaps_total", "Gap records written: intervals of a channel in which events may be missing").set(c.gaps);
    r.gauge("obcap_connected", "1 while a subscribed connection to the exchange is open").set(c.connected ? 1 : 0);
    if (c.lastFrameAgeMs >= 0) r.gauge("obcap_feed_last_frame_age_seconds", "Seconds since the last frame of any kind (data or heartbeat reply) on the current connection").set(c.lastFrameAgeMs / 1000);
    if (c.lastDataAgeMs !== undefined && c.lastDataAgeMs >= 0) r.gauge("obcap_feed_last_data_age_seconds", "Seconds since the last market-data frame on the current connection").set(c.lastDataAgeMs / 1000);
  }

  const sn = s.snapshots;
  if (sn) {
    r.counter("obcap_snapshots_fetched_total", "Order book snapshots (REST group=2) fetched and handed to the journal").set(sn.fetched);
    r.counter("obcap_snapshots_failed_total", "Order book snapshots given up (attempts used up, HTTP 4xx, body too large)").set(sn.failed);
    r.counter("obcap_snapshot_retries_total", "Order book snapshot requests retried (network errors, timeouts, 429, 5xx)").set(sn.retries);
    const age = r.gauge("obcap_last_snapshot_age_seconds", "Seconds since the latest order book snapshot of each pair was received", ["pair"]);
    for (const [pair, micros] of sortedEntries(sn.lastFetchedMicros)) age.set(Math.max(0, (s.nowMicros - micros) / 1e6), { pair });
  }
  return r;
}

function sortedEntries<T>(record: Readonly<Record<string, T>>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
