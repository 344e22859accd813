/** The journal keeper in a real directory: compression between drains, the budget, its figures. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JournalKeeper, type KeeperSettings } from "../../../src/journal/journal-keeper.ts";
import { writeCheckpoint } from "../../../src/journal/checkpoint.ts";
import { listSegments, segmentFile, segmentPath, SEGMENTS_DIR } from "../../../src/journal/segments.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const names = [1, 2, 3, 4].map((n) => `${1796420000000000 + n * 1_000_000}-7.ndjson`);

function journalLines(first: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `{"rx":${first + i},"m":{"n":${i},"pad":"${"p".repeat(200)}"}}\n`).join("");
}

function setup(settings: Partial<KeeperSettings>, lineCount = 2000) {
  const dir = testTempDir("keeper");
  mkdirSync(join(dir, SEGMENTS_DIR), { recursive: true });
  names.forEach((name, i) => writeFileSync(segmentPath(dir, name), journalLines(1796420000000000 + (i + 1) * 1_000_000, lineCount)));
  const gaps: Array<{ name: string; startMicros: number; endMicros: number }> = [];
  const warnings: string[] = [];
  let deletions = 0;
  let clock = 0;
  const keeper = new JournalKeeper(
    dir,
    { budgetBytes: 1e12, minFreeBytes: 0, policy: "drop-oldest", gzipLevel: 6, ...settings },
    { appendGap: (gap) => gaps.push(gap), warn: (m) => warnings.push(m), segmentsDeleted: () => deletions++ },
    () => clock,
  );
  return { dir, keeper, gaps, warnings, deletions: () => deletions, advance: (ms: number) => (clock += ms) };
}

describe("JournalKeeper", () => {
  test("compresses every closed segment, a block per tick, never the one being written", () => {
    const { dir, keeper, advance } = setup({});
    keeper.prepare();
    keeper.start(names[3]!);
    for (let i = 0; i < 200 && keeper.hasWork(); i++) keeper.tick(advance(10), true, 0);
    expect(keeper.hasWork()).toBe(false);
    expect(names.map((n) => segmentFile(dir, n).compressed)).toEqual([true, true, true, false]);
    const stats = keeper.stats();
    expect(stats.compressedSegments).toBe(3);
    expect(stats.compressedBytes * 5).toBeLessThan(stats.compressedPlainBytes);
  });

  test("over the budget it deletes acknowledged segments, then drops the oldest unacknowledged ones with their receive interval", () => {
    const { dir, keeper, gaps, warnings, deletions } = setup({ gzipLevel: 0, budgetBytes: 700_000 }); // each segment ~440 KB
    writeCheckpoint(dir, { segment: names[1]!, offset: 0 }, "T"); // names[0] is acknowledged
    keeper.prepare();
    // At start no segment is being written yet: three are removed to fit 700 KB, the first one acknowledged.
    expect(listSegments(dir)).toEqual([names[3]!]);
    expect(keeper.stats()).toMatchObject({ deletedSegments: 1, evictedSegments: 2 });
    expect(gaps.map((g) => [g.name, g.startMicros, g.endMicros])).toEqual([
      [names[1]!, 1796420002000000, 1796420002001999],
      [names[2]!, 1796420003000000, 1796420003001999],
    ]);
    expect(warnings.filter((w) => w.includes("dropped the oldest segment not yet in DynamoDB")).length).toBe(2);
    expect(deletions()).toBe(1);
  });

  test("stop policy: deletes what is acknowledged, then refuses to go on with E_JOURNAL_FULL", () => {
    const { dir, keeper } = setup({ gzipLevel: 0, budgetBytes: 700_000, policy: "stop" });
    writeCheckpoint(dir, { segment: names[1]!, offset: 0 }, "T");
    expect(() => keeper.prepare()).toThrow(expect.objectContaining({ code: "E_JOURNAL_FULL", message: expect.stringContaining("--journal-full drop-oldest") }));
    expect(existsSync(segmentPath(dir, names[0]!))).toBe(false);
    expect(listSegments(dir)).toEqual(names.slice(1));
  });

  test("warns at 80% of the budget, and says how many hours are left at the current rate", () => {
    const { keeper, warnings, advance } = setup({ gzipLevel: 0, budgetBytes: 2_000_000 }); // ~1.76 MB held
    keeper.prepare();
    keeper.start(names[3]!);
    let written = 0;
    for (let s = 0; s < 10; s++) keeper.tick(advance(1000), true, (written += 10_000));
    keeper.tick(advance(2000), true, (written += 20_000));
    expect(warnings.filter((w) => /uses .* of its .* budget \(\d+%\)/.test(w)).length).toBe(1); // once, not at every check
    expect(keeper.stats().hoursLeft).toBeGreaterThan(0);
  });
});
