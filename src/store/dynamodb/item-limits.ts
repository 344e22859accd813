/**
 * DynamoDB's limits on one item, checked before the item is sent. BatchWriteItem refuses a whole
 * batch with a ValidationException when one item breaks a limit, and that error cannot be retried:
 * one hostile frame would stop the capture and, from the journal, every restart after it (issue
 * "Close the loss and hang windows", case 4). {@link itemProblem} names the broken limit so the
 * pipeline can quarantine that one frame and go on. Web standards only (ES2024 `isWellFormed`).
 *
 * Limits, from the DynamoDB Developer Guide:
 * - "Constraints" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html):
 *   partition key value 1 to 2048 bytes, sort key value 1 to 1024 bytes; item size at most 400 KB
 *   (1 KB = 1024 bytes), "attribute name binary length (UTF-8 length) and attribute value lengths";
 *   Numbers: up to 38 digits of precision, positive range 1E-130 to 9.9999999999999999999999999999999999999E+125
 *   (negative alike); nested attributes up to 32 levels deep; attribute names at least 1 character
 *   and under 64 KB (HowItWorks.NamingRulesDataTypes.html); strings are Unicode, UTF-8.
 * - "DynamoDB item sizes and formats"
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 *   String = UTF-8 bytes of name + UTF-8 bytes of value; Number = name + 1 byte per two significant
 *   digits (leading and trailing zeros trimmed) + 1 byte ("approximately": this is the rule used);
 *   Binary = name + raw bytes; Null and Boolean = name + 1 byte; List and Map = name + 3 bytes + the
 *   elements' sizes + 1 byte per element.
 *
 * Nesting depth counts the top-level attribute as level 1, so a scalar inside 31 lists/maps is at
 * level 32 (accepted) and one inside 32 is at level 33 (refused): the boundary measured against real
 * DynamoDB by the dynoxide emulator's conformance tests (tests/nesting_depth.rs: "accepts 31
 * map-wraps, rejects 32").
 *
 * A JS string can hold a lone UTF-16 surrogate, which has no UTF-8 form. The SDK sends it as the
 * JSON escape `\ud800` (JSON.stringify is well-formed), so the request itself is valid JSON; what a
 * server makes of it is not documented. The documented rule is "strings are UTF-8", so it is refused
 * here (tests/integration/hostile-items.dynamodb.test.ts records what DynamoDB Local does).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { Item } from "./item.ts";
import { canonicalNumber, isShortPlainDecimal, leadingExponent, readNumber, significantDigits } from "./number-text.ts";

/** Partition key value, bytes of UTF-8 ("Constraints": 1 to 2048). */
export const PARTITION_KEY_MAX_BYTES = 2048;
/** Sort key value, bytes of UTF-8 ("Constraints": 1 to 1024). */
export const SORT_KEY_MAX_BYTES = 1024;
/** Whole item: names and values by the size rules above ("Constraints": 400 KB, 1 KB = 1024 bytes). */
export const ITEM_MAX_BYTES = 400 * 1024;
/** Significant digits of a Number. */
export const NUMBER_MAX_DIGITS = 38;
/** Decimal exponent of a Number's first significant digit: 1E-130 .. 9.99…E+125. */
export const NUMBER_MIN_EXPONENT = -130;
export const NUMBER_MAX_EXPONENT = 125;
/** Levels of nesting, the top-level attribute being level 1. */
export const NESTING_MAX_LEVELS = 32;
/** Attribute names are "less than 64 KB". */
export const ATTRIBUTE_NAME_MAX_BYTES = 64 * 1024 - 1;

/** Key attributes of the capture table (`CAPTURE_TABLE_SCHEMA`, table.ts): both strings. */
const PARTITION_KEY = "pk";
const SORT_KEY = "sk";

/** How many characters of a key a message quotes. */
const KEY_PREVIEW_CHARS = 80;

/**
 * Why DynamoDB would refuse `item`, in words for a user (the limit, the actual size, the item's key),
 * or undefined when the item is within every limit above. Never throws.
 *
 * Cost: about 0.4 µs for a real order item (encodeItem: about the same). Sizes are first summed as an upper bound (3 bytes per
 * UTF-16 unit, the most UTF-8 needs) after the native `isWellFormed` check; only an item whose bound
 * passes 400 KB (or a key whose bound passes its limit) is measured byte by byte.
 */
export function itemProblem(item: Item): string | undefined {
  const keyProblem = keyAttributeProblem(item, PARTITION_KEY, "partition key", PARTITION_KEY_MAX_BYTES) ?? keyAttributeProblem(item, SORT_KEY, "sort key", SORT_KEY_MAX_BYTES);
  if (keyProblem !== undefined) return keyProblem;
  exactSizes = false;
  const bound = sizeOrProblem(item);
  if (typeof bound === "string") return bound;
  if (bound <= ITEM_MAX_BYTES) return undefined;
  exactSizes = true;
  const size = sizeOrProblem(item) as number;
  exactSizes = false;
  if (size <= ITEM_MAX_BYTES) return undefined;
  return `item is ${count(size)} bytes by DynamoDB's size rules (largest attribute ${quoteName(largestName)}: ${count(largestSize)} bytes); DynamoDB allows at most ${count(ITEM_MAX_BYTES)} (400 KB) (${keyText(item)})`;
}

