import { describe, expect, test } from "bun:test";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deleteAcknowledgedSegments } from "../../../src/journal/retention.ts";
import { listSegments } from "../../../src/journal/segments.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const HOUR = 3_600_000;

function journalWith(ages: Record<string, number>, nowMs: number): string {
  const dir = testTempDir("retention");
  mkdirSync(join(dir, "segments"));
  for (const [name, ageMs] of Object.entries(ages)) {
    const path = join(dir, "segments", name);
    writeFileSync(path, "x\n");
    const t = (nowMs - ageMs) / 1000;
    utimesSync(path, t, t);
  }
  return dir;
}

describe("retention", () => {
  test("deletes only segments before the checkpoint's segment that are older than keep", () => {
    const now = Date.UTC(2026, 7, 9, 12);
    const dir = journalWith({
      "0000000000000001-1.ndjson": 30 * HOUR, // acknowledged, old: deleted
      "0000000000000002-1.ndjson": 2 * HOUR, // acknowledged, recent: kept
      "0000000000000003-1.ndjson": 30 * HOUR, // holds the checkpoint: kept
      "0000000000000004-1.ndjson": 30 * HOUR, // not acknowledged: kept
    }, now);
    const result = deleteAcknowledgedSegments(dir, { segment: "0000000000000003-1.ndjson", offset: 1 }, 24 * HOUR, now);
    expect(result).toEqual({ deleted: ["0000000000000001-1.ndjson"], deletedBytes: 2 });
    expect(listSegments(dir)).toEqual(["0000000000000002-1.ndjson", "0000000000000003-1.ndjson", "0000000000000004-1.ndjson"]);
  });

  test("with keep 0 every fully acknowledged segment goes", () => {
    const now = Date.now();
    const dir = journalWith({ "0000000000000001-1.ndjson": 0, "0000000000000002-1.ndjson": 0 }, now);
    deleteAcknowledgedSegments(dir, { segment: "0000000000000002-1.ndjson", offset: 0 }, 0, now);
    expect(listSegments(dir)).toEqual(["0000000000000002-1.ndjson"]);
  });
});
