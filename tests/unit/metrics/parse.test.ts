/** Reading the Prometheus text format back (what `obcap status` does with a scrape). */
import { describe, expect, test } from "bun:test";
import { MetricRegistry } from "../../../src/metrics/registry.ts";
import { parsePrometheusText, sampleValue } from "../../../src/metrics/parse.ts";

describe("parsePrometheusText", () => {
  test("reads back what the registry wrote, label values unescaped", () => {
    const r = new MetricRegistry();
    const tricky = 'q"uote \\ back\nline, {brace} =eq';
    r.counter("x_total", "help \\ with\nnewline", ["kind"]).set(7, { kind: tricky }).set(8, { kind: "plain" });
    r.gauge("g", "g").set(-Infinity);
    const families = parsePrometheusText(r.render());
    expect(families.get("x_total")?.type).toBe("counter");
    expect(families.get("x_total")?.help).toBe("help \\ with\nnewline");
    expect(sampleValue(families, "x_total", { kind: tricky })).toBe(7);
    expect(sampleValue(families, "x_total", { kind: "plain" })).toBe(8);
    expect(sampleValue(families, "g")).toBe(-Infinity);
    expect(sampleValue(families, "missing")).toBeUndefined();
  });

  test("accepts other exporters' habits: comments, timestamps, spaces, NaN", () => {
    const families = parsePrometheusText("# a comment\nup{job=\"a\" , instance=\"b\"} 1 1700000000000\nx NaN\n\n");
    expect(sampleValue(families, "up", { job: "a", instance: "b" })).toBe(1);
    expect(Number.isNaN(sampleValue(families, "x")!)).toBe(true);
  });

  test("names the line of a malformed sample", () => {
    expect(() => parsePrometheusText("ok 1\n<html>not metrics</html>\n")).toThrow("line 2 is not a Prometheus sample: <html>not metrics</html>");
    expect(() => parsePrometheusText('x{a="unterminated} 1\n')).toThrow("line 1");
    expect(() => parsePrometheusText("x one\n")).toThrow("line 1");
  });
});
