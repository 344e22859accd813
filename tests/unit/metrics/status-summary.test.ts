/** `obcap status`'s summary, from metrics text as a capture serves it. */
import { describe, expect, test } from "bun:test";
import { parsePrometheusText } from "../../../src/metrics/parse.ts";
import { formatBytes, formatDuration, summarizeCaptureMetrics } from "../../../src/metrics/status-summary.ts";

// A scrape of a capture of btcusd that started 2h 03m 10s before NOW_MS (HELP lines trimmed).
const START_S = 1_764_230_000;
const NOW_MS = (START_S + 2 * 3600 + 3 * 60 + 10) * 1000;
const SCRAPE = `# TYPE obcap_up gauge
obcap_up 1
# TYPE obcap_build_info gauge
obcap_build_info{version="0.1.0",commit="0123456789ab"} 1
# TYPE obcap_start_time_seconds gauge
obcap_start_time_seconds ${START_S}
# TYPE obcap_receiver_frames_total counter
obcap_receiver_frames_total 74000
# TYPE obcap_frames_received_total counter
obcap_frames_received_total{channel="live_orders_btcusd"} 70000
obcap_frames_received_total{channel="live_trades_btcusd"} 3990
# TYPE obcap_last_frame_age_seconds gauge
obcap_last_frame_age_seconds{channel="live_orders_btcusd"} 0.25
obcap_last_frame_age_seconds{channel="live_trades_btcusd"} 3.5
# TYPE obcap_events_written_total counter
obcap_events_written_total 73980
# TYPE obcap_write_retries_total counter
obcap_write_retries_total 4
# TYPE obcap_unprocessed_items_total counter
obcap_unprocessed_items_total 7
# TYPE obcap_write_in_flight gauge
obcap_write_in_flight 1
# TYPE obcap_frames_rejected_total counter
obcap_frames_rejected_total{code="E_FRAME_JSON"} 2
# TYPE obcap_ring_capacity_bytes gauge
obcap_ring_capacity_bytes 16777216
# TYPE obcap_ring_used_bytes gauge
obcap_ring_used_bytes 12288
# TYPE obcap_ring_high_water_bytes gauge
obcap_ring_high_water_bytes 1572864
# TYPE obcap_overflow_frames gauge
obcap_overflow_frames 0
# TYPE obcap_frames_lost_total counter
obcap_frames_lost_total 0
# TYPE obcap_journal_backlog_bytes gauge
obcap_journal_backlog_bytes 1258291
# TYPE obcap_journal_backlog_frames gauge
obcap_journal_backlog_frames 340
# TYPE obcap_reconnects_total counter
obcap_reconnects_total 1
# TYPE obcap_gaps_total counter
obcap_gaps_total 2
# TYPE obcap_connected gauge
obcap_connected 1
# TYPE obcap_feed_last_frame_age_seconds gauge
obcap_feed_last_frame_age_seconds 0.2
`;

function summary(text: string, nowMs = NOW_MS) {
  return summarizeCaptureMetrics(parsePrometheusText(text), nowMs);
}

describe("summarizeCaptureMetrics", () => {
  test("prints one line per topic for a healthy capture, and no warning", () => {
    const { lines, warnings } = summary(SCRAPE);
    expect(lines).toEqual([
      "obcap 0.1.0 (commit 0123456789ab) up 2h 03m 10s (since 2025-11-27T07:53:20Z)",
      "received    74000 frames, 10.0/s since start",
      "written     73980 items; 4 retried requests, 7 unprocessed items, 1 in flight",
      "backlog     journal 1.2 MiB, 340 frames not yet in DynamoDB",
      "queue       ring 12.0 KiB of 16.0 MiB (high-water 1.5 MiB); overflow 0 frames",
      "lost        0 frames",
      "rejected    2 frames (E_FRAME_JSON 2)",
      "feed        connected; reconnects 1, gaps 2; last frame (any kind) 0.2 s ago",
      "channels    live_orders_btcusd 70000 frames, last 0.3 s ago",
      "            live_trades_btcusd 3990 frames, last 3.5 s ago",
    ]);
    expect(warnings).toEqual([]);
  });

  test("warns about lost frames", () => {
    const { lines, warnings } = summary(SCRAPE.replace("obcap_frames_lost_total 0", "obcap_frames_lost_total 12"));
    expect(lines).toContain("lost        12 frames");
    expect(warnings).toEqual(["WARNING: 12 frames lost (queue full); the capture's log gives the intervals"]);
  });

  test("warns about a channel silent for more than 10 s, and about a silent feed", () => {
    const quiet = summary(SCRAPE.replace('{channel="live_trades_btcusd"} 3.5', '{channel="live_trades_btcusd"} 10.5'));
    expect(quiet.warnings).toEqual(["WARNING: no frame for over 10 s on live_trades_btcusd (10.5 s) (a quiet pair may simply not trade)"]);
    const silent = summary(
      SCRAPE.replace('{channel="live_trades_btcusd"} 3.5', '{channel="live_trades_btcusd"} 42').replace('{channel="live_orders_btcusd"} 0.25', '{channel="live_orders_btcusd"} 41'),
    );
    expect(silent.warnings).toEqual(["WARNING: no frame for over 10 s on live_orders_btcusd (41.0 s), live_trades_btcusd (42.0 s); the whole feed is silent"]);
  });

  test("warns when the feed is disconnected", () => {
    expect(summary(SCRAPE.replace("obcap_connected 1", "obcap_connected 0")).warnings).toEqual(["WARNING: not connected to the exchange now (reconnecting)"]);
  });

  test("says what is not reported instead of printing zeros", () => {
    const { lines } = summary(`obcap_up 1\nobcap_build_info{version="0.1.0"} 1\nobcap_start_time_seconds ${START_S}\n`, START_S * 1000 + 5_000);
    expect(lines).toEqual(["obcap 0.1.0 up 5s (since 2025-11-27T07:53:20Z)", "backlog     not reported (no journal, or nothing to upload to)", "feed        reconnects and gaps not reported", "channels    no frame yet"]);
  });
});

describe("formatting", () => {
  test("durations and sizes read naturally", () => {
    expect([0, 59.9, 61, 3600, 7390].map(formatDuration)).toEqual(["0s", "59s", "1m 01s", "1h 00m 00s", "2h 03m 10s"]);
    expect([0, 1023, 1024, 1536, 16 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual(["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "16.0 MiB", "3.0 GiB"]);
  });
});
