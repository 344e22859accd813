/** The disk budget's decisions, and the defaults chosen from the disk at start. */
import { describe, expect, test } from "bun:test";
import { budgetActions, resolveBudget, type SegmentOnDisk } from "../../../src/journal/disk-budget.ts";

const MiB = 1024 * 1024;
const seg = (n: number, mib: number, acknowledged: boolean): SegmentOnDisk => ({ name: `${String(1796420000000000 + n * 1000).padStart(16, "0")}-1.ndjson`, diskBytes: mib * MiB, acknowledged });

describe("budgetActions", () => {
  const segments = [seg(1, 10, true), seg(2, 10, true), seg(3, 10, false), seg(4, 10, false), seg(5, 10, false)]; // the last is being written

  test("within the budget and above the floor: nothing", () => {
    expect(budgetActions({ segments, budgetBytes: 50 * MiB, freeBytes: 100 * MiB, minFreeBytes: 10 * MiB, policy: "drop-oldest" })).toEqual([]);
  });

  test("over the budget: acknowledged segments go first, oldest first, and only as many as needed", () => {
    expect(budgetActions({ segments, budgetBytes: 45 * MiB, freeBytes: 100 * MiB, minFreeBytes: 0, policy: "stop" })).toEqual([
      { kind: "delete", name: segments[0]!.name, diskBytes: 10 * MiB },
    ]);
  });

  test("drop-oldest: then the oldest unacknowledged segments, with the interval their gap names (never the one being written)", () => {
    const actions = budgetActions({ segments, budgetBytes: 15 * MiB, freeBytes: 100 * MiB, minFreeBytes: 0, policy: "drop-oldest" });
    expect(actions.map((a) => [a.kind, "name" in a ? a.name : ""])).toEqual([
      ["delete", segments[0]!.name], ["delete", segments[1]!.name], ["evict", segments[2]!.name], ["evict", segments[3]!.name],
    ]);
    expect(actions[2]).toMatchObject({ startMicros: 1796420000003000, endMicros: 1796420000004000 });
  });

  test("stop: the acknowledged ones go, then the capture stops with the reason", () => {
    const actions = budgetActions({ segments, budgetBytes: 15 * MiB, freeBytes: 100 * MiB, minFreeBytes: 0, policy: "stop" });
    expect(actions.map((a) => a.kind)).toEqual(["delete", "delete", "stop"]);
    expect(actions[2]).toMatchObject({ kind: "stop", reason: expect.stringContaining("20.0 MiB") });
  });

  test("the free-space floor counts like the budget, and a floor nothing can restore stops even with drop-oldest", () => {
    expect(budgetActions({ segments, budgetBytes: 1e12, freeBytes: 5 * MiB, minFreeBytes: 20 * MiB, policy: "drop-oldest" }).map((a) => a.kind)).toEqual(["delete", "delete"]);
    const hopeless = budgetActions({ segments, budgetBytes: 1e12, freeBytes: 0, minFreeBytes: 100 * MiB, policy: "drop-oldest" });
    expect(hopeless.at(-1)).toMatchObject({ kind: "stop", reason: expect.stringContaining("nothing of the journal is left") });
  });
});

describe("resolveBudget", () => {
  test("defaults: the floor is 5% of the disk (at least 256 MiB), the budget what the journal holds plus half the free space above the floor", () => {
    expect(resolveBudget({ freeBytes: 5000 * MiB, totalBytes: 8000 * MiB, journalBytes: 100 * MiB }, {})).toEqual({
      budgetBytes: 100 * MiB + Math.floor(0.5 * (5000 * MiB - 400 * MiB)), minFreeBytes: 400 * MiB, chosen: { max: true, minFree: true },
    });
    expect(resolveBudget({ freeBytes: 1000 * MiB, totalBytes: 1000 * MiB, journalBytes: 0 }, {}).minFreeBytes).toBe(256 * MiB);
  });

  test("the flags win", () => {
    expect(resolveBudget({ freeBytes: 1, totalBytes: 1, journalBytes: 0 }, { maxBytes: 2e9, minFreeBytes: 1e6 })).toEqual({ budgetBytes: 2e9, minFreeBytes: 1e6, chosen: { max: false, minFree: false } });
  });
});
