/**
 * The part of `bun:test` that the core tests use, for Deno: tests/deno/deno.json maps `bun:test` here.
 * Each test becomes one `Deno.test`, named "describe > ... > test"; hooks run around it as Bun runs
 * them. `expect` throws on a failed expectation, which fails that Deno test and the run.
 * Anything this shim does not export (mock, spyOn, ...) is a link error under Deno, so a test that
 * needs it fails loudly instead of passing quietly: keep such tests out of core-tests.ts or extend
 * this file (and shim-selftest.ts) honestly.
 */
import { inspect } from "node:util";

type Fn = () => unknown;
type TestFn = (...args: never[]) => unknown;
type TestOptions = number | { timeout?: number };

declare const Deno: {
  test(def: { name: string; fn: () => Promise<void>; ignore?: boolean; only?: boolean; sanitizeOps?: boolean; sanitizeResources?: boolean }): void;
};

interface Scope {
  name: string;
  parent: Scope | undefined;
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
  /** Tests registered to run in this scope and below, and how many of them have finished. */
  total: number;
  done: number;
  beforeAllRun: Promise<void> | undefined;
  skip: boolean;
  only: boolean;
}

function newScope(name: string, parent: Scope | undefined, skip = false, only = false): Scope {
  return { name, parent, beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], total: 0, done: 0, beforeAllRun: undefined, skip, only };
}

const root = newScope("", undefined);
let current = root;
/** Bun's own default; bunfig.toml sets 60 s for this project, so the shim does too. */
let defaultTimeoutMs = 60_000;

export function setDefaultTimeout(ms: number): void {
  defaultTimeoutMs = ms;
}

function chain(scope: Scope): Scope[] {
  const scopes: Scope[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) scopes.unshift(s);
  return scopes;
}

