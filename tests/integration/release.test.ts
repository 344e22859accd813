/**
 * The release files (`make release`), as a server gets them:
 * - dist/SHA256SUMS names both binaries with their true digests; each is an ELF executable of its CPU;
 * - the x64 binary, copied alone into an empty directory and run with a bare environment (no Bun, no
 *   node_modules, no project), creates its table, captures from the local exchange into DynamoDB Local,
 *   and `export` gives back every frame sent, byte for byte;
 * - the arm64 binary, when qemu-aarch64 is installed (`make qemu`), prints its version and replays the
 *   x64 capture's journal into a table of its own: the export of both tables is the same bytes.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { playThenStop, ROOT, startCommand, type RunningObcap } from "../support/capture-harness.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { uniqueTableName } from "../support/test-table.ts";

const DIST = resolve(ROOT, "dist");
const X64 = join(DIST, "obcap-linux-x64");
const ARM64 = join(DIST, "obcap-linux-arm64");
const PAIRS = ["btcusd", "ethusd"];
const CHANNELS = PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);
const QEMU = "qemu-aarch64";
/** The aarch64 C library of Debian's libc6-arm64-cross: the dynamic loader the arm64 binary asks for lives here. */
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

let endpoint: string;
/** A directory with nothing but the release binary; the capture's journal is made here. */
let box: string;
/** Only what a server's service manager gives: no Bun or node_modules on PATH, no project files. */
let bareEnv: Record<string, string>;
const frames = generateFrames({ pairs: PAIRS, countPerPair: 2_000, seed: 31, hugeIds: true });
const micros = frames.map((f) => Number(/"microtimestamp":\s*"(\d+)"/.exec(f)?.[1]));
const range = ["--from", String(Math.min(...micros)), "--to", String(Math.max(...micros) + 1)];

beforeAll(async () => {
  if (!existsSync(join(DIST, "SHA256SUMS")) || !existsSync(X64) || !existsSync(ARM64)) {
    // `make test` builds them first; a lone `bun test` builds here so these tests never skip.
    const built = spawnSync("make", ["release"], { cwd: ROOT, stdio: "inherit" });
    if (built.status !== 0) throw new Error("make release failed");
  }
  endpoint = await dynamoEndpoint();
  box = testTempDir("release-box");
  copyFileSync(X64, join(box, "obcap"));
  bareEnv = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: box, NO_COLOR: "1", ...TEST_AWS_ENV };
});

/** Runs a command in the box with the bare environment to its end. */
async function run(command: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = startCommand(command, bareEnv, box);
  const timer = setTimeout(() => child.child.kill("SIGKILL"), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** e_machine of an ELF header, read here rather than with the release script's own check. */
function elfHeader(path: string): { elf: boolean; class64: boolean; machine: number } {
  const head = Buffer.alloc(20);
  const fd = openSync(path, "r");
  readSync(fd, head, 0, 20, 0);
  closeSync(fd);
  return { elf: head.subarray(0, 4).toString("latin1") === "\x7fELF", class64: head[4] === 2, machine: head.readUInt16LE(18) };
}

describe("release files", () => {
  test("SHA256SUMS lists both binaries with their digests, in sha256sum -c format", () => {
    const lines = readFileSync(join(DIST, "SHA256SUMS"), "utf8").trimEnd().split("\n");
    expect(lines).toEqual([`${sha256(X64)}  obcap-linux-x64`, `${sha256(ARM64)}  obcap-linux-arm64`]);
    const check = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: DIST, encoding: "utf8" });
    expect(check.stdout).toBe("obcap-linux-x64: OK\nobcap-linux-arm64: OK\n");
  });

  test("each binary is a 64-bit ELF executable of its CPU (x86-64 = 62, AArch64 = 183)", () => {
    expect(elfHeader(X64)).toEqual({ elf: true, class64: true, machine: 62 });
    expect(elfHeader(ARM64)).toEqual({ elf: true, class64: true, machine: 183 });
  });

  test("each needs glibc 2.17 at most, as README says (Amazon Linux 2 has 2.26)", () => {
    for (const binary of [X64, ARM64]) {
      const versions = spawnSync("readelf", ["-V", "--wide", binary], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).stdout.match(/GLIBC_[\d.]+/g) ?? [];
      expect(versions.length).toBeGreaterThan(0);
      const newest = versions.map((v) => v.slice(6).split(".").map(Number)).sort((a, b) => (a[0]! - b[0]!) || ((a[1] ?? 0) - (b[1] ?? 0))).at(-1);
      expect(newest?.[0]).toBe(2);
      expect(newest?.[1]).toBeLessThanOrEqual(17);
    }
  });
});

