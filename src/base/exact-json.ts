/**
 * JSON parsing that never loses a number's digits.
 *
 * Bitstamp frames carry JSON numbers that a double cannot hold: trade ids above 2^53 on perpetuals
 * (`2001939623936278528`), and a Python-style serializer writes `1e-08`, `3.0`. `JSON.parse` would
 * silently turn those into other text. {@link parseJsonExact} keeps the source text of every such
 * number in a {@link JsonNumber}, using the reviver's third argument (`context.source`, TC39 "JSON.parse
 * source text access", shipped in Bun and Deno) and `JSON.rawJSON` to write it back.
 *
 * Most frames hold no risky number, so a cheap scan ({@link hasRiskyNumberToken}) decides first and
 * the common frame goes through plain `JSON.parse` (the reviver costs ~4x).
 */

/** A JSON number whose exact source text differs from what `String(Number(text))` would print. */
export class JsonNumber {
  constructor(readonly text: string) {}

  /** `JSON.stringify` writes the exact source text back (via `JSON.rawJSON`). */
  toJSON(): unknown {
    return rawJson(this.text);
  }

  toString(): string {
    return this.text;
  }
}

/** The value of a JSON number after {@link parseJsonExact}: a plain number, or the exact text. */
export type ExactNumber = number | JsonNumber;

/** The exact text of a JSON number as it was on the wire (a plain number prints itself losslessly). */
export function numberText(x: ExactNumber): string {
  if (typeof x !== "number") return x.text;
  // The texts of the last frame's numbers (below) spare a double-to-text conversion (~50 ns).
  for (let i = 0; i < notedCount; i++) if (notedValues[i] === x) return notedSource.slice(notedStarts[i], notedEnds[i]);
  return String(x);
}

/*
 * Number texts noted by a parser that read them (frame-layouts.ts): the plain numbers of the last
 * frame, by position in its text. Every entry's text is `String(value)` (a parser notes only tokens
 * hasRiskyNumberToken would pass, whose text is exactly what String prints), so an entry is right
 * for any equal value, whichever frame it came from: this is a memo, not a channel.
 */
const NOTED_MAX = 16;
const notedValues: number[] = [];
const notedStarts: number[] = [];
const notedEnds: number[] = [];
let notedSource = "";
let notedCount = 0;

/** Starts noting the numbers of a new frame `source` (forgets the previous frame's). */
export function beginNumberTexts(source: string): void {
  notedSource = source;
  notedCount = 0;
}

/**
 * Notes that `source.slice(start, end)` of the frame given to {@link beginNumberTexts} is a JSON number
 * token equal to `value` whose text is `String(value)`. Ignored beyond 16 numbers per frame.
 */
export function noteNumberText(start: number, end: number, value: number): void {
  if (notedCount === NOTED_MAX) return;
  notedValues[notedCount] = value;
  notedStarts[notedCount] = start;
  notedEnds[notedCount] = end;
  notedCount++;
}

/** True for a plain number or a {@link JsonNumber}. */
export function isExactNumber(x: unknown): x is ExactNumber {
  return typeof x === "number" || x instanceof JsonNumber;
}

interface ReviverContext {
  source?: string;
}

type JsonWithRaw = JSON & { rawJSON?: (text: string) => unknown };

const JSON_RAW = (JSON as JsonWithRaw).rawJSON;

function rawJson(text: string): unknown {
  if (JSON_RAW === undefined) throw new Error("JSON.rawJSON is not available in this runtime (need Bun >= 1.1 or Deno >= 1.40)");
  return JSON_RAW(text);
}

/**
 * True if `text` may contain a JSON number token that {@link parseJsonExact} must keep as text.
 *
 * One pass over the text that jumps over quoted strings (so `"1786269861947000"` or `"0.10000000"`
 * never count) and looks at each number token. A token is risky if it has an exponent; is `-0`; has
 * 17+ integer digits, or 16 starting with 9 (2^53 = 9007199254740992); has a fraction ending in 0;
 * is below 1e-6 (`0.000000…`, which `String` prints with an exponent); or has 16+ digits with a dot
 * (a double keeps 15 significant digits). A superset of the reviver's own test (property-tested):
 * a false positive only costs the slow path. About 2x faster than an equivalent regex.
 */
