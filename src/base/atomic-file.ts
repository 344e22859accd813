/**
 * Replacing a small file atomically: a temporary file in the same directory, fsync, rename over the
 * old one. Readers see the old file or the new one, whole, never half of one. Web standards +
 * `node:fs`.
 *
 * The rename lives in the directory: a caller that needs the new file to survive a power failure
 * fsyncs the directory afterwards (journal/segments.ts `fsyncDirectory`).
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";

/**
 * Writes `text` to `temp` (default `<path>.tmp`), fsyncs it, and renames it to `path`. Throws the
 * `node:fs` error; a temporary file written before the failure is left for the caller to remove.
 */
export function writeFileAtomically(path: string, text: string, temp = `${path}.tmp`): void {
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}
