/**
 * resolveInputs: command-line paths -> ordered inputs (directories expanded in numeric name order,
 * a capture's journal directory to its segments), with clear errors for paths that cannot be read.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isObcapError } from "../../../src/base/errors.ts";
import { resolveInputs } from "../../../src/replay/inputs.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

let dir: string;
beforeEach(() => {
  dir = testTempDir("inputs");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isObcapError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected an error");
}

describe("resolveInputs", () => {
  test("lists a directory's recordings in name order with numbers compared as numbers", () => {
    for (const name of ["seg-10.ndjson", "seg-2.ndjson", "seg-1.ndjson.gz", "notes.md", ".hidden.ndjson", "checkpoint.json", "x.jsonl", "y.gz"]) {
      writeFileSync(join(dir, name), "");
    }
    mkdirSync(join(dir, "sub.ndjson"));
    const ignored: string[] = [];
    const inputs = resolveInputs([dir], (path) => ignored.push(path));
    expect(inputs.map((i) => i.name)).toEqual(["seg-1.ndjson.gz", "seg-2.ndjson", "seg-10.ndjson", "x.jsonl", "y.gz"].map((n) => join(dir, n)));
    expect(ignored.sort()).toEqual([".hidden.ndjson", "checkpoint.json", "notes.md", "sub.ndjson"].map((n) => join(dir, n)).sort());
  });

  test("reads a capture's journal directory as its segments, oldest first", () => {
    mkdirSync(join(dir, "segments"));
    mkdirSync(join(dir, "quarantine"));
    writeFileSync(join(dir, "checkpoint.json"), "{}");
    writeFileSync(join(dir, "quarantine", "2026-08-09.ndjson"), "x\n");
    writeFileSync(join(dir, "segments", "1788551771000000-77.ndjson"), "b\n");
    writeFileSync(join(dir, "segments", "1786269861000000-12.ndjson"), "a\n");
    const inputs = resolveInputs([dir]);
    expect(inputs.map((i) => i.name)).toEqual([
      join(dir, "segments", "1786269861000000-12.ndjson"),
      join(dir, "segments", "1788551771000000-77.ndjson"),
    ]);
  });

  test("keeps files named on the command line whatever their name, with size and mtime", () => {
    writeFileSync(join(dir, "frames.dat"), "abc\n");
    const [input] = resolveInputs([join(dir, "frames.dat")]);
    expect(input).toMatchObject({ name: join(dir, "frames.dat"), path: join(dir, "frames.dat"), sizeBytes: 4 });
    expect(input!.mtimeMs).toBeGreaterThan(0);
  });

  test("takes '-' as stdin, once", () => {
    expect(resolveInputs(["-"])).toEqual([{ name: "-", path: undefined, sizeBytes: undefined, mtimeMs: undefined }]);
    expect(codeOf(() => resolveInputs(["-", "-"])).code).toBe("E_USAGE");
  });

  test("names a path that does not exist", () => {
    const err = codeOf(() => resolveInputs([join(dir, "nope.ndjson")]));
    expect(err).toEqual({ code: "E_INPUT_UNREADABLE", message: `input ${join(dir, "nope.ndjson")} does not exist: check the path` });
  });

  test("refuses a directory without recordings and an empty command line", () => {
    writeFileSync(join(dir, "readme.md"), "");
    expect(codeOf(() => resolveInputs([dir])).message).toContain(`directory ${dir} holds no recordings`);
    expect(codeOf(() => resolveInputs([])).code).toBe("E_USAGE");
  });
});
