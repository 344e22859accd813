/**
 * `obcap table migrate` on DynamoDB Local. Invariant attacked: whatever layouts, a migrated table
 * exports the same bytes, and rebuilds the same book, as its source; stopped by SIGINT and resumed,
 * it still does (no event lost, none twice); a copy run again changes nothing; the errors a user can
 * make are refused before anything is written.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EXIT } from "../../src/base/errors.ts";
import { journalLine } from "../../src/journal/journal-line.ts";
import { buildJournal, PAIR, type Built } from "../support/book-journal.ts";
import { runObcap, scanEvents, startObcap, testClient } from "../support/capture-harness.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { createTestTable, uniqueTableName } from "../support/test-table.ts";
import { testTempDir } from "../support/temp-dirs.ts";

let endpoint: string;
let client: DynamoDBClient;
let built: Built;
let source: string;
let dir: string;

async function replay(path: string, table: string): Promise<void> {
  const run = await runObcap("source", ["replay", path, "--table", table, "--endpoint", endpoint, "--checkpoint", join(dir, `${table}.cp`)], {}, 120_000);
  if (run.code !== 0) throw new Error(`replay failed (${run.code}):\n${run.stderr}`);
}

function migrate(args: string[]) {
  return runObcap("source", ["table", "migrate", "--endpoint", endpoint, "--checkpoint", join(dir, `${args[1]}.migrate.cp`), ...args], {}, 120_000);
}

/** Everything of the pair (a range around the data: the journal format looks for snapshots day by day). */
async function exported(table: string, format = "journal", range = ["--from", "2023-01-01", "--to", "2027-01-01"]): Promise<string> {
  const run = await runObcap("source", ["export", "--table", table, "--endpoint", endpoint, "--pair", PAIR, ...range, "--format", format]);
  expect(run.code).toBe(0);
  return run.stdout;
}

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  dir = testTempDir("migrate-it");
  built = buildJournal(91, 3000, 500);
  source = await createTestTable(client, "migrate-src");
  await replay(built.dir, source);
}, 180_000);
afterAll(() => client.destroy());

