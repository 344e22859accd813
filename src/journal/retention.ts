/**
 * Retention: deletes journal segments that DynamoDB has fully acknowledged and that are older than
 * `--journal-keep`. Web standards + `node:fs`.
 *
 * A segment is fully acknowledged when the checkpoint is in a later segment. Age is the time since its
 * last write (mtime of its file, plain or compressed), so a segment is kept `keepMs` after the data in
 * it was received, whatever the time it took to upload. Without `--table` nothing is acknowledged, so
 * nothing is deleted here (the disk budget, disk-budget.ts, still applies).
 */
import { statSync } from "node:fs";
import type { JournalPosition } from "./checkpoint.ts";
import { deleteSegment, listSegments, segmentFile } from "./segments.ts";

export interface RetentionResult {
  deleted: string[];
  deletedBytes: number;
}

/** Deletes acknowledged segments last written more than `keepMs` before `nowMs` (wall clock). */
export function deleteAcknowledgedSegments(dir: string, acknowledged: JournalPosition, keepMs: number, nowMs = Date.now()): RetentionResult {
  const result: RetentionResult = { deleted: [], deletedBytes: 0 };
  for (const name of listSegments(dir)) {
    if (name >= acknowledged.segment) break; // sorted: the rest is not fully acknowledged
    try {
      const stat = statSync(segmentFile(dir, name).path);
      if (nowMs - stat.mtimeMs < keepMs) continue;
      result.deletedBytes += deleteSegment(dir, name);
      result.deleted.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return result;
}
