/**
 * Where the previous run of a journal directory stopped (the start of the next run's restart gap):
 * the latest receive time among the complete lines at the end of the newest segment holding one.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readPreviousRun, writeRunFile, RUN_FILE } from "../../../src/journal/previous-run.ts";
import { segmentPath, SEGMENTS_DIR } from "../../../src/journal/segments.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

function journalWith(segments: Record<string, string>): string {
  const dir = testTempDir("previous-run");
  mkdirSync(join(dir, SEGMENTS_DIR), { recursive: true });
  for (const [name, text] of Object.entries(segments)) writeFileSync(segmentPath(dir, name), text);
  return dir;
}

const frame = (micros: number) => `{"data":{"id":1,"microtimestamp":"${micros}"},"channel":"live_orders_btcusd","event":"order_created"}`;
const gap = '{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"5","end_us":"6","reason":"stale"}}';

describe("readPreviousRun", () => {
  test("a directory without segments (or without complete lines) has no previous run", () => {
    expect(readPreviousRun(testTempDir("previous-run"))).toBeUndefined();
    expect(readPreviousRun(journalWith({ "0000000000000001-1.ndjson": "", "0000000000000002-1.ndjson": '{"rx":5,"m":{"cut' }))).toBeUndefined();
  });

  test("the end is the latest receive time of the complete lines, frames and gap records alike; a cut last line does not count", () => {
    const dir = journalWith({
      "0000000000000001-1.ndjson": `{"rx":1788000000000100,"m":${frame(1788000000000090)}}\n{"rx":1788000000000300,"obcap":${gap}}\n{"rx":1788000000000200,"m":${frame(1788000000000350)}}\n{"rx":1788000000000900,"m":{"cut`,
    });
    // The last frame's exchange time (…350) is not earlier than the latest receive time (…300): …300.
    expect(readPreviousRun(dir)).toEqual({ endMicros: 1788000000000300, segment: "0000000000000001-1.ndjson" });
  });

  test("the last frame's exchange time lowers the end when it is earlier (events sent after it may carry times from there)", () => {
    const dir = journalWith({ "0000000000000001-1.ndjson": `{"rx":1788000000000500,"m":${frame(1788000000000400)}}\n` });
    expect(readPreviousRun(dir)?.endMicros).toBe(1788000000000400);
  });

  test("an empty newest segment (a rotation just before a kill) sends it to the segment before", () => {
    const dir = journalWith({
      "0000000000000001-1.ndjson": `{"rx":1788000000000100,"m":${frame(1788000000000100)}}\n`,
      "0000000000000002-1.ndjson": "",
    });
    expect(readPreviousRun(dir)).toMatchObject({ endMicros: 1788000000000100, segment: "0000000000000001-1.ndjson" });
  });

  test("reads only the segment's tail, and further back while its last line is longer than that", () => {
    const long = `{"rx":1788000000000700,"m":{"pad":"${"x".repeat(600_000)}","channel":"live_orders_btcusd"}}\n`;
    const dir = journalWith({ "0000000000000001-1.ndjson": `{"rx":1788000000000100,"m":${frame(1788000000000100)}}\n${long}` });
    expect(readPreviousRun(dir)?.endMicros).toBe(1788000000000700);
  });

  test("the channels come from run.json; without it they are unknown", () => {
    const dir = journalWith({ "0000000000000001-1.ndjson": `{"rx":1788000000000100,"m":${frame(1788000000000100)}}\n` });
    expect(readPreviousRun(dir)?.channels).toBeUndefined();
    writeRunFile(dir, ["live_orders_btcusd", "live_trades_btcusd"], 42, new Date("2026-12-01T00:00:00Z"));
    expect(readPreviousRun(dir)?.channels).toEqual(["live_orders_btcusd", "live_trades_btcusd"]);
    expect(JSON.parse(readFileSync(join(dir, RUN_FILE), "utf8"))).toEqual({ version: 1, channels: ["live_orders_btcusd", "live_trades_btcusd"], startedAt: "2026-12-01T00:00:00.000Z", pid: 42 });
    writeFileSync(join(dir, RUN_FILE), "not json");
    expect(readPreviousRun(dir)?.channels).toBeUndefined();
  });
});