export function hasRiskyNumberToken(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i) + 1;
      if (i === 0) return false; // unterminated: JSON.parse will throw anyway
      continue;
    }
    if (c !== MINUS && (c < ZERO || c > NINE)) {
      i++;
      continue;
    }
    const negative = c === MINUS;
    if (negative) i++;
    const intStart = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    const intDigits = i - intStart;
    const first = text.charCodeAt(intStart);
    if (intDigits >= 17 || (intDigits === 16 && first === NINE)) return true;
    let next = text.charCodeAt(i);
    if (next === DOT) {
      const fracStart = ++i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const fracDigits = i - fracStart;
      if (fracDigits === 0 || text.charCodeAt(i - 1) === ZERO) return true;
      if (intDigits + fracDigits >= 16) return true;
      if (intDigits === 1 && first === ZERO && text.startsWith("000000", fracStart)) return true;
      next = text.charCodeAt(i);
    } else if (negative && intDigits === 1 && first === ZERO) {
      return true;
    }
    if (next === LOWER_E || next === UPPER_E) return true;
  }
  return false;
}

/**
 * True if `text` opens more than `maxLevels` arrays/objects inside each other (brackets inside
 * strings do not count), scanning no further than the first level too deep. A cheap guard to run
 * before parsing: the parse itself copes with deep text, but the recursive steps after it
 * (`JSON.parse`'s reviver here, `JSON.stringify` in the item codec) overflow the stack, at about
 * 4,500 and 40,000 levels in Bun 1.4 (measured, main thread and Worker alike), with a RangeError.
 * Unbalanced or invalid text is counted as far as it goes; the parser still judges it.
 */
export function jsonNestingExceeds(text: string, maxLevels: number): boolean {
  // Most frames open a handful of arrays/objects in all (a trade: 2): fewer openers than the bound
  // cannot nest deeper. Two native indexOf runs: 0.04 µs for a 315-character trade, the scan 0.3 µs.
  const braces = countUpTo(text, "{", maxLevels + 1);
  if (braces + countUpTo(text, "[", maxLevels + 1 - braces) <= maxLevels) return false;
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const close = endOfString(text, i);
      if (close < 0) return false; // unterminated: the parser rejects it
      i = close;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxLevels) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Occurrences of `char` in `text`, counting no further than `limit`. */
function countUpTo(text: string, char: string, limit: number): number {
  let count = 0;
  for (let i = text.indexOf(char); i >= 0 && count < limit; i = text.indexOf(char, i + 1)) count++;
  return count;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Index of the quote closing the string that opens at `open`, or -1. */
function endOfString(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close > 0 && text.charCodeAt(close - 1) === BACKSLASH) {
    let backslashes = 0;
    for (let k = close - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) break; // the backslashes escape each other, not the quote
    close = text.indexOf('"', close + 1);
  }
  return close;
}

function exactReviver(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value !== "number") return value;
  const source = context?.source;
  if (source === undefined) {
    throw new Error("JSON.parse reviver has no context.source in this runtime: cannot keep exact numbers");
  }
  return source === String(value) ? value : new JsonNumber(source);
}

/** Always takes the reviver path. Exported for tests and benchmarks; use {@link parseJsonExact}. */
export function parseJsonWithSource(text: string): unknown {
  return JSON.parse(text, exactReviver as (key: string, value: unknown) => unknown);
}

/**
 * Like `JSON.parse`, but a number whose source text differs from `String(value)` becomes a
 * {@link JsonNumber} holding that text. Throws `SyntaxError` like `JSON.parse`.
 */
export function parseJsonExact(text: string): unknown {
  return hasRiskyNumberToken(text) ? parseJsonWithSource(text) : JSON.parse(text);
}

/** `JSON.stringify` that writes every {@link JsonNumber} as its exact text (compact, no spaces). */
export function stringifyExact(value: unknown): string {
  return JSON.stringify(value);
}
