/**
 * The book at an instant and series of it, read from a journal directory (src/history/), against the
 * truth: the test exchange's simulated book as it stood after each frame (tests/support/book-journal.ts).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ObcapError } from "../../../src/base/errors.ts";
import { bookFromSnapshot } from "../../../src/book/snapshot-book.ts";
import { bookSeries } from "../../../src/book/book-series.ts";
import { bookAt } from "../../../src/history/book-at.ts";
import { JournalHistory } from "../../../src/history/journal-history.ts";
import { seriesAtSteps } from "../../../src/history/series-at-steps.ts";
import { checkSnapshots } from "../../../src/history/snapshot-check.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { buildJournal, ordersOf, PAIR, truthAt, truthOrders } from "../../support/book-journal.ts";
import { seededRandom } from "../../support/seeded-random.ts";

describe("the book at an instant from a journal directory", () => {
  const built = buildJournal(71, 3000, 500);
  const source = new JournalHistory(built.dir);
  const last = built.truth.micros.at(-1)!;

  test("at instants after the first snapshot: the exchange's true orders and L2 levels, exactly", async () => {
    const rand = seededRandom(5);
    for (let k = 0; k < 12; k++) {
      const at = built.firstSnapshotMicros + Math.floor(rand() * (last - built.firstSnapshotMicros));
      const result = await bookAt(source, PAIR, at);
      const truth = truthAt(built.truth, at);
      expect(ordersOf(result.book)).toEqual(truthOrders(truth));
      const trueBook = bookFromSnapshot(truth);
      expect(result.book.depth(1000)).toEqual(trueBook.depth(1000));
      expect(result.book.crossed).toBe(false);
      expect(result.snapshot.microtimestamp).toBeLessThanOrEqual(at);
      expect(result.eventsApplied).toBeGreaterThan(0);
    }
  });

  test("a gap inside the window is reported as a warning naming it; outside it, none", async () => {
    const inside = await bookAt(source, PAIR, built.gap.endMicros + 1000);
    expect(inside.gaps.map((g) => [g.startMicros, g.endMicros, g.reason])).toEqual([[built.gap.startMicros, built.gap.endMicros, "dropped"]]);
    expect(inside.warnings.join("\n")).toContain("gap (dropped)");
    const before = await bookAt(source, PAIR, built.firstSnapshotMicros + 1000);
    expect(before.gaps).toEqual([]);
    expect(before.warnings).toEqual([]);
  });

  test("before the first snapshot: E_NO_SNAPSHOT, not a book missing the resting orders", async () => {
    const err = await bookAt(source, PAIR, built.firstSnapshotMicros - 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObcapError);
    expect((err as ObcapError).code).toBe("E_NO_SNAPSHOT");
    expect((err as ObcapError).message).toContain(`journal ${built.dir}`);
  });

  test("a series: each row equals the true book at its step and the engine's own series over the sorted events", async () => {
    const from = built.firstSnapshotMicros + 10_000;
    const to = from + 2_000_000;
    const every = 100_000;
    const run = await seriesAtSteps(source, { pair: PAIR, fromMicros: from, toMicros: to, everyMicros: every, depth: 10 });
    const rows = [];
    for await (const row of run.rows) rows.push(row);
    expect(rows.length).toBe(21);
    for (const row of rows) {
      const trueBook = bookFromSnapshot(truthAt(built.truth, row.timeMicros));
      expect({ bids: row.bids, asks: row.asks }).toEqual(trueBook.depth(10));
    }
    const snapshot = await source.snapshotAtOrBefore(PAIR, from);
    const sorted = [...built.truth.events].sort((a, b) => Number(a.data.microtimestamp) - Number(b.data.microtimestamp) || a.rxMicros - b.rxMicros);
    const engine = [...bookSeries({ events: sorted, start: snapshot!.book, fromMicros: from, toMicros: to, everyMicros: every, depth: 10 })];
    expect(rows).toEqual(engine);
    const provenance = await run.provenance();
    expect(provenance.eventsApplied).toBeGreaterThan(0);
    expect(provenance.lateEvents).toBe(0);
  });
});

describe("the 2022 and 2023 frame formats (no event_id chain; 2023 adds amount_traded, amount_at_create)", () => {
  for (const [format, seed] of [["2022", 76], ["2023", 78]] as const) test(`${format}: the book at random instants equals the truth; no chain gaps are invented`, async () => {
    const built = buildJournal(seed, 2500, 500, { orderFormat: format });
    if (format === "2023") {
      const lines = readFileSync(join(built.dir, "segments", readdirSync(join(built.dir, "segments"))[0]!), "utf8");
      expect(lines).toContain('"amount_at_create"');
      expect(lines).not.toContain('"event_id"');
      expect(lines).not.toContain('"order_subtype"');
    }
    const source = new JournalHistory(built.dir);
    const rand = seededRandom(7);
    const last = built.truth.micros.at(-1)!;
    for (let k = 0; k < 6; k++) {
      const at = built.firstSnapshotMicros + Math.floor(rand() * (last - built.firstSnapshotMicros));
      const result = await bookAt(source, PAIR, at);
      expect(ordersOf(result.book)).toEqual(truthOrders(truthAt(built.truth, at)));
    }
    expect((await source.gaps(PAIR, 0, Number.MAX_SAFE_INTEGER)).map((g) => g.reason)).toEqual(["dropped"]);
  });
});

describe("the snapshot self-check", () => {
  test("a clean journal: every snapshot after the first equals the book rebuilt up to it, zero differences", async () => {
    const built = buildJournal(73, 3000, 400);
    const checks = await checkSnapshots(new JournalHistory(built.dir), PAIR, 0, Number.MAX_SAFE_INTEGER);
    expect(checks.length).toBeGreaterThanOrEqual(4);
    for (const check of checks) {
      expect({ at: check.snapshotMicros, count: check.diff.count }).toEqual({ at: check.snapshotMicros, count: 0 });
      expect(check.eventsApplied).toBeGreaterThan(0);
    }
  });

  test("one order_created withheld: the next snapshot names exactly that order as missing; the chain break is a gap", async () => {
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 3000, seed: 74, initialOrdersPerPair: 40 });
    const idOf = (frame: string) => /"id_str":"(\d+)"/.exec(frame)?.[1];
    // An order created mid-stream that no later frame touches: absent from the book from then on.
    const index = frames.findIndex((f, i) => i > 1500 && f.includes('"order_created"') && !frames.slice(i + 1).some((g) => g.includes(`"${idOf(f)}"`)));
    expect(index).toBeGreaterThan(0);
    const withheld = frames[index]!;
    const built = buildJournal(74, 3000, 400, { withhold: (f) => f === withheld });
    const source = new JournalHistory(built.dir);
    const checks = await checkSnapshots(source, PAIR, 0, Number.MAX_SAFE_INTEGER);
    const micros = Number(/"microtimestamp":"(\d+)"/.exec(withheld)![1]);
    const before = checks.filter((c) => c.snapshotMicros < micros);
    const after = checks.filter((c) => c.snapshotMicros >= micros);
    expect(before.every((c) => c.diff.count === 0)).toBe(true);
    expect(after.length).toBeGreaterThan(0);
    for (const check of after) {
      expect(check.diff.missing.map((o) => o.id)).toEqual([idOf(withheld)!]);
      expect(check.diff.extra).toEqual([]);
      expect(check.diff.different).toEqual([]);
    }
    // The first comparison after it also names the gap the event_id chain proves.
    expect(after[0]!.gaps.map((g) => g.reason)).toEqual(["chain"]);
    const at = await bookAt(source, PAIR, micros + 1000);
    if (at.snapshot.microtimestamp < micros) expect(at.warnings.join("\n")).toContain("gap (chain)");
  });
});
