/**
 * The replay checkpoint: how far a replay into a table is acknowledged by DynamoDB, so `--resume`
 * continues a killed replay without re-reading what was stored.
 *
 *   {"version":1,"table":"Orders","inputs":[{"path":"/data/a.ndjson","sizeBytes":123,"mtimeMs":...}],
 *    "position":{"input":0,"offset":4567,"line":12},"badLines":0,"updatedAt":"2026-..."}
 *
 * `position` is ItemUploader's acknowledged position: every line of inputs before `input`, and of
 * `input` up to byte `offset` (decompressed bytes for gzip; `line` lines), is in the table or was
 * skipped. `badLines` counts the bad lines up to there, so a resumed run still exits 6 when an
 * earlier run skipped some. The inputs' identity (path, size, mtime) and the table make a checkpoint
 * for other data a clear error instead of a silent partial replay.
 *
 * Written atomically (temp file, fsync, rename), at most every `everyMs`: a crash leaves the old
 * checkpoint or the new one, never a torn one.
 */
import { readFileSync, rmSync } from "node:fs";
import * as v from "valibot";
import { writeFileAtomically } from "../base/atomic-file.ts";
import { obcapError } from "../base/errors.ts";
import type { ReplayInput } from "./inputs.ts";

export const CHECKPOINT_VERSION = 1;

const CountSchema = v.pipe(v.number(), v.integer(), v.minValue(0));

export const ReplayPositionSchema = v.object({ input: CountSchema, offset: CountSchema, line: CountSchema });
/** Input index, byte offset after the last acknowledged line, and that line's number. */
export type ReplayPosition = v.InferOutput<typeof ReplayPositionSchema>;

export const CheckpointSchema = v.object({
  version: v.literal(CHECKPOINT_VERSION),
  table: v.string(),
  inputs: v.array(v.object({ path: v.string(), sizeBytes: CountSchema, mtimeMs: v.number() })),
  position: v.nullable(ReplayPositionSchema),
  badLines: CountSchema,
  updatedAt: v.string(),
});
export type Checkpoint = v.InferOutput<typeof CheckpointSchema>;

/** The checkpoint at `path`; `undefined` if there is none. Throws E_CHECKPOINT_IO if it cannot be read or is not one. */
export function readCheckpoint(path: string): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw obcapError("E_CHECKPOINT_IO", `checkpoint ${path} cannot be read (${describe(err)}): fix its permissions or pass another --checkpoint`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = v.safeParse(CheckpointSchema, parsed);
  if (!result.success) {
    throw obcapError(
      "E_CHECKPOINT_IO",
      `checkpoint ${path} is not an obcap replay checkpoint (version ${CHECKPOINT_VERSION}): delete it to replay from the start (replay is idempotent)`,
    );
  }
  return result.output;
}

/**
 * Checks that a checkpoint belongs to this replay (same table, same inputs, unchanged files).
 * Throws E_CHECKPOINT_MISMATCH saying what differs.
 */
export function checkCheckpointMatches(checkpoint: Checkpoint, path: string, table: string, inputs: readonly ReplayInput[]): void {
  const fail = (what: string) =>
    obcapError(
      "E_CHECKPOINT_MISMATCH",
      `checkpoint ${path} is for another replay: ${what}. Run without --resume to replay from the start (replay is idempotent), or pass the --checkpoint of this replay`,
    );
  if (checkpoint.table !== table) throw fail(`it is for table ${checkpoint.table}, not ${table}`);
  const identities = inputs.map(identityOf);
  if (checkpoint.inputs.length !== identities.length || checkpoint.inputs.some((c, i) => c.path !== identities[i]!.path)) {
    const names = (list: readonly { path: string }[]) => list.map((x) => x.path).join(", ");
    throw fail(`it lists the inputs [${names(checkpoint.inputs)}], this replay reads [${names(identities)}]`);
  }
  checkpoint.inputs.forEach((c, i) => {
    const now = identities[i]!;
    if (c.sizeBytes !== now.sizeBytes || c.mtimeMs !== now.mtimeMs) {
      throw fail(
        `${c.path} changed since (size ${c.sizeBytes} -> ${now.sizeBytes} bytes, ` +
          `modified ${new Date(c.mtimeMs).toISOString()} -> ${new Date(now.mtimeMs).toISOString()})`,
      );
    }
  });
  // The offset is not checked against the size: for gzip it counts decompressed bytes.
  if (checkpoint.position !== null && checkpoint.position.input >= identities.length) {
    throw fail(`its position names input ${checkpoint.position.input + 1} of ${identities.length}`);
  }
}

function identityOf(input: ReplayInput): { path: string; sizeBytes: number; mtimeMs: number } {
  if (input.path === undefined || input.sizeBytes === undefined || input.mtimeMs === undefined) {
    throw obcapError("E_USAGE", "stdin ('-') cannot be checkpointed: --resume needs files");
  }
  return { path: input.path, sizeBytes: input.sizeBytes, mtimeMs: input.mtimeMs };
}

/** Writes a replay's checkpoint atomically, at most every `everyMs` unless forced. */
export class CheckpointWriter {
  private lastWriteMs = Number.NEGATIVE_INFINITY;
  private lastKey = "";

  constructor(
    readonly path: string,
    private readonly table: string,
    private readonly inputs: readonly ReplayInput[],
    private readonly everyMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    inputs.forEach(identityOf); // stdin cannot be checkpointed: fail before any work
  }

  /** Writes when `everyMs` has passed since the last write and the position moved (or `force`). Throws E_CHECKPOINT_IO. */
  update(position: ReplayPosition | undefined, badLines: number, force = false): void {
    const now = this.nowMs();
    if (!force && now - this.lastWriteMs < this.everyMs) return;
    const key = position === undefined ? `-#${badLines}` : `${position.input}:${position.offset}#${badLines}`;
    if (!force && key === this.lastKey) return;
    const checkpoint: Checkpoint = {
      version: CHECKPOINT_VERSION,
      table: this.table,
      inputs: this.inputs.map(identityOf),
      position: position ?? null,
      badLines,
      updatedAt: new Date(now).toISOString(),
    };
    writeCheckpointFile(this.path, `${JSON.stringify(checkpoint)}\n`);
    this.lastWriteMs = now;
    this.lastKey = key;
  }

  /** Deletes the checkpoint (the replay is complete). */
  remove(): void {
    try {
      rmSync(this.path, { force: true });
    } catch (err) {
      throw obcapError("E_CHECKPOINT_IO", `checkpoint ${this.path} cannot be deleted (${describe(err)}): delete it by hand`, err);
    }
  }
}

/** Replaces the checkpoint file atomically (readers see the old or the new file, whole); on failure removes the temporary file and throws E_CHECKPOINT_IO. */
function writeCheckpointFile(path: string, text: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    writeFileAtomically(path, text, temp);
  } catch (err) {
    rmSync(temp, { force: true });
    throw obcapError("E_CHECKPOINT_IO", `checkpoint ${path} cannot be written (${describe(err)}): pass a writable --checkpoint path`, err);
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  return code ?? (err instanceof Error ? err.message : String(err));
}