describe("table migrate", () => {
  test("event -> packed -> event: each copy exports the same bytes (frames, snapshots, gaps) and rebuilds the same book", async () => {
    const packed = uniqueTableName("migrate-packed");
    const run = await migrate(["--table", source, "--to-table", packed, "--from-layout", "event", "--to-layout", "packed"]);
    expect({ code: run.code, err: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, err: "" });
    expect(run.stderr).toMatch(/table migrate summary: .*events \d+, gap records [1-9]\d*, snapshot items [1-9]\d*/);
    const back = uniqueTableName("migrate-back");
    expect((await migrate(["--table", packed, "--to-table", back, "--from-layout", "packed", "--to-layout", "event"])).code).toBe(0);
    const original = await exported(source);
    expect(original.split("\n").length).toBeGreaterThan(3000);
    expect(await exported(packed)).toBe(original);
    expect(await exported(back)).toBe(original);
    // The packed copy holds windows, not event items; the copy back holds the source's items exactly.
    expect((await scanEvents(client, back)).length).toBe((await scanEvents(client, source)).length);
    const at = built.firstSnapshotMicros + Math.floor((built.truth.micros.at(-1)! - built.firstSnapshotMicros) / 2);
    const books = await Promise.all([source, packed].map((t) => runObcap("source", ["book", "--table", t, "--endpoint", endpoint, "--pair", PAIR, "--at", String(at), "--l3", "--json", "--depth", "100000"])));
    expect(books[0]!.code).toBe(0);
    const withoutSource = (text: string) => ({ ...(JSON.parse(text) as Record<string, unknown>), source: undefined });
    expect(withoutSource(books[1]!.stdout)).toEqual(withoutSource(books[0]!.stdout));
    // Run again: the packed windows already hold every event (the conditional puts find the same content).
    const again = await migrate(["--table", source, "--to-table", packed, "--from-layout", "event", "--to-layout", "packed"]);
    expect(again.code).toBe(0);
    expect(await exported(packed)).toBe(original);
  }, 180_000);

  test("a time range and a pair: only that range is copied", async () => {
    const micros = built.truth.micros;
    const from = micros[Math.floor(micros.length / 3)]!;
    const to = micros[Math.floor((2 * micros.length) / 3)]!;
    const part = uniqueTableName("migrate-part");
    const run = await migrate(["--table", source, "--to-table", part, "--from-layout", "event", "--to-layout", "packed", "--pair", PAIR, "--from", String(from), "--to", String(to)]);
    expect(run.code).toBe(0);
    const range = ["--from", String(from), "--to", String(to)];
    const want = await runObcap("source", ["export", "--table", source, "--endpoint", endpoint, "--pair", PAIR, ...range]);
    const got = await runObcap("source", ["export", "--table", part, "--endpoint", endpoint, "--pair", PAIR, "--from", "2000-01-01", "--to", "2100-01-01"]);
    expect(got.stdout).toBe(want.stdout);
    expect(got.stdout.length).toBeGreaterThan(0);
  }, 120_000);

  test("SIGINT between hours saves the checkpoint (exit 4); --resume finishes it: every event once", async () => {
    // 40 hours of sparse frames: enough hours for the signal to land mid-copy.
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 4000, seed: 17, meanGapMs: 45_000 });
    const path = join(dir, "sparse.ndjson");
    writeFileSync(path, frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f)).join(""));
    const sparse = await createTestTable(client, "migrate-sparse");
    await replay(path, sparse);
    const dest = uniqueTableName("migrate-resumed");
    const args = ["table", "migrate", "--endpoint", endpoint, "--checkpoint", join(dir, "resume.cp"), "--table", sparse, "--to-table", dest, "--from-layout", "event", "--to-layout", "packed", "--verbose"];
    const first = startObcap("source", args);
    await first.waitForLog(/progress: hour \d{10} done/, 60_000);
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(EXIT.transient);
    expect(first.stderr()).toContain("checkpoint saved in");
    const second = await runObcap("source", [...args, "--resume"], {}, 120_000);
    expect({ code: second.code, err: second.code === 0 ? "" : second.stderr }).toEqual({ code: 0, err: "" });
    expect(second.stderr).toMatch(/resuming after hour \d{10}/);
    expect(second.stderr).toMatch(/hours \d+ \(\+[1-9]\d* done before\)/);
    expect(await exported(dest, "frames")).toBe(await exported(sparse, "frames"));
    expect((await scanEvents(client, dest)).filter((i) => !i.pk!.S!.endsWith("#gaps")).length).toBe(frames.length);
  }, 180_000);

  test("mistakes are refused before anything is written: a wrong --from-layout, the same table, a checkpoint of another run", async () => {
    const wrong = await migrate(["--table", source, "--to-table", uniqueTableName("migrate-x"), "--from-layout", "packed", "--to-layout", "event"]);
    expect(wrong.code).toBe(EXIT.usage);
    expect(wrong.stderr).toContain(`table ${source} stores events in the event layout, not packed: run again with --from-layout event`);
    const same = await migrate(["--table", source, "--to-table", source, "--from-layout", "event", "--to-layout", "packed"]);
    expect(same.code).toBe(EXIT.usage);
    expect(same.stderr).toContain("--to-table must be another table");
    const noLayout = await migrate(["--table", source, "--to-table", uniqueTableName("migrate-y")]);
    expect(noLayout.code).toBe(EXIT.usage);
    expect(noLayout.stderr).toContain("--from-layout must be event or packed");
    const cp = join(dir, "other.cp");
    writeFileSync(cp, JSON.stringify({ version: 1, source: "A", destination: "B", pairs: null, fromMicros: 0, toMicros: Number.MAX_SAFE_INTEGER, doneThroughHour: null, updatedAt: "" }));
    const mismatch = await runObcap("source", ["table", "migrate", "--endpoint", endpoint, "--checkpoint", cp, "--table", source, "--to-table", uniqueTableName("migrate-z"), "--from-layout", "event", "--to-layout", "packed", "--resume"]);
    expect(mismatch.code).toBe(EXIT.usage);
    expect(mismatch.stderr).toContain("[E_CHECKPOINT_MISMATCH]");
  }, 120_000);
});
