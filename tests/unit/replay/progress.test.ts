/**
 * Replay progress: a redrawn live line on a terminal, plain log lines elsewhere, with lines/s over a
 * recent window and an ETA from the byte rate; and the bad-line report that stops flooding the log.
 */
import { describe, expect, test } from "bun:test";
import { BadLineReport } from "../../../src/replay/bad-lines.ts";
import { formatDuration, ReplayProgress, type ProgressFigures } from "../../../src/replay/progress.ts";

function figures(over: Partial<ProgressFigures>): ProgressFigures {
  return { lines: 0, events: 0, written: 0, retries: 0, badLines: 0, bytesDone: 0, bytesTotal: 1000, ...over };
}

function setup(tty: boolean, dryRun = false) {
  let now = 0;
  const written: string[] = [];
  const logged: string[] = [];
  const progress = new ReplayProgress({
    tty,
    dryRun,
    write: (t) => written.push(t),
    log: (l) => logged.push(l),
    liveEveryMs: 250,
    logEveryMs: 10_000,
    nowMs: () => now,
  });
  return { progress, written, logged, at: (ms: number) => (now = ms) };
}

describe("ReplayProgress", () => {
  test("redraws one live line on a terminal, a few times a second", () => {
    const { progress, written, logged, at } = setup(true);
    progress.tick(figures({}));
    at(100);
    progress.tick(figures({ lines: 100 }));
    expect(written).toEqual([]);
    at(1000);
    progress.tick(figures({ lines: 1000, written: 900, retries: 2, bytesDone: 250 }));
    expect(written).toEqual(["\r\u001b[2K1,000 lines, 1,000 lines/s, 900 written, 2 retries, 25.0% of 1000 B, ETA 0:00:03"]);
    expect(logged).toEqual([]);
    progress.clear();
    expect(written.at(-1)).toBe("\r\u001b[2K");
  });

  test("logs a plain line at its interval when not on a terminal", () => {
    const { progress, written, logged, at } = setup(false, true);
    progress.tick(figures({}));
    at(9_999);
    progress.tick(figures({ lines: 5 }));
    expect(logged).toEqual([]);
    at(10_000);
    progress.tick(figures({ lines: 20_000, events: 19_000, badLines: 1, bytesDone: 500 }));
    expect(logged).toEqual(["progress: 20,000 lines, 2,000 lines/s, 19,000 events validated, 1 bad, 50.0% of 1000 B, ETA 0:00:10"]);
    expect(written).toEqual([]);
  });

  test("measures lines/s over the recent window, not since the start", () => {
    const { progress, at } = setup(false);
    progress.tick(figures({ lines: 0 }));
    for (let s = 1; s <= 10; s++) {
      at(s * 1000);
      progress.tick(figures({ lines: s <= 5 ? 0 : (s - 5) * 10_000 }));
    }
    expect(progress.describe(figures({ lines: 50_000 }), 10_000)).toStartWith("50,000 lines, 10,000 lines/s");
  });

  test("gives no ETA for stdin, only the bytes read", () => {
    const { progress, at } = setup(true);
    progress.tick(figures({ bytesTotal: undefined }));
    at(1000);
    expect(progress.describe(figures({ lines: 10, bytesDone: 2048, bytesTotal: undefined }))).toEndWith("2.0 KiB read");
  });

  test("clears the live line before a bad line is printed", () => {
    const { progress, written, at } = setup(true);
    progress.tick(figures({}));
    at(300);
    progress.tick(figures({ lines: 3 }));
    const printed: string[] = [];
    progress.interject(() => printed.push(`after ${written.length} writes`));
    expect(written.at(-1)).toBe("\r\u001b[2K");
    expect(printed).toEqual(["after 2 writes"]);
  });

  test("formats durations as h:mm:ss", () => {
    expect(formatDuration(0)).toBe("0:00:00");
    expect(formatDuration(72_400)).toBe("0:01:12");
    expect(formatDuration(3 * 3600_000 + 5_000)).toBe("3:00:05");
  });
});

describe("BadLineReport", () => {
  test("prints the first N in full, then says the rest are only counted, then how many were hidden", () => {
    const printed: string[] = [];
    const report = new BadLineReport(2, (l) => printed.push(l));
    for (let i = 1; i <= 5; i++) report.add(`a.ndjson:${i}`, "E_FRAME_JSON: not JSON");
    expect(printed).toEqual([
      "a.ndjson:1: E_FRAME_JSON: not JSON",
      "a.ndjson:2: E_FRAME_JSON: not JSON",
      "more bad lines follow; only their count is reported from here on",
    ]);
    expect(report.count).toBe(5);
    expect(report.closingLine()).toBe("3 more bad lines not shown (5 in all)");
    expect(new BadLineReport(2, () => undefined).closingLine()).toBeUndefined();
  });
});
