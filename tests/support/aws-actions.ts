/**
 * Which DynamoDB actions a command's code can call, read from the source: every module reachable
 * from the command's entry modules by static and dynamic imports, and in each the DynamoDB SDK
 * commands it constructs (`new QueryCommand(` -> `Query`). Module-level, so it over-approximates:
 * a module that holds one call a command never reaches still counts.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const IMPORT_RE = /(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g;
const COMMAND_RE = /new\s+([A-Z][A-Za-z]+)Command\(/g;
const SDK_IMPORT_RE = /import\s*\{([^}]*)\}\s*from\s*"@aws-sdk\/client-dynamodb"/g;

/** The modules reachable from `entries` (absolute paths), entries included. */
export function reachableModules(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.endsWith(".ts")) todo.push(resolve(dirname(file), spec));
    }
  }
  return seen;
}

/** The DynamoDB actions the module constructs commands for (only names imported from the DynamoDB client). */
export function actionsOfModule(file: string): Set<string> {
  const text = readFileSync(file, "utf8");
  const imported = new Set<string>();
  for (const m of text.matchAll(SDK_IMPORT_RE)) {
    for (const name of (m[1] as string).split(",")) imported.add(name.replace(/^\s*type\s+/, "").trim().split(/\s+as\s+/)[0] as string);
  }
  const actions = new Set<string>();
  for (const m of text.matchAll(COMMAND_RE)) if (imported.has(`${m[1]}Command`)) actions.add(m[1] as string);
  return actions;
}

/** Action -> the modules that call it, over the modules reachable from `entries`. */
export function actionsReachable(entries: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of reachableModules(entries)) {
    for (const action of actionsOfModule(file)) out.set(action, [...(out.get(action) ?? []), file]);
  }
  return out;
}
