import { describe, expect, test } from "bun:test";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { isSegmentName, listSegments, nextSegmentStart, segmentName, segmentStartMicros } from "../../../src/journal/segments.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

describe("segment names", () => {
  test("are the start time in 16 digits and the pid, and give the start time back", () => {
    const name = segmentName(1788551766927713, 4242);
    expect(name).toBe("1788551766927713-4242.ndjson");
    expect(segmentStartMicros(name)).toBe(1788551766927713);
    expect(isSegmentName(name)).toBe(true);
    expect(isSegmentName("checkpoint.json")).toBe(false);
    expect(segmentName(5, 1)).toBe("0000000000000005-1.ndjson");
  });

  test("sort in write order even when the clock goes back between two runs", () => {
    const first = segmentName(nextSegmentStart(2_000_000, undefined), 900);
    // The next run's clock reads earlier (NTP step): its segment must still sort after.
    const second = segmentName(nextSegmentStart(1_000_000, first), 12);
    const third = segmentName(nextSegmentStart(3_000_000, second), 7);
    expect([third, first, second].sort()).toEqual([first, second, third]);
    expect(segmentStartMicros(second)).toBe(2_000_001);
  });

  test("listing returns only segment files, oldest first, and nothing for a new directory", () => {
    const dir = testTempDir("segments");
    expect(listSegments(dir)).toEqual([]);
    mkdirSync(join(dir, "segments"));
    for (const name of ["0000000000000300-1.ndjson", "0000000000000100-2.ndjson", "notes.txt", "0000000000000200-3.ndjson.tmp"]) {
      writeFileSync(join(dir, "segments", name), "");
    }
    expect(listSegments(dir)).toEqual(["0000000000000100-2.ndjson", "0000000000000300-1.ndjson"]);
  });
});
