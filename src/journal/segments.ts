/**
 * The journal directory's layout and segment names. Web standards + `node:fs`.
 *
 *   <dir>/segments/<start µs, 16 digits>-<pid>.ndjson   journal lines, one file per segment
 *   <dir>/segments/<...>.ndjson.gz                      a closed segment, compressed (gzip-members.ts)
 *   <dir>/checkpoint.json                               how far DynamoDB has acknowledged (checkpoint.ts)
 *   <dir>/quarantine/<YYYY-MM-DD>.ndjson                frames that cannot be stored (quarantine.ts)
 *
 * Segment names sort in write order, within a process and across restarts: the start time is the
 * receive clock when the segment was opened, raised above every existing name if the wall clock went
 * back (NTP step, a new machine), so "later name = later data" holds even then. The pid tells apart
 * the segments of two runs and says which process wrote a segment.
 *
 * A segment's name is its identity wherever it is stored, plain or compressed: the checkpoint, the
 * quarantine and the uploader's positions name `<µs16>-<pid>.ndjson` and count offsets in its lines.
 * While a segment is being compressed both files may exist for a moment (the compressed one is
 * complete before the plain one is deleted); readers take the plain one then.
 */
import { existsSync, fsyncSync, mkdirSync, openSync, closeSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";

export const SEGMENTS_DIR = "segments";
export const QUARANTINE_DIR = "quarantine";
export const CHECKPOINT_FILE = "checkpoint.json";

const SEGMENT_RE = /^(\d{16})-(\d+)\.ndjson$/;
/** A segment file: plain, compressed, or a compression in progress. */
const SEGMENT_FILE_RE = /^(\d{16}-\d+\.ndjson)(\.gz)?(\.tmp)?$/;

/** Suffix of a compressed segment. */
export const COMPRESSED_SUFFIX = ".gz";
/** Suffix of a compressed segment being written. */
export const TEMP_SUFFIX = ".tmp";

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

/** Segment names of `dir` (the journal directory), plain or compressed, oldest first; [] when there is none yet. */
export function listSegments(dir: string): string[] {
  const names = new Set<string>();
  for (const file of readSegmentsDir(dir)) {
    const match = SEGMENT_FILE_RE.exec(file);
    if (match && match[3] === undefined) names.add(match[1]!);
  }
  return [...names].sort();
}

/** Where segment `name` is now: its plain file if it has one, else its compressed file. */
export function segmentFile(dir: string, name: string): { path: string; compressed: boolean } {
  const plain = segmentPath(dir, name);
  return existsSync(plain) ? { path: plain, compressed: false } : { path: `${plain}${COMPRESSED_SUFFIX}`, compressed: true };
}

/** Deletes segment `name` in whatever files it has (plain, compressed); returns the bytes freed. */
export function deleteSegment(dir: string, name: string): number {
  let freed = 0;
  for (const path of [segmentPath(dir, name), `${segmentPath(dir, name)}${COMPRESSED_SUFFIX}`]) {
    try {
      const bytes = statSync(path).size;
      unlinkSync(path);
      freed += bytes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return freed;
}

/**
 * Removes what a crash during a compression left: a `.gz.tmp` (incomplete), or the plain file of a
 * segment whose compressed file is complete. Run at start-up, before anything reads the segments.
 */
export function tidySegments(dir: string): string[] {
  const files = new Set(readSegmentsDir(dir));
  const removed: string[] = [];
  for (const file of files) {
    const match = SEGMENT_FILE_RE.exec(file);
    if (!match) continue;
    const stale = match[3] !== undefined || (match[2] === undefined && files.has(`${file}${COMPRESSED_SUFFIX}`));
    if (!stale) continue;
    try {
      unlinkSync(join(dir, SEGMENTS_DIR, file));
      removed.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  if (removed.length > 0) fsyncDirectory(join(dir, SEGMENTS_DIR));
  return removed;
}

function readSegmentsDir(dir: string): string[] {
  try {
    return readdirSync(join(dir, SEGMENTS_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
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