describe("the x64 release binary alone in an empty directory", () => {
  let table: string;

  test("the environment has no Bun and no node_modules; --version names the commit", async () => {
    expect(readdirSync(box)).toEqual(["obcap"]);
    expect(spawnSync("sh", ["-c", "command -v bun"], { env: bareEnv }).status).not.toBe(0);
    const { code, stdout } = await run(["./obcap", "--version"]);
    expect(code).toBe(0);
    const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
    expect(stdout).toMatch(new RegExp(`^obcap \\d+\\.\\d+\\.\\d+ \\(commit ${head}(-dirty)?, linux-x64\\)\\n$`));
  });

  test("table create, a capture of 2 pairs, and export gives back every frame byte for byte", async () => {
    table = uniqueTableName("release");
    const created = await run(["./obcap", "table", "create", "--table", table, "--endpoint", endpoint]);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain("packed layout");

    await using fake = await startFakeExchange({ recordSentFrames: false });
    const capture: RunningObcap = startCommand(
      ["./obcap", "--pair", PAIRS.join(","), "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"],
      bareEnv,
      box,
    );
    // Every frame and a start record per channel acknowledged (packed windows close ~5 s after their end).
    expect(await playThenStop(capture, fake, CHANNELS, frames)).toBe(0);
    expect(capture.stderr()).toMatch(new RegExp(`summary: received ${frames.length} frames = journaled ${frames.length} \\+ oversize 0 \\+ lost 0;`));
    // The default journal went where a server's working directory is.
    expect(readdirSync(join(box, "obcap-data", "segments")).length).toBeGreaterThan(0);

    const exported = await run(["./obcap", "export", "--table", table, "--endpoint", endpoint, "--pair", PAIRS.join(","), ...range]);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trimEnd().split("\n");
    expect(lines.length).toBe(frames.length);
    expect([...lines].sort()).toEqual([...frames].sort());
  }, 240_000);

  const emulated = Bun.which(QEMU) !== null && existsSync(join(ARM64_SYSROOT, "lib/ld-linux-aarch64.so.1"));
  // `make test` installs the emulator (`make qemu`) when it runs as root; otherwise this says so as a skip.
  test.skipIf(!emulated)("the arm64 binary under qemu-aarch64: --version, and a replay of that journal stores the same frames", async () => {
    copyFileSync(ARM64, join(box, "obcap-arm64"));
    const arm = (args: string[]) => run([QEMU, "-L", ARM64_SYSROOT, "./obcap-arm64", ...args], 180_000);
    const version = await arm(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^obcap \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, linux-arm64\)\n$/);

    const armTable = uniqueTableName("release-arm64");
    expect((await arm(["table", "create", "--table", armTable, "--endpoint", endpoint])).code).toBe(0);
    const replayed = await arm(["replay", "obcap-data/segments", "--table", armTable, "--endpoint", endpoint]);
    expect(replayed.code).toBe(0);
    expect(replayed.stderr).toContain(`events ${frames.length},`);
    const fromX64 = await run(["./obcap", "export", "--table", table, "--endpoint", endpoint, "--pair", PAIRS.join(","), ...range]);
    const fromArm = await run(["./obcap", "export", "--table", armTable, "--endpoint", endpoint, "--pair", PAIRS.join(","), ...range]);
    expect(fromArm.code).toBe(0);
    expect(fromArm.stdout.length).toBeGreaterThan(0);
    expect(fromArm.stdout).toBe(fromX64.stdout);
  }, 300_000);
});

