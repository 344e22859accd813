/**
 * The import graph of src/ follows the data flow. Data flows one way, exchange -> queue -> journal ->
 * pipeline -> store, and store -> book -> api for reading; below everything sit the generic helpers
 * (base), the event model (model) and the runtime's ports. This table is the one place that says
 * which folder may import which; the test fails on any other import and on any folder cycle.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = join(ROOT, "src");

/** Folder -> the folders it may import (besides itself). Keep in step with docs/architecture.md. */
export const ALLOWED_IMPORTS: Record<string, readonly string[]> = {
  base: [],
  model: ["base"],
  runtime: ["base", "model"],
  exchange: ["base", "model", "runtime"],
  queue: ["base", "model"],
  journal: ["base", "model", "runtime", "queue"],
  store: ["base", "model"],
  book: ["base", "model"],
  pipeline: ["base", "model", "exchange", "queue", "journal", "store", "book"],
  metrics: ["base", "model", "queue", "journal", "pipeline"],
  capture: ["base", "model", "runtime", "exchange", "queue", "journal", "pipeline", "store", "metrics"],
  replay: ["base", "model", "exchange", "journal", "pipeline", "store"],
  export: ["base", "model", "exchange", "journal", "store"],
  history: ["base", "model", "exchange", "journal", "pipeline", "store", "book", "export", "replay"],
  api: ["base", "model", "store", "export", "book", "history"],
  migrate: ["base", "model", "pipeline", "store", "export"],
  "runtime/bun": ["base", "runtime"],
  cli: ["base", "model", "runtime", "runtime/bun", "exchange", "queue", "journal", "pipeline", "store", "metrics", "capture", "replay", "export", "book", "history", "api", "migrate"],
};

/** The folder a file belongs to: src/runtime/bun is a folder of its own (Bun only), src/runtime/ports.ts is `runtime`. */
function areaOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  if (parts[0] === "runtime" && parts[1] === "bun") return "runtime/bun";
  return parts[0]!;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Relative module specifiers of a file: static imports and re-exports, dynamic imports, Worker URLs. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specs: string[] = [];
  for (const re of [/\bfrom\s*["'](\.[^"']+)["']/g, /\bimport\s*\(\s*["'](\.[^"']+)["']/g, /\bimport\s*["'](\.[^"']+)["']/g, /new URL\(\s*["'](\.[^"']+)["']/g]) {
    for (const m of code.matchAll(re)) specs.push(m[1]!);
  }
  return specs;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

/** Outside src/, only the package manifest may be imported (src/base/version.ts reads the version). */
const OUTSIDE_SRC_ALLOWED = new Set([join(ROOT, "package.json")]);

function edges(): Edge[] {
  return tsFiles(SRC).flatMap((file) =>
    importsOf(readFileSync(file, "utf8")).flatMap((spec) => {
      const target = resolve(dirname(file), spec);
      if (OUTSIDE_SRC_ALLOWED.has(target)) return [];
      const to = target.startsWith(SRC + "/") ? areaOf(target) : `outside src/ (${relative(ROOT, target)})`;
      return [{ from: areaOf(file), to, file: relative(ROOT, file), spec }];
    }),
  );
}

/** Folder cycles of a graph (each as a path), by depth-first search. */
export function cyclesOf(graph: Record<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph[node] ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of Object.keys(graph)) if (!state.has(node)) visit(node);
  return cycles;
}

describe("architecture: the import graph of src/", () => {
  const all = edges();

  test("it reads the graph (a guard against a parser that finds nothing)", () => {
    expect(all.length).toBeGreaterThan(300);
    expect(new Set(all.map((e) => e.from)).size).toBeGreaterThanOrEqual(12);
  });

  test("every folder under src/ is in the table", () => {
    const areas = new Set(tsFiles(SRC).map(areaOf));
    expect([...areas].filter((a) => !(a in ALLOWED_IMPORTS))).toEqual([]);
  });

  test("no import runs against the flow", () => {
    const against = all
      .filter((e) => e.from !== e.to && !ALLOWED_IMPORTS[e.from]?.includes(e.to))
      .map((e) => `${e.file} imports ${e.spec} (${e.from} -> ${e.to})`);
    expect(against).toEqual([]);
  });

  test("the allowed directions have no cycle, and neither has the real graph", () => {
    expect(cyclesOf(ALLOWED_IMPORTS)).toEqual([]);
    const real: Record<string, string[]> = {};
    for (const e of all) if (e.from !== e.to) (real[e.from] ??= []).includes(e.to) || real[e.from]!.push(e.to);
    expect(cyclesOf(real)).toEqual([]);
  });

  test("the checks catch what they are for", () => {
    expect(importsOf('import { a } from "../pipeline/x.ts";\nexport { b } from "./y.ts";\nconst w = new URL("./w.ts", import.meta.url);\n// import { c } from "../z.ts";'))
      .toEqual(["../pipeline/x.ts", "./y.ts", "./w.ts"]);
    expect(cyclesOf({ a: ["b"], b: ["c"], c: ["a"] })).toEqual([["a", "b", "c", "a"]]);
    expect(ALLOWED_IMPORTS.journal!.includes("pipeline")).toBe(false);
  });
});
