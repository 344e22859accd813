/**
 * Helpers of the journal tests: read a journal directory back (frames, quarantine, checkpoint),
 * create a table, compare what the table holds with what was sent (a multiset: "exactly once").
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { parseRecordedLine } from "../../src/journal/journal-line.ts";
import { listSegments, segmentPath } from "../../src/journal/segments.ts";
import { createTable } from "../../src/store/dynamodb/table.ts";
import { decodeItem } from "../../src/store/dynamodb/item-codec.ts";
import { scanEvents } from "./capture-harness.ts";
import { uniqueTableName } from "./env.ts";

/** The frames of every complete journal line, in journal order. */
export function journaledFrames(dir: string): string[] {
  const frames: string[] = [];
  for (const name of listSegments(dir)) {
    const text = readFileSync(segmentPath(dir, name), "utf8");
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    for (const line of complete.split("\n")) {
      if (line === "") continue;
      const parsed = parseRecordedLine(line);
      if (parsed.kind !== "journal") throw new Error(`unexpected journal line in ${name}: ${line.slice(0, 120)}`);
      frames.push(parsed.frame);
    }
  }
  return frames;
}

/** Lines of all segments, as text. */
export function journalLines(dir: string): string[] {
  return listSegments(dir).flatMap((name) => readFileSync(segmentPath(dir, name), "utf8").split("\n").filter((l) => l !== ""));
}

/** Every quarantine record of the directory. */
export function quarantineRecords(dir: string): Array<Record<string, unknown>> {
  const qdir = join(dir, "quarantine");
  if (!existsSync(qdir)) return [];
  return readdirSync(qdir).sort().flatMap((name) =>
    readFileSync(join(qdir, name), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

/** Creates a table with obcap's layout and returns its name. */
export async function createJournalTestTable(client: DynamoDBClient, prefix: string): Promise<string> {
  const table = uniqueTableName(prefix);
  await createTable({ client, table, shards: 4 });
  return table;
}

/** The event frames the table holds, rebuilt from the items (byte-identical for compact frames); gap items left out. */
export async function storedFrames(client: DynamoDBClient, table: string): Promise<string[]> {
  return (await scanEvents(client, table)).filter((item) => !item.pk?.S?.endsWith("#gaps")).map(decodeItem);
}

/** Asserts that `stored` holds every frame of `expected` exactly as many times, and nothing else. */
export function expectExactlyOnce(stored: readonly string[], expected: readonly string[]): void {
  const counts = new Map<string, number>();
  for (const f of expected) counts.set(f, (counts.get(f) ?? 0) + 1);
  const extra: string[] = [];
  for (const f of stored) {
    const n = counts.get(f);
    if (n === undefined || n === 0) extra.push(f);
    else counts.set(f, n - 1);
  }
  const missing = [...counts].filter(([, n]) => n > 0).map(([f]) => f);
  expect({ missingCount: missing.length, missing: missing.slice(0, 2) }).toEqual({ missingCount: 0, missing: [] });
  expect({ extraCount: extra.length, extra: extra.slice(0, 2) }).toEqual({ extraCount: 0, extra: [] });
}
