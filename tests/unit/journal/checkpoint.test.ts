import { describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { comparePositions, checkpointPath, readCheckpoint, writeCheckpoint } from "../../../src/journal/checkpoint.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const SEGMENT = "1788551766927713-42.ndjson";

describe("journal checkpoint", () => {
  test("a missing checkpoint reads as none", () => {
    expect(readCheckpoint(testTempDir("cp"))).toEqual({ kind: "none" });
  });

  test("is written whole (no temporary file left) and read back", () => {
    const dir = testTempDir("cp");
    writeCheckpoint(dir, { segment: SEGMENT, offset: 1234 }, "Orders", new Date("2026-08-09T10:00:00Z"));
    expect(readFileSync(checkpointPath(dir), "utf8")).toBe(
      `{"version":1,"segment":"${SEGMENT}","offset":1234,"table":"Orders","updatedAt":"2026-08-09T10:00:00.000Z"}\n`,
    );
    expect(existsSync(`${checkpointPath(dir)}.tmp`)).toBe(false);
    expect(readCheckpoint(dir)).toEqual({
      kind: "ok",
      checkpoint: { version: 1, segment: SEGMENT, offset: 1234, table: "Orders", updatedAt: "2026-08-09T10:00:00.000Z" },
    });
    writeCheckpoint(dir, { segment: SEGMENT, offset: 99 }, undefined);
    const again = readCheckpoint(dir);
    expect(again.kind === "ok" && again.checkpoint.offset).toBe(99);
  });

  test("a cut or edited checkpoint is invalid with the reason, never an exception", () => {
    const dir = testTempDir("cp");
    writeFileSync(checkpointPath(dir), '{"version":1,"segm');
    const cut = readCheckpoint(dir);
    expect(cut.kind).toBe("invalid");
    expect(cut.kind === "invalid" && cut.reason).toContain("is not JSON");
    writeFileSync(checkpointPath(dir), JSON.stringify({ version: 1, segment: "../etc/passwd", offset: -1 }));
    const edited = readCheckpoint(dir);
    expect(edited.kind === "invalid" && edited.reason).toContain("segment must be a segment file name");
  });

  test("positions order by segment name, then offset", () => {
    const a = { segment: "0000000000000001-1.ndjson", offset: 900 };
    const b = { segment: "0000000000000002-1.ndjson", offset: 5 };
    expect(comparePositions(a, b)).toBeLessThan(0);
    expect(comparePositions(b, { ...b, offset: 4 })).toBeGreaterThan(0);
    expect(comparePositions(a, { ...a })).toBe(0);
  });
});

describe("journal checkpoint durability", () => {
  test("the rename is followed by an fsync of the directory, so a power failure cannot bring back an older checkpoint", () => {
    const dir = testTempDir("cp");
    const calls: string[] = [];
    const fdPaths = new Map<number, string>();
    const original = { openSync: fs.openSync, fsyncSync: fs.fsyncSync, renameSync: fs.renameSync };
    const spies = [
      spyOn(fs, "openSync").mockImplementation(((path: string, ...rest: unknown[]) => {
        const fd = (original.openSync as (...a: unknown[]) => number)(path, ...rest);
        fdPaths.set(fd, String(path));
        return fd;
      }) as typeof fs.openSync),
      spyOn(fs, "fsyncSync").mockImplementation((fd: number) => {
        calls.push(`fsync ${fdPaths.get(fd)}`);
        original.fsyncSync(fd);
      }),
      spyOn(fs, "renameSync").mockImplementation((from: import("node:fs").PathLike, to: import("node:fs").PathLike) => {
        calls.push(`rename ${String(from)} -> ${String(to)}`);
        original.renameSync(from, to);
      }),
    ];
    try {
      writeCheckpoint(dir, { segment: SEGMENT, offset: 1 }, "Orders");
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const path = checkpointPath(dir);
    expect(calls).toEqual([`fsync ${path}.tmp`, `rename ${path}.tmp -> ${path}`, `fsync ${dir}`]);
  });
});