function withTimeout(run: Promise<unknown>, ms: number, name: string): Promise<unknown> {
  if (!Number.isFinite(ms) || ms <= 0) return run;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test "${name}" timed out after ${ms} ms`)), ms);
  });
  return Promise.race([run, bound]).finally(() => clearTimeout(timer));
}

function register(name: string, fn: TestFn, options: TestOptions | undefined, flags: { skip?: boolean; only?: boolean }): void {
  if (typeof fn !== "function") throw new TypeError(`test "${name}": the shim needs a test function`);
  const timeout = typeof options === "number" ? options : options?.timeout;
  if (typeof options === "object" && Object.keys(options).some((k) => k !== "timeout")) {
    throw new Error(`test "${name}": the Deno shim supports only the timeout option, got ${inspect(options)}`);
  }
  const scopes = chain(current);
  const skip = flags.skip === true || scopes.some((s) => s.skip);
  const only = flags.only === true || scopes.some((s) => s.only);
  const fullName = [...scopes.map((s) => s.name).filter((n) => n !== ""), name].join(" > ");
  if (!skip) for (const s of scopes) s.total++;
  Deno.test({
    name: fullName,
    ignore: skip,
    only,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      let failure: { error: unknown } | undefined;
      const fail = (error: unknown) => {
        failure ??= { error };
      };
      try {
        for (const s of scopes) {
          s.beforeAllRun ??= (async () => {
            for (const hook of s.beforeAll) await hook();
          })();
          await s.beforeAllRun;
        }
        for (const s of scopes) for (const hook of s.beforeEach) await hook();
        await withTimeout(Promise.resolve().then(() => (fn as () => unknown)()), timeout ?? defaultTimeoutMs, fullName);
      } catch (error) {
        fail(error);
      }
      for (const s of [...scopes].reverse()) {
        for (const hook of s.afterEach) {
          try {
            await hook();
          } catch (error) {
            fail(error);
          }
        }
      }
      for (const s of [...scopes].reverse()) {
        if (++s.done !== s.total) continue;
        for (const hook of s.afterAll) {
          try {
            await hook();
          } catch (error) {
            fail(error);
          }
        }
      }
      if (failure) throw failure.error;
    },
  });
}

/** Bun's (Jest's) name formatting for test.each: %p %s %d %i %f %j %o %O %# %%, and $key for object rows. */
function formatName(name: string, args: unknown[], index: number): string {
  let i = 0;
  let out = name.replace(/%([psdifjoO#%])/g, (match, k: string) => {
    if (k === "%") return "%";
    if (k === "#") return String(index);
    if (i >= args.length) return match;
    const value = args[i++];
    switch (k) {
      case "s":
        return typeof value === "string" ? value : inspect(value);
      case "d":
      case "i":
        return String(k === "i" ? Math.trunc(Number(value)) : Number(value));
      case "f":
        return String(Number(value));
      case "j":
        return JSON.stringify(value);
      case "p":
        return typeof value === "string" ? JSON.stringify(value) : inspect(value, { depth: 3 });
      default:
        return inspect(value, { depth: 3 });
    }
  });
  const first = args[0];
  if (args.length === 1 && first !== null && typeof first === "object" && !Array.isArray(first)) {
    out = out.replace(/\$([A-Za-z_][\w.]*)/g, (match, path: string) => {
      let v: unknown = first;
      for (const part of path.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
      return v === undefined && !(path in (first as object)) ? match : typeof v === "string" ? v : inspect(v);
    });
  }
  return out;
}

function eachOf(table: readonly unknown[], define: (name: string, fn: () => unknown, options?: TestOptions) => void) {
  return (name: string, fn: TestFn, options?: TestOptions) => {
    table.forEach((row, index) => {
      const args = Array.isArray(row) ? row : [row];
      define(formatName(name, args, index), () => (fn as (...a: unknown[]) => unknown)(...args), options);
    });
  };
}

type TestApi = ((name: string, fn: TestFn, options?: TestOptions) => void) & {
  skip: (name: string, fn?: TestFn, options?: TestOptions) => void;
  todo: (name: string, fn?: TestFn, options?: TestOptions) => void;
  only: (name: string, fn: TestFn, options?: TestOptions) => void;
  if: (condition: unknown) => (name: string, fn: TestFn, options?: TestOptions) => void;
  skipIf: (condition: unknown) => (name: string, fn: TestFn, options?: TestOptions) => void;
  each: (table: readonly unknown[]) => (name: string, fn: TestFn, options?: TestOptions) => void;
};

const noop = () => {};
export const test: TestApi = Object.assign((name: string, fn: TestFn, options?: TestOptions) => register(name, fn, options, {}), {
  skip: (name: string, fn?: TestFn, options?: TestOptions) => register(name, fn ?? noop, options, { skip: true }),
  todo: (name: string, fn?: TestFn, options?: TestOptions) => register(name, fn ?? noop, options, { skip: true }),
  only: (name: string, fn: TestFn, options?: TestOptions) => register(name, fn, options, { only: true }),
  if: (condition: unknown) => (name: string, fn: TestFn, options?: TestOptions) => register(name, fn, options, { skip: !condition }),
  skipIf: (condition: unknown) => (name: string, fn: TestFn, options?: TestOptions) => register(name, fn, options, { skip: !!condition }),
  each: (table: readonly unknown[]) => eachOf(table, (name, fn, options) => register(name, fn, options, {})),
});
export const it = test;

function defineScope(name: string, body: () => unknown, skip: boolean, only: boolean): void {
  const scope = newScope(name, current, skip, only);
  const parent = current;
  current = scope;
  try {
    const result = body();
    if (result instanceof Promise) throw new Error(`describe "${name}": an async describe body is not supported`);
  } finally {
    current = parent;
  }
}

type DescribeApi = ((name: string, body: () => unknown) => void) & {
  skip: (name: string, body: () => unknown) => void;
  only: (name: string, body: () => unknown) => void;
  if: (condition: unknown) => (name: string, body: () => unknown) => void;
  skipIf: (condition: unknown) => (name: string, body: () => unknown) => void;
  each: (table: readonly unknown[]) => (name: string, body: (...args: never[]) => unknown) => void;
};

export const describe: DescribeApi = Object.assign((name: string, body: () => unknown) => defineScope(name, body, false, false), {
  skip: (name: string, body: () => unknown) => defineScope(name, body, true, false),
  only: (name: string, body: () => unknown) => defineScope(name, body, false, true),
  if: (condition: unknown) => (name: string, body: () => unknown) => defineScope(name, body, !condition, false),
  skipIf: (condition: unknown) => (name: string, body: () => unknown) => defineScope(name, body, !!condition, false),
  each: (table: readonly unknown[]) => (name: string, body: (...args: never[]) => unknown) =>
    table.forEach((row, index) => {
      const args = Array.isArray(row) ? row : [row];
      defineScope(formatName(name, args, index), () => (body as (...a: unknown[]) => unknown)(...args), false, false);
    }),
});

export const beforeAll = (hook: Fn): void => void current.beforeAll.push(hook);
export const afterAll = (hook: Fn): void => void current.afterAll.push(hook);
export const beforeEach = (hook: Fn): void => void current.beforeEach.push(hook);
export const afterEach = (hook: Fn): void => void current.afterEach.push(hook);

// ---------------------------------------------------------------------------------------------
// expect

class Asymmetric {
  constructor(
    readonly description: string,
    readonly match: (other: unknown) => boolean,
  ) {}
  [inspect.custom](): string {
    return this.description;
  }
}

function show(value: unknown): string {
  return inspect(value, { depth: 6, maxArrayLength: 50, maxStringLength: 2000, breakLength: 120 });
}

function tagOf(value: object): string {
  return Object.prototype.toString.call(value);
}

function ownKeys(value: object, strict: boolean): PropertyKey[] {
  return Reflect.ownKeys(value).filter(
    (k) => Object.prototype.propertyIsEnumerable.call(value, k) && (strict || (value as Record<PropertyKey, unknown>)[k] !== undefined),
  );
}

function bytesOf(value: ArrayBufferView | ArrayBufferLike): Uint8Array {
  return ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
}

/** Jest/Bun deep equality: toEqual ignores undefined properties and classes; toStrictEqual does not. */
function equals(a: unknown, b: unknown, strict: boolean, seen: [unknown, unknown][] = []): boolean {
  if (a instanceof Asymmetric) return a.match(b);
  if (b instanceof Asymmetric) return b.match(a);
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const tag = tagOf(a);
  if (tag !== tagOf(b)) return false;
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.some(([x, y]) => x === a && y === b)) return true;
  seen = [...seen, [a, b]];
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp) return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags;
  if (tag === "[object Number]" || tag === "[object String]" || tag === "[object Boolean]") {
    if (!Object.is(a.valueOf(), b.valueOf())) return false;
  }
  if (a instanceof Error && (a.name !== (b as Error).name || a.message !== (b as Error).message)) return false;
  if (ArrayBuffer.isView(a) || tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") {
    const x = bytesOf(a as ArrayBufferView);
    const y = bytesOf(b as ArrayBufferView);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [k, v] of a) {
      if (m.has(k)) {
        if (!equals(v, m.get(k), strict, seen)) return false;
      } else if (![...m].some(([k2, v2]) => equals(k, k2, strict, seen) && equals(v, v2, strict, seen))) return false;
    }
    return true;
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    for (const v of a) if (!s.has(v) && ![...s].some((w) => equals(v, w, strict, seen))) return false;
    return true;
  }
  if (Array.isArray(a)) {
    const y = b as unknown[];
    if (a.length !== y.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (strict && (i in a) !== (i in y)) return false;
      if (!equals(a[i], y[i], strict, seen)) return false;
    }
  }
  const keysA = ownKeys(a, strict).filter((k) => !Array.isArray(a) || typeof k !== "string" || !/^\d+$/.test(k));
  const keysB = ownKeys(b, strict).filter((k) => !Array.isArray(b) || typeof k !== "string" || !/^\d+$/.test(k));
  if (keysA.length !== keysB.length) return false;
  for (const k of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!equals((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k], strict, seen)) return false;
  }
  return true;
}

/** toMatchObject: every property of `expected` is in `actual` (recursively); arrays match element by element. */
function matchesObject(actual: unknown, expected: unknown): boolean {
  if (expected instanceof Asymmetric) return expected.match(actual);
  if (typeof expected !== "object" || expected === null) return equals(actual, expected, false);
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matchesObject(actual[i], e));
  }
  if (tagOf(expected) !== "[object Object]") return equals(actual, expected, false);
  return Reflect.ownKeys(expected)
    .filter((k) => Object.prototype.propertyIsEnumerable.call(expected, k))
    .every((k) => k in actual && matchesObject((actual as Record<PropertyKey, unknown>)[k], (expected as Record<PropertyKey, unknown>)[k]));
}

function messageOf(thrown: unknown): string {
  return thrown !== null && typeof thrown === "object" && "message" in thrown ? String((thrown as { message: unknown }).message) : String(thrown);
}

interface Outcome {
  pass: boolean;
  /** What was expected, for the failure message (the matcher name and arguments are added around it). */
  detail: () => string;
}

const NO_THROW = Symbol("nothing thrown");

type Mode = "value" | "resolves" | "rejects";

const matchers: Record<string, (actual: unknown, mode: Mode, ...args: any[]) => Outcome> = {
  toBe: (actual, _m, expected: unknown) => ({ pass: Object.is(actual, expected), detail: () => `Expected: ${show(expected)}\nReceived: ${show(actual)}` }),
  toEqual: (actual, _m, expected: unknown) => ({ pass: equals(actual, expected, false), detail: () => `Expected: ${show(expected)}\nReceived: ${show(actual)}` }),
  toStrictEqual: (actual, _m, expected: unknown) => ({ pass: equals(actual, expected, true), detail: () => `Expected: ${show(expected)}\nReceived: ${show(actual)}` }),
  toMatchObject: (actual, _m, expected: unknown) => ({ pass: matchesObject(actual, expected), detail: () => `Expected to match: ${show(expected)}\nReceived: ${show(actual)}` }),
  toContain: (actual, _m, item: unknown) => ({
    pass:
      typeof actual === "string"
        ? typeof item === "string" && actual.includes(item)
        : actual !== null && typeof actual === "object" && Symbol.iterator in actual && [...(actual as Iterable<unknown>)].some((x) => x === item),
    detail: () => `Expected to contain: ${show(item)}\nReceived: ${show(actual)}`,
  }),
  toContainEqual: (actual, _m, item: unknown) => ({
    pass: actual !== null && typeof actual === "object" && Symbol.iterator in actual && [...(actual as Iterable<unknown>)].some((x) => equals(x, item, false)),
    detail: () => `Expected to contain equal: ${show(item)}\nReceived: ${show(actual)}`,
  }),
  toHaveLength: (actual, _m, length: number) => ({
    pass: actual !== null && actual !== undefined && (actual as { length?: unknown }).length === length,
    detail: () => `Expected length: ${length}\nReceived: ${show(actual)}`,
  }),
  toBeUndefined: (actual) => ({ pass: actual === undefined, detail: () => `Received: ${show(actual)}` }),
  toBeDefined: (actual) => ({ pass: actual !== undefined, detail: () => `Received: ${show(actual)}` }),
  toBeNull: (actual) => ({ pass: actual === null, detail: () => `Received: ${show(actual)}` }),
  toBeTrue: (actual) => ({ pass: actual === true, detail: () => `Received: ${show(actual)}` }),
  toBeFalse: (actual) => ({ pass: actual === false, detail: () => `Received: ${show(actual)}` }),
  toBeTruthy: (actual) => ({ pass: !!actual, detail: () => `Received: ${show(actual)}` }),
  toBeFalsy: (actual) => ({ pass: !actual, detail: () => `Received: ${show(actual)}` }),
  toBeNaN: (actual) => ({ pass: Number.isNaN(actual), detail: () => `Received: ${show(actual)}` }),
  toBeString: (actual) => ({ pass: typeof actual === "string", detail: () => `Received: ${show(actual)}` }),
  toBeNumber: (actual) => ({ pass: typeof actual === "number", detail: () => `Received: ${show(actual)}` }),
  toBeArray: (actual) => ({ pass: Array.isArray(actual), detail: () => `Received: ${show(actual)}` }),
  toBeTypeOf: (actual, _m, type: string) => ({ pass: typeof actual === type, detail: () => `Expected type: ${type}\nReceived: ${show(actual)}` }),
  toBeInstanceOf: (actual, _m, ctor: new (...a: never[]) => unknown) => ({
    pass: actual instanceof ctor,
    detail: () => `Expected an instance of: ${ctor?.name}\nReceived: ${show(actual)}`,
  }),
  toBeGreaterThan: (actual, _m, n: number | bigint) => ({ pass: (actual as number) > n, detail: () => `Expected: > ${show(n)}\nReceived: ${show(actual)}` }),
  toBeGreaterThanOrEqual: (actual, _m, n: number | bigint) => ({ pass: (actual as number) >= n, detail: () => `Expected: >= ${show(n)}\nReceived: ${show(actual)}` }),
  toBeLessThan: (actual, _m, n: number | bigint) => ({ pass: (actual as number) < n, detail: () => `Expected: < ${show(n)}\nReceived: ${show(actual)}` }),
  toBeLessThanOrEqual: (actual, _m, n: number | bigint) => ({ pass: (actual as number) <= n, detail: () => `Expected: <= ${show(n)}\nReceived: ${show(actual)}` }),
  toBeCloseTo: (actual, _m, n: number, digits = 2) => ({
    pass: typeof actual === "number" && Math.abs(actual - n) < 10 ** -digits / 2,
    detail: () => `Expected: ${n} (to ${digits} digits)\nReceived: ${show(actual)}`,
  }),
  toStartWith: (actual, _m, prefix: string) => ({
    pass: typeof actual === "string" && actual.startsWith(prefix),
    detail: () => `Expected to start with: ${show(prefix)}\nReceived: ${show(actual)}`,
  }),
  toEndWith: (actual, _m, suffix: string) => ({
    pass: typeof actual === "string" && actual.endsWith(suffix),
    detail: () => `Expected to end with: ${show(suffix)}\nReceived: ${show(actual)}`,
  }),
  toMatch: (actual, _m, pattern: string | RegExp) => ({
    pass: typeof actual === "string" && (typeof pattern === "string" ? actual.includes(pattern) : new RegExp(pattern.source, pattern.flags).test(actual)),
    detail: () => `Expected to match: ${show(pattern)}\nReceived: ${show(actual)}`,
  }),
  toThrow: (actual, mode, expected?: unknown) => {
    let thrown: unknown = NO_THROW;
    if (mode === "rejects") thrown = actual;
    else if (typeof actual !== "function") throw new TypeError(`expect(received).toThrow(): received must be a function, got ${show(actual)}`);
    else {
      try {
        actual();
      } catch (error) {
        thrown = error;
      }
    }
    const received = thrown === NO_THROW ? "Received: nothing was thrown" : `Received: ${show(thrown)}`;
    if (thrown === NO_THROW) return { pass: false, detail: () => `Expected: ${expected === undefined ? "a throw" : show(expected)}\n${received}` };
    let pass: boolean;
    if (expected === undefined) pass = true;
    else if (typeof expected === "string") pass = messageOf(thrown).includes(expected);
    else if (expected instanceof RegExp) pass = new RegExp(expected.source, expected.flags).test(messageOf(thrown));
    else if (expected instanceof Asymmetric) pass = expected.match(thrown);
    else if (typeof expected === "function") pass = thrown instanceof expected;
    else if (expected instanceof Error) pass = messageOf(thrown) === expected.message;
    else if (expected !== null && typeof expected === "object") pass = matchesObject(thrown, expected);
    else throw new TypeError(`expect(received).toThrow(): unsupported expected value ${show(expected)}`);
    return { pass, detail: () => `Expected: ${expected === undefined ? "a throw" : show(expected)}\n${received}` };
  },
};
matchers.toThrowError = matchers.toThrow!;

class ExpectationError extends Error {
  override name = "ExpectationError";
}

function check(name: string, actual: unknown, mode: Mode, negated: boolean, args: unknown[]): void {
  const outcome = matchers[name]!(actual, mode, ...args);
  if (outcome.pass !== negated) return;
  const call = `expect(received)${mode === "value" ? "" : `.${mode}`}${negated ? ".not" : ""}.${name}(${args.map((a) => show(a)).join(", ")})`;
  throw new ExpectationError(`${call}\n\n${outcome.detail()}`);
}

type Matchers = { [name: string]: (...args: any[]) => any } & { not: Matchers; resolves: Matchers; rejects: Matchers };

function expectation(actual: unknown, mode: Mode, negated: boolean): Matchers {
  const target: Record<string, unknown> = {};
  for (const name of Object.keys(matchers)) {
    target[name] = (...args: unknown[]) => {
      if (mode === "value") return check(name, actual, mode, negated, args);
      const settled = Promise.resolve()
        .then(() => (typeof actual === "function" ? actual() : actual))
        .then(
          (value) => {
            if (mode === "rejects") throw new ExpectationError(`expect(received).rejects.${name}(): the promise resolved with ${show(value)} instead of rejecting`);
            return value;
          },
          (reason) => {
            if (mode === "resolves") throw new ExpectationError(`expect(received).resolves.${name}(): the promise rejected with ${show(reason)} instead of resolving`);
            return reason;
          },
        );
      return settled.then((value) => check(name, value, mode, negated, args));
    };
  }
  Object.defineProperty(target, "not", { get: () => expectation(actual, mode, !negated) });
  Object.defineProperty(target, "resolves", { get: () => expectation(actual, "resolves", negated) });
  Object.defineProperty(target, "rejects", { get: () => expectation(actual, "rejects", negated) });
  return target as Matchers;
}

function typeMatches(value: unknown, ctor: unknown): boolean {
  if (ctor === String) return typeof value === "string" || value instanceof String;
  if (ctor === Number) return typeof value === "number" || value instanceof Number;
  if (ctor === Boolean) return typeof value === "boolean" || value instanceof Boolean;
  if (ctor === BigInt) return typeof value === "bigint";
  if (ctor === Symbol) return typeof value === "symbol";
  if (ctor === Function) return typeof value === "function";
  if (ctor === Object) return value !== null && typeof value === "object";
  return typeof ctor === "function" && value instanceof ctor;
}

export const expect = Object.assign((actual: unknown) => expectation(actual, "value", false), {
  any: (ctor: unknown) => new Asymmetric(`Any<${(ctor as { name?: string })?.name}>`, (v) => typeMatches(v, ctor)),
  anything: () => new Asymmetric("Anything", (v) => v !== null && v !== undefined),
  objectContaining: (expected: object) =>
    new Asymmetric(
      `ObjectContaining ${show(expected)}`,
      (v) =>
        v !== null &&
        typeof v === "object" &&
        Object.keys(expected).every((k) => k in v && equals((v as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], false)),
    ),
  arrayContaining: (expected: unknown[]) =>
    new Asymmetric(`ArrayContaining ${show(expected)}`, (v) => Array.isArray(v) && expected.every((e) => v.some((x) => equals(x, e, false)))),
  stringContaining: (expected: string) => new Asymmetric(`StringContaining ${show(expected)}`, (v) => typeof v === "string" && v.includes(expected)),
  stringMatching: (expected: string | RegExp) =>
    new Asymmetric(`StringMatching ${show(expected)}`, (v) => typeof v === "string" && (typeof expected === "string" ? v.includes(expected) : expected.test(v))),
});
