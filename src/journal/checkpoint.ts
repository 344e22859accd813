/**
 * The journal checkpoint: how far DynamoDB has acknowledged the journal. Web standards + `node:fs`.
 *
 *   <dir>/checkpoint.json  {"version":1,"segment":"<name>","offset":<bytes>,"table":"Orders","updatedAt":"<ISO>"}
 *
 * Meaning: every line of every segment named before `segment`, and every line of `segment` ending at
 * or before byte `offset`, is in the table (or was quarantined, or is a kind obcap does not store).
 * Start-up resumes reading there. Written atomically: a temporary file, fsync, rename over the old one,
 * fsync of the directory (readers see the old or the new checkpoint, never half of one). A lost or older checkpoint only
 * means some lines are uploaded again, which overwrites the same items (keys come from the content).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { writeFileAtomically } from "../base/atomic-file.ts";
import { CHECKPOINT_FILE, fsyncDirectory, isSegmentName } from "./segments.ts";

/** A place in the journal: the byte after a line's newline, in a segment. */
export interface JournalPosition {
  segment: string;
  offset: number;
}

export const CHECKPOINT_VERSION = 1;

export const CheckpointSchema = v.object({
  version: v.literal(CHECKPOINT_VERSION),
  segment: v.pipe(v.string(), v.check(isSegmentName, "segment must be a segment file name (<µs16>-<pid>.ndjson)")),
  offset: v.pipe(v.number(), v.integer(), v.minValue(0)),
  table: v.optional(v.string()),
  updatedAt: v.optional(v.string()),
});

export type Checkpoint = v.InferOutput<typeof CheckpointSchema>;

export type CheckpointRead =
  | { kind: "none" }
  | { kind: "ok"; checkpoint: Checkpoint }
  /** Present but unusable (cut by a power failure, edited): reading starts at the oldest segment. */
  | { kind: "invalid"; reason: string };

export function checkpointPath(dir: string): string {
  return join(dir, CHECKPOINT_FILE);
}

/** Reads the checkpoint of journal directory `dir`. Never throws for a missing or broken file. */
export function readCheckpoint(dir: string): CheckpointRead {
  let text: string;
  try {
    text = readFileSync(checkpointPath(dir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
    return { kind: "invalid", reason: `cannot read ${checkpointPath(dir)}: ${(err as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: `${checkpointPath(dir)} is not JSON: ${JSON.stringify(text.slice(0, 120))}` };
  }
  const result = v.safeParse(CheckpointSchema, value);
  if (!result.success) return { kind: "invalid", reason: `${checkpointPath(dir)} is not a checkpoint:\n${v.summarize(result.issues)}` };
  return { kind: "ok", checkpoint: result.output };
}

/**
 * Replaces the checkpoint atomically (temporary file, fsync, rename, fsync of the directory: the
 * rename lives in the directory, and without that fsync a power failure could bring back the older
 * checkpoint, or none). Throws on I/O errors.
 */
export function writeCheckpoint(dir: string, position: JournalPosition, table: string | undefined, now = new Date()): void {
  const checkpoint: Checkpoint = {
    version: CHECKPOINT_VERSION,
    segment: position.segment,
    offset: position.offset,
    ...(table === undefined ? {} : { table }),
    updatedAt: now.toISOString(),
  };
  writeFileAtomically(checkpointPath(dir), `${JSON.stringify(checkpoint)}\n`);
  fsyncDirectory(dir);
}

/** Orders two positions: negative when `a` is before `b`. Segment names sort in write order. */
export function comparePositions(a: JournalPosition, b: JournalPosition): number {
  if (a.segment !== b.segment) return a.segment < b.segment ? -1 : 1;
  return a.offset - b.offset;
}
