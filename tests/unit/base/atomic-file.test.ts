/**
 * writeFileAtomically: the file is replaced whole, through a temporary file that is gone afterwards;
 * a failed write leaves the old file as it was.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomically } from "../../../src/base/atomic-file.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

describe("writeFileAtomically", () => {
  test("creates the file, leaving no temporary file", () => {
    const dir = testTempDir("atomic-file");
    const path = join(dir, "state.json");
    writeFileAtomically(path, '{"a":1}\n');
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n');
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  test("replaces an existing file whole, including a longer one", () => {
    const dir = testTempDir("atomic-file");
    const path = join(dir, "state.json");
    writeFileSync(path, "x".repeat(10_000));
    writeFileAtomically(path, "short\n");
    expect(readFileSync(path, "utf8")).toBe("short\n");
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  test("writes the text as UTF-8", () => {
    const dir = testTempDir("atomic-file");
    const path = join(dir, "state.json");
    writeFileAtomically(path, "µs ✓ 𝄞\n");
    expect(new Uint8Array(readFileSync(path))).toEqual(new TextEncoder().encode("µs ✓ 𝄞\n"));
  });

  test("uses the given temporary path, and an old temporary file does not get in the way", () => {
    const dir = testTempDir("atomic-file");
    const path = join(dir, "checkpoint.json");
    const temp = `${path}.tmp-42`;
    writeFileSync(temp, "left over by a crash, longer than the new text");
    writeFileAtomically(path, "new\n", temp);
    expect(readFileSync(path, "utf8")).toBe("new\n");
    expect(existsSync(temp)).toBe(false);
  });

  test("throws the fs error when the directory is missing", () => {
    const dir = testTempDir("atomic-file");
    const path = join(dir, "missing", "state.json");
    expect(() => writeFileAtomically(path, "x")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  test("a failed rename leaves the target untouched and the temporary file for the caller", () => {
    const dir = testTempDir("atomic-file");
    // A non-empty directory at the target: the write succeeds, the rename over it fails.
    const path = join(dir, "state.json");
    mkdirSync(path);
    writeFileSync(join(path, "inside"), "old");
    expect(() => writeFileAtomically(path, "new")).toThrow();
    expect(readFileSync(join(path, "inside"), "utf8")).toBe("old");
    expect(readFileSync(`${path}.tmp`, "utf8")).toBe("new");
  });
});
