/**
 * The replay checkpoint: written atomically and at most every N ms, read back as written, and
 * refused with a clear message when it belongs to other inputs, another table, or changed files.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isObcapError } from "../../../src/base/errors.ts";
import { resolveInputs, type ReplayInput } from "../../../src/replay/inputs.ts";
import { CheckpointWriter, checkCheckpointMatches, readCheckpoint } from "../../../src/replay/replay-checkpoint.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

let dir: string;
let inputs: ReplayInput[];
let path: string;

beforeEach(() => {
  dir = testTempDir("checkpoint");
  writeFileSync(join(dir, "a.ndjson"), "one\ntwo\n");
  writeFileSync(join(dir, "b.ndjson"), "three\n");
  inputs = resolveInputs([join(dir, "a.ndjson"), join(dir, "b.ndjson")]);
  path = join(dir, "replay.checkpoint");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isObcapError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected an error");
}

describe("replay checkpoint", () => {
  test("reads back the position, bad line count, table and input identities it wrote", () => {
    const writer = new CheckpointWriter(path, "Orders", inputs, 1000, () => 5_000);
    writer.update({ input: 1, offset: 6, line: 1 }, 3, true);
    const checkpoint = readCheckpoint(path)!;
    expect(checkpoint.table).toBe("Orders");
    expect(checkpoint.position).toEqual({ input: 1, offset: 6, line: 1 });
    expect(checkpoint.badLines).toBe(3);
    expect(checkpoint.inputs.map((i) => i.sizeBytes)).toEqual([8, 6]);
    expect(() => checkCheckpointMatches(checkpoint, path, "Orders", inputs)).not.toThrow();
    // Written by rename: no temporary file stays behind.
    expect(readdirSync(dir).sort()).toEqual(["a.ndjson", "b.ndjson", "replay.checkpoint"]);
  });

  test("writes at most once per interval unless forced, and only when the position moved", () => {
    let now = 0;
    const writer = new CheckpointWriter(path, "Orders", inputs, 1000, () => now);
    writer.update({ input: 0, offset: 4, line: 1 }, 0);
    expect(readCheckpoint(path)!.position?.offset).toBe(4);
    now = 500;
    writer.update({ input: 0, offset: 8, line: 2 }, 0);
    expect(readCheckpoint(path)!.position?.offset).toBe(4);
    now = 1000;
    writer.update({ input: 0, offset: 8, line: 2 }, 0);
    expect(readCheckpoint(path)!.position?.offset).toBe(8);
    now = 1100;
    writer.update({ input: 1, offset: 6, line: 1 }, 0, true);
    expect(readCheckpoint(path)!.position?.input).toBe(1);
  });

  test("is absent when no file exists, and removed when the replay completes", () => {
    expect(readCheckpoint(path)).toBeUndefined();
    const writer = new CheckpointWriter(path, "Orders", inputs, 0);
    writer.update(undefined, 0, true);
    expect(readCheckpoint(path)!.position).toBeNull();
    writer.remove();
    expect(readCheckpoint(path)).toBeUndefined();
  });

  test("refuses a checkpoint of another table", () => {
    new CheckpointWriter(path, "Orders", inputs, 0).update({ input: 0, offset: 4, line: 1 }, 0, true);
    const err = errorOf(() => checkCheckpointMatches(readCheckpoint(path)!, path, "Trades", inputs));
    expect(err.code).toBe("E_CHECKPOINT_MISMATCH");
    expect(err.message).toContain("it is for table Orders, not Trades");
    expect(err.message).toContain("Run without --resume");
  });

  test("refuses a checkpoint of other inputs, naming both lists", () => {
    new CheckpointWriter(path, "Orders", inputs, 0).update({ input: 0, offset: 4, line: 1 }, 0, true);
    const err = errorOf(() => checkCheckpointMatches(readCheckpoint(path)!, path, "Orders", inputs.slice(0, 1)));
    expect(err.code).toBe("E_CHECKPOINT_MISMATCH");
    expect(err.message).toContain(`it lists the inputs [${join(dir, "a.ndjson")}, ${join(dir, "b.ndjson")}]`);
  });

  test("refuses a checkpoint when an input changed since (size or modification time)", () => {
    new CheckpointWriter(path, "Orders", inputs, 0).update({ input: 0, offset: 4, line: 1 }, 0, true);
    writeFileSync(join(dir, "a.ndjson"), "one\ntwo\nmore\n");
    const grown = resolveInputs([join(dir, "a.ndjson"), join(dir, "b.ndjson")]);
    const err = errorOf(() => checkCheckpointMatches(readCheckpoint(path)!, path, "Orders", grown));
    expect(err.message).toContain("a.ndjson changed since (size 8 -> 13 bytes");

    const mtime = statSync(join(dir, "b.ndjson")).mtime;
    utimesSync(join(dir, "b.ndjson"), mtime, new Date(mtime.getTime() + 60_000));
    const touched = resolveInputs([join(dir, "a.ndjson"), join(dir, "b.ndjson")]);
    new CheckpointWriter(path, "Orders", grown, 0).update({ input: 0, offset: 4, line: 1 }, 0, true);
    expect(errorOf(() => checkCheckpointMatches(readCheckpoint(path)!, path, "Orders", touched)).message).toContain("b.ndjson changed since");
  });

  test("says a file that is not a checkpoint cannot be used, and how to go on", () => {
    writeFileSync(path, '{"version":99}');
    const err = errorOf(() => readCheckpoint(path));
    expect(err.code).toBe("E_CHECKPOINT_IO");
    expect(err.message).toContain("delete it to replay from the start");
    writeFileSync(path, "not json");
    expect(errorOf(() => readCheckpoint(path)).code).toBe("E_CHECKPOINT_IO");
  });

  test("fails with E_CHECKPOINT_IO when the checkpoint cannot be written", () => {
    const writer = new CheckpointWriter(join(dir, "missing-dir", "x.checkpoint"), "Orders", inputs, 0);
    const err = errorOf(() => writer.update(undefined, 0, true));
    expect(err.code).toBe("E_CHECKPOINT_IO");
    expect(err.message).toContain("pass a writable --checkpoint path");
  });

  test("cannot checkpoint stdin", () => {
    const withStdin = [...inputs, ...resolveInputs(["-"])];
    expect(errorOf(() => new CheckpointWriter(path, "Orders", withStdin, 0)).code).toBe("E_USAGE");
  });
});
