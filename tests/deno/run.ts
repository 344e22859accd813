/**
 * `make test-deno`: runs the core test files listed in core-tests.ts, and the Deno-only checks there, under
 * Deno (node_modules/.bin/deno, from npm), offline: bare imports (valibot) resolve from the
 * node_modules that npm ci made ("nodeModulesDir": "manual"), remote imports are refused. Runs under
 * Deno itself:
 *
 *   node_modules/.bin/deno run -A --no-config tests/deno/run.ts [deno test args, e.g. --filter ring]
 *
 * Fails (exit 1) when a listed file is missing or listed twice, when a listed file runs no test,
 * or when any test fails. Deno's own output is passed through, except that a line looking like bun's
 * summary (`N pass` / `N fail`, which .ci/run counts) is prefixed with "deno| "; the last line is
 * `deno: N passed, N failed (...)`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CORE_TESTS, DENO_ONLY_TESTS } from "./core-tests.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DENO = process.env.DENO ?? join(ROOT, "node_modules/.bin/deno");
const files = [...DENO_ONLY_TESTS, ...CORE_TESTS];

const problems = [
  ...files.filter((f) => !existsSync(join(ROOT, f))).map((f) => `listed in tests/deno/core-tests.ts but missing: ${f}`),
  ...files.filter((f, i) => files.indexOf(f) !== i).map((f) => `listed twice in tests/deno/core-tests.ts: ${f}`),
];
if (problems.length > 0) {
  for (const p of problems) console.error(`deno: ${p}`);
  console.log(`deno: not run, ${problems.length} problem(s) with the list of core test files`);
  process.exit(1);
}

const version = spawnSync(DENO, ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0]?.replace(/^deno /, "").split(" ")[0] ?? "?";
const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" };
const args = [
  "test",
  "--config=tests/deno/deno.json",
  "--no-check", // types are checked by tsc (make typecheck), against bun-types
  "--no-remote",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run", // the shim self-test starts a second Deno
  ...process.argv.slice(2),
  ...files,
];

/** Lines that .ci/run would take for bun's own summary. */
const BUN_SUMMARY = /^ *[0-9]+ (pass|fail)$/;
const started = performance.now();
const child = spawn(DENO, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
const stdoutLines: string[] = [];

function relay(stream: NodeJS.ReadableStream, out: NodeJS.WriteStream, keep?: string[]): Promise<void> {
  let pending = "";
  const emit = (line: string) => {
    keep?.push(line);
    out.write(`${BUN_SUMMARY.test(line) ? `deno| ${line}` : line}\n`);
  };
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop()!;
    lines.forEach(emit);
  });
  return new Promise((resolve) =>
    stream.on("end", () => {
      if (pending !== "") emit(pending);
      resolve();
    }),
  );
}

const relayed = Promise.all([relay(child.stdout!, process.stdout, stdoutLines), relay(child.stderr!, process.stderr)]);
const code: number = await new Promise((resolve) => child.on("close", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await relayed;
const seconds = ((performance.now() - started) / 1000).toFixed(1);

const summary = stdoutLines.findLast((l) => /^(ok|FAILED) \| \d+ passed/.test(l));
const passed = Number(summary?.match(/(\d+) passed/)?.[1] ?? 0);
const failed = Number(summary?.match(/(\d+) failed/)?.[1] ?? 0);
const ran = new Map<string, number>();
for (const l of stdoutLines) {
  const m = l.match(/^running (\d+) tests? from \.\/(.+)$/);
  if (m) ran.set(m[2]!, Number(m[1]));
}
const filtered = process.argv.slice(2).some((a) => a.startsWith("--filter"));
const silent = filtered || summary === undefined ? [] : files.filter((f) => !ran.get(f));
for (const f of silent) console.error(`deno: ${f} ran no test under Deno`);

const ok = code === 0 && summary !== undefined && failed === 0 && passed > 0 && silent.length === 0;
console.log(
  `deno: ${passed} passed, ${failed} failed (core tests under Deno ${version}: ${files.length} files, ${seconds} s)${ok ? "" : code === 0 ? " -- FAILED" : ` -- FAILED, deno test exit ${code}`}`,
);
process.exit(ok ? 0 : 1);
