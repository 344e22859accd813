/**
 * Retention: deletes journal segments that DynamoDB has fully acknowledged and that are older than
 * `--journal-keep`. Web standards + `node:fs`.
 *
 * A segment is fully acknowledged when the checkpoint is in a later segment. Age is the time since its
 * last write (mtime), so a segment is kept `keepMs` after the data in it was received, whatever the
 * time it took to upload. Without `--table` nothing is acknowledged, so nothing is deleted: then the
 * journal is the output.
 */
import { statSync, unlinkSync } from "node:fs";
import type { JournalPosition } from "./checkpoint.ts";
import { listSegments, segmentPath } from "./segments.ts";

export interface RetentionResult {
  deleted: string[];
  deletedBytes: number;
}

/** Deletes acknowledged segments last written more than `keepMs` before `nowMs` (wall clock). */
export function deleteAcknowledgedSegments(dir: string, acknowledged: JournalPosition, keepMs: number, nowMs = Date.now()): RetentionResult {
  const result: RetentionResult = { deleted: [], deletedBytes: 0 };
  for (const name of listSegments(dir)) {
    if (name >= acknowledged.segment) break; // sorted: the rest is not fully acknowledged
    const path = segmentPath(dir, name);
    try {
      const stat = statSync(path);
      if (nowMs - stat.mtimeMs < keepMs) continue;
      unlinkSync(path);
      result.deleted.push(name);
      result.deletedBytes += stat.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return result;
}
