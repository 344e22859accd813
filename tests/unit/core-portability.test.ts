/**
 * The core folders use web-standard APIs only, so they also run under Deno; Bun-specific code lives in
 * src/runtime/bun/ and src/cli/. This fails if a core file names a Bun API.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "../..");
/** Every source file but the Bun adapters (src/runtime/bun/) and the CLI (src/cli/): a new folder is core by default. */
const NOT_CORE = ["src/cli/", "src/runtime/bun/"];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

test("core modules name no Bun API", () => {
  const offenders: string[] = [];
  const core = tsFiles(join(ROOT, "src")).filter((f) => !NOT_CORE.some((d) => relative(ROOT, f).startsWith(d)));
  expect(core.some((f) => relative(ROOT, f).startsWith("src/book/"))).toBe(true);
  for (const file of core) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      if (/\bBun\.|from\s+["']bun(:|["'])|import\.meta\.dir\b/.test(code)) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(offenders).toEqual([]);
});
