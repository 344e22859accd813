/**
 * Every core module (src/ less src/cli/ and src/runtime/bun/) loads under Deno: its imports link and
 * its top-level code runs. Covers the modules that no listed test reaches (those tested only through
 * Bun's sockets, workers or DynamoDB Local). Not a *.test.ts file: Deno only, run by `make test-deno`.
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, test } from "bun:test";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NOT_CORE = ["src/cli/", "src/runtime/bun/"];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

const coreFiles = tsFiles(join(ROOT, "src"))
  .map((f) => relative(ROOT, f).split("\\").join("/"))
  .filter((f) => !NOT_CORE.some((prefix) => f.startsWith(prefix)))
  .sort();

test("there are core modules to load", () => {
  expect(coreFiles.length).toBeGreaterThan(50);
});

for (const file of coreFiles) {
  test(`${file} loads`, async () => {
    const module: object = await import(pathToFileURL(join(ROOT, file)).href);
    expect(typeof module).toBe("object");
  });
}
