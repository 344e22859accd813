/** The Prometheus text format, exactly: HELP/TYPE lines, labels, escaping, special values. */
import { describe, expect, test } from "bun:test";
import { escapeHelp, escapeLabelValue, formatValue, MetricRegistry, PROMETHEUS_CONTENT_TYPE } from "../../../src/metrics/registry.ts";

describe("MetricRegistry", () => {
  test("renders HELP, TYPE and samples in registration order", () => {
    const r = new MetricRegistry();
    r.gauge("obcap_up", "1 while running").set(1);
    const frames = r.counter("obcap_frames_received_total", "Frames per channel", ["channel"]);
    frames.set(12, { channel: "live_orders_btcusd" });
    frames.set(3, { channel: "live_trades_btcusd" });
    frames.inc(2, { channel: "live_orders_btcusd" });
    expect(r.render()).toBe(
      [
        "# HELP obcap_up 1 while running",
        "# TYPE obcap_up gauge",
        "obcap_up 1",
        "# HELP obcap_frames_received_total Frames per channel",
        "# TYPE obcap_frames_received_total counter",
        'obcap_frames_received_total{channel="live_orders_btcusd"} 14',
        'obcap_frames_received_total{channel="live_trades_btcusd"} 3',
        "",
      ].join("\n"),
    );
  });

  test("escapes backslash and line feed in HELP, and quote too in label values", () => {
    const r = new MetricRegistry();
    r.counter("x_total", "a \\ b\nc \"q\"", ["kind", "code"]).set(1, { kind: 'say "hi"\\now\n', code: "" });
    expect(r.render()).toBe(String.raw`# HELP x_total a \\ b\nc "q"` + "\n# TYPE x_total counter\n" + String.raw`x_total{kind="say \"hi\"\\now\n",code=""} 1` + "\n");
  });

  test("writes label names in declared order whatever the object's key order", () => {
    const r = new MetricRegistry();
    r.gauge("g", "g", ["b", "a"]).set(5, { a: "1", b: "2" });
    expect(r.render().split("\n")[2]).toBe('g{b="2",a="1"} 5');
  });

  test("a family with no samples still has its HELP and TYPE", () => {
    const r = new MetricRegistry();
    r.counter("obcap_frames_rejected_total", "Rejected", ["code"]);
    expect(r.render()).toBe("# HELP obcap_frames_rejected_total Rejected\n# TYPE obcap_frames_rejected_total counter\n");
  });

  test("spells special and fractional values the way Prometheus reads them", () => {
    expect([NaN, Infinity, -Infinity, 0, -0, 1.5, 1234567890123, 0.000001].map(formatValue)).toEqual(["NaN", "+Inf", "-Inf", "0", "0", "1.5", "1234567890123", "0.000001"]);
  });

  test("rejects invalid names, wrong label sets, duplicates and counters going down", () => {
    const r = new MetricRegistry();
    expect(() => r.gauge("1bad", "x")).toThrow("'1bad' is not a valid metric name");
    expect(() => r.gauge("ok", "x", ["__reserved"])).toThrow("'__reserved' is not a valid label name");
    const c = r.counter("c_total", "x", ["channel"]);
    expect(() => c.set(1)).toThrow("c_total takes labels {channel}, got {}");
    expect(() => c.set(1, { channel: "a", extra: "b" })).toThrow("c_total takes labels {channel}, got {channel, extra}");
    expect(() => c.inc(-1, { channel: "a" })).toThrow("counter c_total cannot go down");
    expect(() => r.counter("c_total", "again")).toThrow("metric c_total is registered twice");
  });

  test("the content type is the text format's version 0.0.4", () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
  });
});

describe("escaping helpers", () => {
  test("escape only what the format says", () => {
    expect(escapeHelp('a\\b\n"c"')).toBe('a\\\\b\\n"c"');
    expect(escapeLabelValue('a\\b\n"c"')).toBe('a\\\\b\\n\\"c\\"');
  });
});
