/**
 * Builds one obcap executable: `bun scripts/build-binary.ts --outfile dist/obcap [--target linux-arm64]
 * [--no-minify] [--no-bytecode] [--no-sourcemap]`. `make build` and `make release` call it, and the
 * release benchmark builds its variants with it, so every binary is built one way.
 *
 * The pipeline Worker is a second entry point, so it is compiled in (BUN-NOTES: a Worker file a
 * compiled binary cannot find fails at run time). The git commit and the target go in with `--define`;
 * `obcap --version` prints them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dir, "..");
const ENTRIES = ["src/cli/main.ts", "src/cli/pipeline.worker.ts"];
/** The release targets and Bun's names for them. */
export const TARGETS = { "linux-x64": "bun-linux-x64", "linux-arm64": "bun-linux-arm64" } as const;
export type ReleaseTarget = keyof typeof TARGETS;

export interface BinaryBuild {
  outfile: string;
  /** A release target, or undefined for this machine's own platform (`make build`). */
  target?: ReleaseTarget;
  minify?: boolean;
  bytecode?: boolean;
  sourcemap?: boolean;
}

/** `<12-hex sha>`, with `-dirty` when tracked files differ from it; "unknown" outside a git checkout. */
export function gitCommit(cwd = ROOT): string {
  const sha = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd, encoding: "utf8" });
  if (sha.status !== 0) return "unknown";
  const dirty = spawnSync("git", ["diff", "--quiet", "HEAD", "--"], { cwd }).status !== 0;
  return `${sha.stdout.trim()}${dirty ? "-dirty" : ""}`;
}

/** The `bun build` arguments of a build. */
function buildArgs(build: BinaryBuild, commit: string): string[] {
  const target = build.target ?? `${process.platform}-${process.arch}`;
  return [
    "build", "--compile", "--format=esm",
    ...(build.target ? [`--target=${TARGETS[build.target]}`] : []),
    ...(build.minify !== false ? ["--minify"] : []),
    ...(build.bytecode !== false ? ["--bytecode"] : []),
    ...(build.sourcemap !== false ? ["--sourcemap"] : []),
    // A server's stray .env or bunfig.toml must not change what the binary does.
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    "--define", `OBCAP_BUILD_COMMIT=${JSON.stringify(commit)}`,
    "--define", `OBCAP_BUILD_TARGET=${JSON.stringify(target)}`,
    ...ENTRIES, "--outfile", build.outfile,
  ];
}

/** Runs `bun build`; throws with its output when it fails. Returns the binary's size in bytes. */
export function buildBinary(build: BinaryBuild, commit = gitCommit()): number {
  mkdirSync(dirname(resolve(ROOT, build.outfile)), { recursive: true });
  const run = spawnSync(process.execPath, buildArgs(build, commit), { cwd: ROOT, encoding: "utf8" });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  // Bun prints "Failed to generate bytecode" and still exits 0 with a binary without it (BUN-NOTES).
  if (run.status !== 0 || /failed to generate bytecode/i.test(output)) {
    throw new Error(`bun build ${build.outfile} failed (exit ${run.status}):\n${output.trim()}`);
  }
  return statSync(resolve(ROOT, build.outfile)).size;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      outfile: { type: "string" },
      target: { type: "string" },
      "no-minify": { type: "boolean" },
      "no-bytecode": { type: "boolean" },
      "no-sourcemap": { type: "boolean" },
    },
  });
  if (!values.outfile) throw new Error("--outfile is required");
  if (values.target !== undefined && !(values.target in TARGETS)) {
    throw new Error(`--target ${values.target}: use one of ${Object.keys(TARGETS).join(", ")}`);
  }
  const bytes = buildBinary({
    outfile: values.outfile,
    target: values.target as ReleaseTarget | undefined,
    minify: !values["no-minify"],
    bytecode: !values["no-bytecode"],
    sourcemap: !values["no-sourcemap"],
  });
  console.log(`${values.outfile}: ${(bytes / 1048576).toFixed(1)} MiB`);
}
