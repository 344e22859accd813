/**
 * What `obcap replay <file|dir|-> ...` reads: the command-line paths resolved into an ordered list of
 * inputs, each with the identity a checkpoint records (absolute path, size, modification time).
 *
 * A directory stands for the recordings in it, in name order with numbers compared as numbers
 * (`segment-2` before `segment-10`), not recursively. Recordings are files named `*.ndjson`,
 * `*.jsonl`, `*.txt`, `*.log`, each optionally `.gz`, or `*.gz`; other names (`checkpoint.json`,
 * temp files, hidden files) are left out and listed at debug level. A capture's journal directory
 * (it has a `segments/` folder) stands for its segments, oldest first; its quarantine is not
 * replayed. Whether a file is gzip is decided by its first bytes, not its name.
 */
import { readdirSync, statSync, type Stats } from "node:fs";
import { join, resolve } from "node:path";
import { obcapError } from "../base/errors.ts";

/** One input of a replay. */
export interface ReplayInput {
  /** `-` for stdin, else the path as named on the command line (or `dir/name` for a directory entry). */
  name: string;
  /** Absolute path; undefined for stdin. */
  path: string | undefined;
  /** Size in bytes when the replay started (stdin: undefined). */
  sizeBytes: number | undefined;
  /** Modification time, ms since the epoch (stdin: undefined). */
  mtimeMs: number | undefined;
}

/** The name `-` on the command line: standard input. */
export const STDIN_NAME = "-";

const RECORDING_NAME_RE = /\.(?:(?:ndjson|jsonl|txt|log)(?:\.gz)?|gz)$/i;
/** The segments folder of a capture's journal directory (src/journal/segments.ts). */
const JOURNAL_SEGMENTS_DIR = "segments";

/** Resolves the command-line inputs; throws E_INPUT_UNREADABLE naming the first bad path. */
export function resolveInputs(names: readonly string[], onIgnored?: (path: string) => void): ReplayInput[] {
  if (names.length === 0) {
    throw obcapError("E_USAGE", "no input given: e.g. 'obcap replay capture.ndjson --table Orders' ('-' reads stdin)");
  }
  const inputs: ReplayInput[] = [];
  let stdinSeen = false;
  for (const name of names) {
    if (name === STDIN_NAME) {
      if (stdinSeen) throw obcapError("E_USAGE", "'-' (stdin) is given twice: stdin can be read once");
      stdinSeen = true;
      inputs.push({ name, path: undefined, sizeBytes: undefined, mtimeMs: undefined });
      continue;
    }
    const path = resolve(name);
    const stats = statOrThrow(path, name);
    if (stats.isDirectory()) {
      inputs.push(...directoryInputs(path, name, onIgnored));
    } else if (stats.isFile()) {
      inputs.push(fileInput(name, path, stats));
    } else {
      throw obcapError("E_INPUT_UNREADABLE", `input ${name} is not a regular file or directory: give a recording (.ndjson, .ndjson.gz), a directory of them, or '-'`);
    }
  }
  return inputs;
}

function directoryInputs(dir: string, name: string, onIgnored?: (path: string) => void): ReplayInput[] {
  const segments = join(dir, JOURNAL_SEGMENTS_DIR);
  if (isDirectory(segments)) return directoryInputs(segments, join(name, JOURNAL_SEGMENTS_DIR), onIgnored);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw unreadable(name, err);
  }
  const collator = new Intl.Collator("en", { numeric: true });
  const inputs: ReplayInput[] = [];
  const present = new Set(entries);
  for (const entry of entries.sort(collator.compare)) {
    // A journal segment being compressed exists twice for a moment (segments.ts): its plain file is read.
    if (entry.endsWith(".gz") && present.has(entry.slice(0, -3))) {
      onIgnored?.(join(name, entry));
      continue;
    }
    const path = join(dir, entry);
    const entryName = join(name, entry);
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch {
      onIgnored?.(entryName);
      continue;
    }
    if (!stats.isFile() || entry.startsWith(".") || !RECORDING_NAME_RE.test(entry)) {
      onIgnored?.(entryName);
      continue;
    }
    inputs.push(fileInput(entryName, path, stats));
  }
  if (inputs.length === 0) {
    throw obcapError(
      "E_INPUT_UNREADABLE",
      `directory ${name} holds no recordings (files named *.ndjson, *.jsonl, *.txt, *.log, optionally .gz): name the files instead`,
    );
  }
  return inputs;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function fileInput(name: string, path: string, stats: Stats): ReplayInput {
  return { name, path, sizeBytes: stats.size, mtimeMs: stats.mtimeMs };
}

function statOrThrow(path: string, name: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    throw unreadable(name, err);
  }
}

function unreadable(name: string, err: unknown) {
  const code = (err as { code?: string }).code;
  const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable (permission denied)" : `cannot be read (${code ?? String(err)})`;
  return obcapError("E_INPUT_UNREADABLE", `input ${name} ${why}: check the path`, err);
}