/**
 * Size of `item` by DynamoDB's rules (see the file header), or -1 when a value is not one DynamoDB
 * takes ({@link itemProblem} says why). For tests and for messages.
 */
export function itemSizeBytes(item: Item): number {
  exactSizes = true;
  const size = sizeOrProblem(item);
  exactSizes = false;
  return typeof size === "number" ? size : -1;
}

/** True: string sizes are exact UTF-8 lengths; false: upper bounds (3 bytes per UTF-16 unit). */
let exactSizes = false;
/** The largest attribute of the last item {@link sizeOrProblem} measured, with its size (name included). */
let largestName = "";
let largestSize = -1;

/** The item's size (exact or bound, per {@link exactSizes}), or the problem of its first bad attribute. */
function sizeOrProblem(item: Item): number | string {
  let size = 0;
  largestName = "";
  largestSize = -1;
  for (const name of Object.keys(item)) {
    const nameBytes = textBytes(name);
    if (name === "" || nameBytes < 0 || (name.length * 3 > ATTRIBUTE_NAME_MAX_BYTES && utf8Length(name) > ATTRIBUTE_NAME_MAX_BYTES)) {
      const why = name === "" ? "is empty" : nameBytes < 0 ? "holds a lone UTF-16 surrogate, which has no UTF-8 form" : `is ${count(utf8Length(name))} bytes; DynamoDB allows under 64 KB`;
      return `an attribute name ${why} (${keyText(item)})`;
    }
    const valueSize = attributeSize(item[name], 1);
    if (valueSize < 0) return `attribute ${quoteName(name)} ${problem} (${keyText(item)})`;
    const attributeBytes = nameBytes + valueSize;
    size += attributeBytes;
    if (attributeBytes > largestSize) {
      largestSize = attributeBytes;
      largestName = name;
    }
  }
  return size;
}

function keyAttributeProblem(item: Item, name: string, what: string, maxBytes: number): string | undefined {
  const value = item[name];
  if (value === undefined) return `the item has no ${what} ${name} (attributes: ${Object.keys(item).slice(0, 20).join(", ")})`;
  const text = value.S;
  if (typeof text !== "string") return `${what} ${name} is not a String (S) attribute, as the table's key schema requires (${keyText(item)})`;
  if (text === "") return `${what} ${name} is empty; DynamoDB refuses an empty key value (${keyText(item)})`;
  if (!text.isWellFormed()) return `${what} ${name} holds a lone UTF-16 surrogate at character ${loneSurrogateAt(text)}, which has no UTF-8 form; DynamoDB strings are UTF-8 (${keyText(item)})`;
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = utf8Length(text);
  if (bytes > maxBytes) return `${what} ${name} is ${count(bytes)} bytes of UTF-8; DynamoDB allows at most ${count(maxBytes)} (${keyText(item)})`;
  return undefined;
}

/** What {@link attributeSize} found wrong when it returned -1 (a module variable: no allocation on the good path). */
let problem = "";

/** Size of one value by DynamoDB's rules (without its name), or -1 with {@link problem} set. `level` 1 = a top-level attribute. */
function attributeSize(av: AttributeValue | undefined, level: number): number {
  if (level > NESTING_MAX_LEVELS) {
    problem = `nests deeper than ${NESTING_MAX_LEVELS} levels of lists/maps; DynamoDB allows at most ${NESTING_MAX_LEVELS}`;
    return -1;
  }
  if (av === null || typeof av !== "object") return fail("is not an attribute value");
  // Probing each type name is cheaper than enumerating the value's members (measured); the codec
  // writes S, N and BOOL, so those come first.
  let types = 0;
  let size = -1;
  if (av.S !== undefined) {
    types++;
    size = stringSize(av.S);
  }
  if (av.N !== undefined) {
    types++;
    size = numberSize(av.N);
  }
  if (av.BOOL !== undefined) {
    types++;
    size = typeof av.BOOL === "boolean" ? 1 : fail("has a BOOL that is not true or false");
  }
  if (av.NULL !== undefined) {
    types++;
    size = av.NULL === true ? 1 : fail("has NULL other than true; DynamoDB requires NULL: true");
  }
  if (av.B !== undefined) {
    types++;
    size = av.B instanceof Uint8Array ? av.B.byteLength : fail("has a B value that is not bytes");
  }
  if (av.L !== undefined) {
    types++;
    size = listSize(av.L, level);
  }
  if (av.M !== undefined) {
    types++;
    size = mapSize(av.M, level);
  }
  if (av.SS !== undefined) {
    types++;
    size = setSize(av.SS, "SS", stringSize);
  }
  if (av.NS !== undefined) {
    types++;
    size = setSize(av.NS, "NS", numberSize);
  }
  if (av.BS !== undefined) {
    types++;
    size = setSize(av.BS, "BS", (b) => (b instanceof Uint8Array ? b.byteLength : fail("has a BS element that is not bytes")));
  }
  if (types !== 1) return fail(types === 0 ? "has no value type (S, N, BOOL, ...)" : "has more than one value type");
  return size;
}

