/**
 * The journal directory's layout and segment names. Web standards + `node:fs`.
 *
 *   <dir>/segments/<start µs, 16 digits>-<pid>.ndjson   journal lines, one file per segment
 *   <dir>/checkpoint.json                               how far DynamoDB has acknowledged (checkpoint.ts)
 *   <dir>/quarantine/<YYYY-MM-DD>.ndjson                frames that cannot be stored (quarantine.ts)
 *
 * Segment names sort in write order, within a process and across restarts: the start time is the
 * receive clock when the segment was opened, raised above every existing name if the wall clock went
 * back (NTP step, a new machine), so "later name = later data" holds even then. The pid tells apart
 * the segments of two runs and says which process wrote a segment.
 */
import { fsyncSync, mkdirSync, openSync, closeSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const SEGMENTS_DIR = "segments";
export const QUARANTINE_DIR = "quarantine";
export const CHECKPOINT_FILE = "checkpoint.json";

const SEGMENT_RE = /^(\d{16})-(\d+)\.ndjson$/;

/** `<µs16>-<pid>.ndjson`. */
export function segmentName(startMicros: number, pid: number): string {
  return `${String(Math.trunc(startMicros)).padStart(16, "0")}-${pid}.ndjson`;
}

/** Start time (µs) of a segment name, or undefined for another file. */
export function segmentStartMicros(name: string): number | undefined {
  const match = SEGMENT_RE.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function isSegmentName(name: string): boolean {
  return SEGMENT_RE.test(name);
}

/** Segment names of `dir` (the journal directory), oldest first; [] when there is none yet. */
export function listSegments(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, SEGMENTS_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names.filter(isSegmentName).sort();
}

/**
 * Start time for a new segment: `nowMicros`, or just after the newest existing start if that is
 * not earlier (so names keep sorting in write order when the clock goes back).
 */
export function nextSegmentStart(nowMicros: number, newestExisting: string | undefined): number {
  const newest = newestExisting === undefined ? undefined : segmentStartMicros(newestExisting);
  return newest !== undefined && newest >= nowMicros ? newest + 1 : Math.trunc(nowMicros);
}

export function segmentPath(dir: string, name: string): string {
  return join(dir, SEGMENTS_DIR, name);
}

/** Creates `<dir>/segments` and `<dir>/quarantine` (and `dir`) if missing. */
export function ensureJournalDirs(dir: string): void {
  mkdirSync(join(dir, SEGMENTS_DIR), { recursive: true });
  mkdirSync(join(dir, QUARANTINE_DIR), { recursive: true });
}

/**
 * fsyncs a directory, so a file created or renamed in it survives a power failure (POSIX: the
 * entry lives in the directory, not in the file). Best effort where a platform refuses it.
 */
export function fsyncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory (EINVAL); the data files are still synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
