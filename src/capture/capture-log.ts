/** What a capture says in the log about the feed: control frames, gaps, queue losses, progress. */
import { log } from "../base/log.ts";
import type { FeedGap } from "../model/gap-record.ts";
import type { FramePublisherStats, LossInfo } from "../queue/frame-publisher.ts";
import type { FeedStats } from "../exchange/bitstamp/feed-supervisor.ts";
import type { PipelineStats } from "../pipeline/pipeline-stats.ts";
import type { FetchedSnapshot } from "../exchange/bitstamp/snapshot-fetcher.ts";
import type { SnapshotReport } from "../journal/journal-protocol.ts";

/** The progress line: frames received and written, the queue, liveness, and the journal's note. */
export function progressLine(framesReceived: number, w: PipelineStats, p: FramePublisherStats, f: FeedStats | undefined, journalNote: string | undefined): string {
  const liveness = f && (f.reconnects > 0 || f.gaps > 0 || f.overlaps > 0)
    ? `, reconnects ${f.reconnects}, gaps ${f.gaps}, overlap duplicates dropped ${f.duplicatesDropped}`
    : "";
  return (
    `received ${framesReceived} frames, written ${w.written}, in flight ${w.inFlight}, ` +
    `queue ${(p.ringUsedBytes / 1024).toFixed(0)} KiB (high ${(p.ringHighWaterBytes / 1024).toFixed(0)} KiB), lost ${p.lostFrames}${liveness}` +
    (journalNote ? `, ${journalNote}` : "")
  );
}

export function logControlFrame(event: string, channel: string, frame: string): void {
  switch (event) {
    case "bts:request_reconnect":
      // Acted on (and logged) by the feed supervisor: make-before-break.
      return;
    case "bts:error":
      log.warn(`the exchange sent bts:error: ${frame.slice(0, 200)}`);
      return;
    case "bts:subscription_succeeded":
    case "bts:unsubscription_succeeded":
      log.debug(`${event} ${channel}`);
      return;
    default:
      log.warn(`unexpected control frame ${event} on '${channel}': ${frame.slice(0, 200)}`);
  }
}

export function describeGap(gap: FeedGap): string {
  const from = new Date(gap.startMicros / 1000).toISOString();
  const to = new Date(gap.endMicros / 1000).toISOString();
  return `GAP on ${gap.channel}: events between ${from} and ${to} (${((gap.endMicros - gap.startMicros) / 1000).toFixed(0)} ms) may be missing (${gap.reason}); recorded as a gap item`;
}

export function describeLoss(info: LossInfo): string {
  const from = new Date(info.firstLostRxMicros / 1000).toISOString();
  const to = new Date(info.lastLostRxMicros / 1000).toISOString();
  return info.phase === "ended"
    ? `queue recovered: ${info.lostFrames} frames (${info.lostBytes} bytes) lost between ${from} and ${to}; recorded as an overflow gap of every channel`
    : `QUEUE FULL: frames are being lost (${info.lostFrames} so far, since ${from}); the journal (or, with --no-journal, the writer) cannot keep up with the feed`;
}

/**
 * The line for one order book snapshot once the pipeline took it: pair, why it was taken, orders
 * (when the body is a book), bytes, fetch time, attempts, and where it went.
 */
export function describeSnapshot(fetched: Pick<FetchedSnapshot, "pair" | "trigger" | "elapsedMs" | "attempts"> | undefined, report: SnapshotReport): string {
  const orders = report.bids === undefined ? "not a book (checked before storing)" : `${report.bids + (report.asks ?? 0)} orders (${report.bids} bids, ${report.asks} asks)`;
  const how = fetched ? ` (${fetched.trigger === "subscribed" ? "after subscribing" : "periodic"})` : "";
  const took = fetched ? ` in ${Math.round(fetched.elapsedMs)} ms${fetched.attempts > 1 ? ` (${fetched.attempts} attempts)` : ""}` : "";
  const where = report.outcome === "journaled" ? "journaled" : report.outcome === "queued" ? "queued for DynamoDB" : `DROPPED: ${report.reason ?? "?"}`;
  return `order book snapshot of ${report.pair}${how}: ${orders}, ${describeSize(report.bodyBytes)}${took}; ${where}`;
}

function describeSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