function fail(why: string): number {
  problem = why;
  return -1;
}

function stringSize(s: unknown): number {
  if (typeof s !== "string") return fail("has an S value that is not a string");
  const bytes = textBytes(s);
  if (bytes < 0) return fail(`holds a lone UTF-16 surrogate at character ${-bytes - 1} (${escapeChar(s.charCodeAt(-bytes - 1))}), which has no UTF-8 form; DynamoDB strings are UTF-8`);
  return bytes;
}

function listSize(list: unknown, level: number): number {
  if (!Array.isArray(list)) return fail("has an L value that is not an array");
  let size = 3;
  for (const element of list as AttributeValue[]) {
    const s = attributeSize(element, level + 1);
    if (s < 0) return -1;
    size += s + 1;
  }
  return size;
}

function mapSize(map: unknown, level: number): number {
  if (map === null || typeof map !== "object") return fail("has an M value that is not an object");
  let size = 3;
  for (const [key, element] of Object.entries(map as Record<string, AttributeValue>)) {
    const keyBytes = textBytes(key);
    if (keyBytes < 0) return fail("has a map key with a lone UTF-16 surrogate, which has no UTF-8 form");
    const s = attributeSize(element, level + 1);
    if (s < 0) return -1;
    size += keyBytes + s + 1;
  }
  return size;
}

function setSize<T>(set: unknown, type: string, elementSize: (x: T) => number): number {
  if (!Array.isArray(set)) return fail(`has an ${type} value that is not an array`);
  if (set.length === 0) return fail(`has an empty ${type}; DynamoDB refuses empty sets`);
  let size = 0;
  const seen = new Set<unknown>();
  for (const element of set as T[]) {
    const s = elementSize(element);
    if (s < 0) return -1;
    const identity = element instanceof Uint8Array ? Array.from(element).join(",") : type === "NS" ? canonicalNumber(element as string) : element;
    if (seen.has(identity)) return fail(`has an ${type} with a duplicate element; DynamoDB refuses duplicates in a set`);
    seen.add(identity);
    size += s;
  }
  return size;
}

function numberSize(text: unknown): number {
  // Fast path: valid for sure; its size bound (1 byte per two characters + 1) is enough unless exact.
  if (!exactSizes && typeof text === "string" && isShortPlainDecimal(text)) return (text.length >> 1) + 2;
  if (typeof text !== "string" || !readNumber(text)) return fail(`has N ${quoteValue(text)}, which is not a number`);
  if (significantDigits === 0) return 1;
  if (significantDigits > NUMBER_MAX_DIGITS) return fail(`has N ${quoteValue(text)} with ${significantDigits} significant digits; DynamoDB keeps at most ${NUMBER_MAX_DIGITS}`);
  if (leadingExponent < NUMBER_MIN_EXPONENT || leadingExponent > NUMBER_MAX_EXPONENT) {
    return fail(`has N ${quoteValue(text)}, outside DynamoDB's range (magnitude 1E-130 to 9.99…E+125)`);
  }
  return Math.ceil(significantDigits / 2) + 1;
}

/**
 * UTF-8 bytes of `s` when {@link exactSizes}, else an upper bound (3 per UTF-16 unit); `-(i + 1)`
 * when character `i` is a lone surrogate. `isWellFormed` is native (and O(1) on Latin-1 strings).
 */
function textBytes(s: string): number {
  if (!s.isWellFormed()) return -(loneSurrogateAt(s) + 1);
  return exactSizes ? utf8Length(s) : s.length * 3;
}

/** Index of the first lone surrogate of `s` (-1 if none). */
function loneSurrogateAt(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    else return i;
  }
  return -1;
}

/** UTF-8 length of a well-formed string. */
function utf8Length(s: string): number {
  let bytes = s.length;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    // 2 bytes below U+0800, 3 for the rest of the BMP; a surrogate pair is 2 units for 4 bytes.
    bytes += c < 0x800 ? 1 : c >= 0xd800 && c <= 0xdfff ? 1 : 2;
  }
  return bytes;
}

/** `pk="…" sk="…"`, each cut to 80 characters and JSON-escaped (a NUL or a lone surrogate shows as an escape). */
function keyText(item: Item): string {
  return `key pk=${preview(item[PARTITION_KEY]?.S)} sk=${preview(item[SORT_KEY]?.S)}`;
}

function preview(text: string | undefined): string {
  if (text === undefined) return "(none)";
  return text.length > KEY_PREVIEW_CHARS ? `${JSON.stringify(text.slice(0, KEY_PREVIEW_CHARS))}… (${count(text.length)} characters)` : JSON.stringify(text);
}

function quoteName(name: string): string {
  return preview(name);
}

function quoteValue(value: unknown): string {
  return typeof value === "string" ? preview(value) : String(value);
}

function escapeChar(code: number): string {
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/** 409600 -> "409,600". */
function count(n: number): string {
  return n.toLocaleString("en-US");
}
