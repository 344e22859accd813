/**
 * `make release`: the files a server downloads. Builds dist/obcap-linux-x64 and dist/obcap-linux-arm64
 * (scripts/build-binary.ts: minified, bytecode, sourcemap; the Worker compiled in), checks that each
 * is an ELF executable of its CPU, and writes dist/SHA256SUMS in `sha256sum -c` format.
 *
 * Cross-compiling needs no arm64 machine: Bun fetches its aarch64 runtime from the npm registry once
 * (BUN-NOTES "Cross-compiling"). The flags are chosen from the measurements in BENCHMARKS.md
 * ("Release builds").
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { buildBinary, gitCommit, TARGETS, type ReleaseTarget } from "./build-binary.ts";

const ROOT = resolve(import.meta.dir, "..");
/** ELF e_machine of each target (x86-64 = 62, AArch64 = 183). */
const ELF_MACHINE: Record<ReleaseTarget, number> = { "linux-x64": 62, "linux-arm64": 183 };

/** e_machine of a 64-bit little-endian ELF executable; throws when the file is anything else. */
function elfMachine(path: string): number {
  const fd = openSync(path, "r");
  const head = Buffer.alloc(20);
  try {
    readSync(fd, head, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  const isElf = head[0] === 0x7f && head.toString("latin1", 1, 4) === "ELF";
  // EI_CLASS 2 = 64-bit, EI_DATA 1 = little endian, e_type 2 = executable (3 = shared object / PIE).
  if (!isElf || head[4] !== 2 || head[5] !== 1 || ![2, 3].includes(head.readUInt16LE(16))) throw new Error(`${path} is not a 64-bit little-endian ELF executable`);
  return head.readUInt16LE(18);
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

const commit = gitCommit();
const lines: string[] = [];
for (const target of Object.keys(TARGETS) as ReleaseTarget[]) {
  const outfile = `dist/obcap-${target}`;
  const bytes = buildBinary({ outfile, target }, commit);
  const machine = elfMachine(resolve(ROOT, outfile));
  if (machine !== ELF_MACHINE[target]) throw new Error(`${outfile}: ELF machine ${machine}, expected ${ELF_MACHINE[target]} for ${target}`);
  lines.push(`${sha256(resolve(ROOT, outfile))}  ${basename(outfile)}`);
  console.log(`${outfile}: ${(bytes / 1048576).toFixed(1)} MiB, ${target}, commit ${commit}`);
}
writeFileSync(resolve(ROOT, "dist/SHA256SUMS"), `${lines.join("\n")}\n`);
console.log("dist/SHA256SUMS: verify with 'cd dist && sha256sum -c SHA256SUMS'");
