/**
 * Where the previous capture in a journal directory stopped, so a new run can record the hole between
 * the two as a `restart` gap (or a `start` marker when there is no previous run). Web standards +
 * `node:fs`; called by the capture at start, after the lock and before the journal is written.
 *
 * - The previous run's end: the receive time of the last record it journaled through the ring (frames
 *   and gap records, which reach the journal in receive order), read from the tail of the newest
 *   segment that holds a complete line. Every frame it received before that record is journaled;
 *   frames after it (still queued at a kill, a crash, a power cut) are not, so the hole starts there.
 *   If the last frame's exchange time is earlier, the hole starts at that (events the exchange sent
 *   after it may carry times from there on; the same rule as a connection gap, model/gap-record.ts).
 * - The previous run's channels: `DIR/run.json`, which every run writes at start, before journaling
 *   anything (so after a kill it still describes the killed run). A channel the previous run did not
 *   capture gets a `start` marker instead of a `restart` gap: it was not covered before either.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { writeFileAtomically } from "../base/atomic-file.ts";
import { exchangeMicrosOf } from "../model/gap-record.ts";
import { parseRecordedLine } from "./journal-line.ts";
import { fsyncDirectory, listSegments } from "./segments.ts";
import { openSegmentReader, type SegmentReader } from "./segment-reader.ts";

export const RUN_FILE = "run.json";
/** Bytes read from a segment's end to find its last complete line; doubled while a line is longer. */
const TAIL_BYTES = 256 * 1024;

export interface PreviousRun {
  /** Where the hole starts: the last journaled record's receive time, or its frame's exchange time if earlier (µs). */
  endMicros: number;
  /** The segment the last record is in. */
  segment: string;
  /** Channels it captured; undefined when unknown (no run.json: a journal of an older obcap). */
  channels?: readonly string[];
}

const RunFileSchema = v.object({
  version: v.literal(1),
  channels: v.array(v.string()),
  startedAt: v.string(),
  pid: v.number(),
});

/**
 * The previous run of `dir`, or undefined when no segment holds a complete line (a first run, or a
 * journal whose segments were all deleted). Throws on I/O errors other than a missing directory.
 */
export function readPreviousRun(dir: string): PreviousRun | undefined {
  const segments = listSegments(dir);
  for (let i = segments.length - 1; i >= 0; i--) {
    const name = segments[i]!;
    const end = lastRecordEnd(dir, name);
    if (end !== undefined) return { endMicros: end, segment: name, ...channelsOf(dir) };
  }
  return undefined;
}

/** Records this run's channels in `DIR/run.json` (atomically: temporary file, fsync, rename, directory fsync). */
export function writeRunFile(dir: string, channels: readonly string[], pid: number, now = new Date()): void {
  writeFileAtomically(join(dir, RUN_FILE), `${JSON.stringify({ version: 1, channels, startedAt: now.toISOString(), pid })}\n`);
  fsyncDirectory(dir);
}

function channelsOf(dir: string): { channels?: readonly string[] } {
  let text: string;
  try {
    text = readFileSync(join(dir, RUN_FILE), "utf8");
  } catch {
    return {};
  }
  try {
    const parsed = v.safeParse(RunFileSchema, JSON.parse(text));
    return parsed.success ? { channels: parsed.output.channels } : {};
  } catch {
    return {};
  }
}

/** The end of the last complete record in one segment (plain or compressed), or undefined if it holds none. */
function lastRecordEnd(dir: string, name: string): number | undefined {
  const text = withReader(dir, name, tailLines);
  return text === undefined ? undefined : endOfLines(text);
}

/**
 * The receive times of the first and last records of segment `name` (plain or compressed): the
 * interval a gap record names when the segment is dropped. Undefined when it holds no complete line.
 */
export function segmentRxRange(dir: string, name: string): { firstMicros: number; lastMicros: number } | undefined {
  const ends = withReader(dir, name, (reader) => {
    const head = headLines(reader);
    const tail = tailLines(reader);
    return head === undefined || tail === undefined ? undefined : [rxOfLines(head, Math.min), rxOfLines(tail, Math.max)];
  });
  if (ends === undefined || ends[0] === undefined || ends[1] === undefined) return undefined;
  return { firstMicros: ends[0], lastMicros: ends[1] };
}

function withReader<T>(dir: string, name: string, use: (reader: SegmentReader) => T | undefined): T | undefined {
  let reader: SegmentReader;
  try {
    reader = openSegmentReader(dir, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return use(reader);
  } finally {
    reader.close();
  }
}

/** The complete lines at the end of the segment (read further back while the last one is longer). */
function tailLines(reader: SegmentReader): string | undefined {
  const size = reader.size();
  for (let want = TAIL_BYTES; ; want *= 2) {
    const length = Math.min(size, want);
    const text = readText(reader, size - length, length);
    // Complete lines only: from the first newline (unless the read starts at byte 0) to the last.
    const from = length === size ? 0 : text.indexOf("\n") + 1;
    const to = text.lastIndexOf("\n");
    if (to >= from) return text.slice(from, to);
    if (length === size) return undefined;
  }
}

/** The complete lines at the start of the segment. */
function headLines(reader: SegmentReader): string | undefined {
  const size = reader.size();
  for (let want = TAIL_BYTES; ; want *= 2) {
    const text = readText(reader, 0, Math.min(size, want));
    const to = text.lastIndexOf("\n");
    if (to >= 0) return text.slice(0, to);
    if (want >= size) return undefined;
  }
}

function readText(reader: SegmentReader, offset: number, length: number): string {
  const bytes = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const n = reader.read(bytes, read, length - read, offset + read);
    if (n === 0) break;
    read += n;
  }
  return new TextDecoder().decode(bytes.subarray(0, read));
}

/** The smallest or largest receive time among the records of `text`. */
function rxOfLines(text: string, pick: (a: number, b: number) => number): number | undefined {
  let rx: number | undefined;
  for (const line of text.split("\n")) {
    const record = parseRecordedLine(line);
    if (record.kind !== "journal" && record.kind !== "own" && record.kind !== "binary") continue;
    rx = rx === undefined ? record.rxMicros : pick(rx, record.rxMicros);
  }
  return rx;
}

/** The latest receive time of the records in `text` (lines), lowered to the last frame's exchange time if earlier. */
function endOfLines(text: string): number | undefined {
  let end: number | undefined;
  let lastFrame: string | undefined;
  for (const line of text.split("\n")) {
    const record = parseRecordedLine(line);
    if (record.kind !== "journal" && record.kind !== "own" && record.kind !== "binary") continue;
    if (end === undefined || record.rxMicros > end) end = record.rxMicros;
    if (record.kind === "journal") lastFrame = record.frame;
  }
  if (end === undefined) return undefined;
  const exchange = exchangeMicrosOf(lastFrame);
  return exchange !== undefined && exchange < end ? exchange : end;
}
