import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Quarantine } from "../../../src/journal/quarantine.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

describe("quarantine", () => {
  test("keeps each record with code, reason, place and the whole line, one file per UTC day", () => {
    const dir = testTempDir("quarantine");
    let now = new Date("2026-08-09T23:59:59Z");
    const q = new Quarantine(dir, () => now);
    q.add({ code: "E_FRAME_JSON", reason: "not JSON", rxMicros: 5, segment: "0000000000000001-1.ndjson", offset: 30, content: new TextEncoder().encode('{"rx":5,"m":not json{}') });
    now = new Date("2026-08-10T00:00:01Z");
    q.add({ code: "E_FRAME_OVERSIZE", reason: "too big", rxMicros: 6, content: "x".repeat(10), isFrame: true });
    q.close();
    expect(q.count).toBe(2);
    const day1 = readFileSync(q.pathFor(new Date("2026-08-09T00:00:00Z")), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(day1).toEqual([
      { at: "2026-08-09T23:59:59.000Z", code: "E_FRAME_JSON", reason: "not JSON", rx: 5, segment: "0000000000000001-1.ndjson", offset: 30, line: '{"rx":5,"m":not json{}' },
    ]);
    const day2 = JSON.parse(readFileSync(q.pathFor(now), "utf8"));
    expect(day2).toEqual({ at: "2026-08-10T00:00:01.000Z", code: "E_FRAME_OVERSIZE", reason: "too big", rx: 6, frame: "xxxxxxxxxx" });
  });

  test("bytes that are not UTF-8 are kept in base64", () => {
    const dir = testTempDir("quarantine");
    const q = new Quarantine(dir, () => new Date("2026-01-02T03:04:05Z"));
    q.add({ code: "E_JOURNAL_LINE", reason: "damaged", content: new Uint8Array([0xff, 0x41]) });
    q.close();
    expect(JSON.parse(readFileSync(q.pathFor(new Date("2026-01-02T00:00:00Z")), "utf8")).lineBase64).toBe("/0E=");
  });
});
