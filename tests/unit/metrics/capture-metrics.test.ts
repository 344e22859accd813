/** A capture snapshot -> metric families: every figure lands in its family, absent parts are left out. */
import { describe, expect, test } from "bun:test";
import { renderCaptureMetrics, type CaptureSnapshot } from "../../../src/metrics/capture-metrics.ts";
import { parsePrometheusText, sampleValue } from "../../../src/metrics/parse.ts";
import { emptyPipelineStats } from "../../../src/pipeline/pipeline-stats.ts";

const START = 1_764_000_000_000_000; // µs
const NOW = START + 90_000_000;

function fullSnapshot(): CaptureSnapshot {
  return {
    version: "1.2.3",
    commit: "0123456789ab",
    startMicros: START,
    nowMicros: NOW,
    receivedFrames: 1_003,
    writer: {
      ...emptyPipelineStats(),
      frames: 1_003,
      events: 990,
      written: 980,
      requests: 41,
      retryRequests: 4,
      throttled: 2,
      unprocessedItems: 7,
      inFlight: 3,
      duplicatesDropped: 1,
      rejected: { E_FRAME_JSON: 2, E_FRAME_INVALID: 1 },
      unknown: { "data@detail_order_book": 10 },
      channels: {
        live_trades_btcusd: { frames: 300, lastRxMicros: NOW - 12_500_000 },
        live_orders_btcusd: { frames: 700, lastRxMicros: NOW - 250_000 },
      },
    },
    queue: {
      published: 1_003, ownPublished: 0, overflowed: 5, overflowDepthFrames: 2, overflowBytes: 900, overflowHighWaterBytes: 4_000,
      lostFrames: 6, lostBytes: 3_000, lostAfterClose: 0, oversizeFrames: 1, ringUsedBytes: 2_048, ringHighWaterBytes: 65_536, ringCapacityBytes: 16_777_216,
    },
    journal: { backlogBytes: 123_456, backlogFrames: 321 },
    connection: { reconnects: 2, gaps: 3, connected: true, lastFrameAgeMs: 400, lastDataAgeMs: 1_500 },
  };
}

describe("renderCaptureMetrics", () => {
  test("maps every figure of a full snapshot to its family", () => {
    const m = parsePrometheusText(renderCaptureMetrics(fullSnapshot()));
    const v = (name: string, labels?: Record<string, string>) => sampleValue(m, name, labels);
    expect(v("obcap_up")).toBe(1);
    expect(v("obcap_build_info", { version: "1.2.3", commit: "0123456789ab" })).toBe(1);
    expect(v("obcap_start_time_seconds")).toBe(START / 1e6);
    expect(v("obcap_receiver_frames_total")).toBe(1_003);
    expect(v("obcap_frames_received_total", { channel: "live_orders_btcusd" })).toBe(700);
    expect(v("obcap_frames_received_total", { channel: "live_trades_btcusd" })).toBe(300);
    expect(v("obcap_last_frame_age_seconds", { channel: "live_orders_btcusd" })).toBe(0.25);
    expect(v("obcap_last_frame_age_seconds", { channel: "live_trades_btcusd" })).toBe(12.5);
    expect(v("obcap_events_decoded_total")).toBe(990);
    expect(v("obcap_events_written_total")).toBe(980);
    expect(v("obcap_write_requests_total")).toBe(41);
    expect(v("obcap_write_retries_total")).toBe(4);
    expect(v("obcap_write_throttled_total")).toBe(2);
    expect(v("obcap_unprocessed_items_total")).toBe(7);
    expect(v("obcap_write_in_flight")).toBe(3);
    expect(v("obcap_duplicates_dropped_total")).toBe(1);
    expect(v("obcap_frames_rejected_total", { code: "E_FRAME_JSON" })).toBe(2);
    expect(v("obcap_frames_rejected_total", { code: "E_FRAME_INVALID" })).toBe(1);
    expect(v("obcap_frames_not_stored_total", { kind: "data@detail_order_book" })).toBe(10);
    expect(v("obcap_ring_capacity_bytes")).toBe(16_777_216);
    expect(v("obcap_ring_used_bytes")).toBe(2_048);
    expect(v("obcap_ring_high_water_bytes")).toBe(65_536);
    expect(v("obcap_overflow_frames")).toBe(2);
    expect(v("obcap_overflow_bytes")).toBe(900);
    expect(v("obcap_overflow_high_water_bytes")).toBe(4_000);
    expect(v("obcap_frames_lost_total")).toBe(6);
    expect(v("obcap_frames_lost_bytes_total")).toBe(3_000);
    expect(v("obcap_frames_oversize_total")).toBe(1);
    expect(v("obcap_journal_backlog_bytes")).toBe(123_456);
    expect(v("obcap_journal_backlog_frames")).toBe(321);
    expect(v("obcap_reconnects_total")).toBe(2);
    expect(v("obcap_gaps_total")).toBe(3);
    expect(v("obcap_connected")).toBe(1);
    expect(v("obcap_feed_last_frame_age_seconds")).toBe(0.4);
    expect(v("obcap_feed_last_data_age_seconds")).toBe(1.5);
  });

  test("declares counters as counters and gauges as gauges", () => {
    const m = parsePrometheusText(renderCaptureMetrics(fullSnapshot()));
    for (const [name, family] of m) {
      expect(`${name} ${family.type}`).toBe(`${name} ${name.endsWith("_total") ? "counter" : "gauge"}`);
      expect(family.help?.length).toBeGreaterThan(10);
    }
  });

  test("lists channels in name order, so two scrapes compare line by line", () => {
    const text = renderCaptureMetrics(fullSnapshot());
    expect(text.indexOf('channel="live_orders_btcusd"')).toBeLessThan(text.indexOf('channel="live_trades_btcusd"'));
  });

  test("leaves out the families of parts not reported (before start, no journal, no feed)", () => {
    const bare = parsePrometheusText(renderCaptureMetrics({ version: "1.2.3", startMicros: START, nowMicros: NOW }));
    expect([...bare.keys()]).toEqual(["obcap_up", "obcap_build_info", "obcap_start_time_seconds"]);
    const { journal: _j, connection: _c, ...rest } = fullSnapshot();
    const partial = parsePrometheusText(renderCaptureMetrics(rest));
    for (const name of ["obcap_journal_backlog_bytes", "obcap_reconnects_total", "obcap_gaps_total", "obcap_connected"]) expect(partial.has(name)).toBe(false);
    expect(partial.has("obcap_events_written_total")).toBe(true);
  });

  test("omits ages the feed has not measured yet (-1) and never reports a negative age", () => {
    const s = fullSnapshot();
    s.connection = { reconnects: 0, gaps: 0, connected: false, lastFrameAgeMs: -1, lastDataAgeMs: -1 };
    s.writer!.channels = { live_orders_btcusd: { frames: 1, lastRxMicros: NOW + 5_000 } }; // clock skew between threads
    const m = parsePrometheusText(renderCaptureMetrics(s));
    expect(m.has("obcap_feed_last_frame_age_seconds")).toBe(false);
    expect(m.has("obcap_feed_last_data_age_seconds")).toBe(false);
    expect(sampleValue(m, "obcap_connected")).toBe(0);
    expect(sampleValue(m, "obcap_last_frame_age_seconds", { channel: "live_orders_btcusd" })).toBe(0);
  });
});
