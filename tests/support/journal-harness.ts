/**
 * Helpers of the journal tests: read a journal directory back (frames, quarantine, checkpoint),
 * compare what the table holds with what was sent (a multiset: "exactly once"). Tables: test-table.ts.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { parseRecordedLine } from "../../src/journal/journal-line.ts";
import { gunzipSync } from "node:zlib";
import { listSegments, segmentFile } from "../../src/journal/segments.ts";
import { isGapItem } from "../../src/store/dynamodb/gap-item.ts";
import { decodeItem } from "../../src/store/dynamodb/item-decoder.ts";
import { GAP_ATTRIBUTES } from "../../src/store/dynamodb/item-fields.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";
import { parseGapPartitionKey } from "../../src/store/dynamodb/keys.ts";
import { scanEvents } from "./capture-harness.ts";

/** The frames of every complete journal line, in journal order (obcap's own records left out: {@link journaledGaps}). */
export function journaledFrames(dir: string): string[] {
  return journalRecords(dir).flatMap((r) => (r.kind === "journal" ? [r.frame] : []));
}

/** The gap records of the journal, one entry per channel, with the line's receive time. */
export function journaledGaps(dir: string): Array<{ channel: string; start: number; end: number; reason: string; rx: number }> {
  return journalRecords(dir).flatMap((r) => {
    if (r.kind !== "own" || !r.record.startsWith('{"event":"obcap:gap"')) return []; // order book snapshots are own records too
    const record = JSON.parse(r.record) as { channels: string[]; data: { start_us: string; end_us: string; reason: string } };
    return record.channels.map((channel) => ({ channel, start: Number(record.data.start_us), end: Number(record.data.end_us), reason: record.data.reason, rx: r.rxMicros }));
  });
}

type JournalRecord =
  | { kind: "journal"; rxMicros: number; frame: string }
  | { kind: "binary"; rxMicros: number; bytes: Uint8Array }
  | { kind: "own"; rxMicros: number; record: string };

/** Every complete line of the journal, parsed, in journal order; a line of another kind is an error. */
export function journalRecords(dir: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (const name of listSegments(dir)) {
    const text = segmentText(dir, name);
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    for (const line of complete.split("\n")) {
      if (line === "") continue;
      const parsed = parseRecordedLine(line);
      if (parsed.kind !== "journal" && parsed.kind !== "own" && parsed.kind !== "binary") throw new Error(`unexpected journal line in ${name}: ${line.slice(0, 120)}`);
      records.push(parsed);
    }
  }
  return records;
}

/** Lines of all segments, as text (frames and obcap's own records). */
export function journalLines(dir: string): string[] {
  return listSegments(dir).flatMap((name) => segmentText(dir, name).split("\n").filter((l) => l !== ""));
}

/** A segment's lines as text, whether it is still plain or already compressed (any gzip reader reads it). */
export function segmentText(dir: string, name: string): string {
  const file = segmentFile(dir, name);
  const bytes = readFileSync(file.path);
  return (file.compressed ? gunzipSync(bytes) : bytes).toString("utf8");
}

/** Every quarantine record of the directory. */
export function quarantineRecords(dir: string): Array<Record<string, unknown>> {
  const qdir = join(dir, "quarantine");
  if (!existsSync(qdir)) return [];
  return readdirSync(qdir).sort().flatMap((name) =>
    readFileSync(join(qdir, name), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
  );
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

/** A gap item of the table: its channel, interval (µs) and reason. */
export interface Gap {
  channel: string;
  start: number;
  end: number;
  reason: string;
}

export function gapsOfTable(items: Item[]): Gap[] {
  return items.filter(isGapItem).map((item) => {
    const { pair, stream } = parseGapPartitionKey(item.pk!.S!)!;
    return {
      channel: `live_${stream}_${pair}`,
      start: Number(item[GAP_ATTRIBUTES.start]!.N),
      end: Number(item[GAP_ATTRIBUTES.end]!.N),
      reason: item[GAP_ATTRIBUTES.reason]!.S!,
    };
  });
}

