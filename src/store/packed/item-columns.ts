/**
 * The packed layout's body: many event items (the same flat items the event layout writes, one per
 * event) as columns, one per attribute name, so values that repeat or move little sit next to each
 * other. Measured on generated 2026 order frames (.inv, December 2026): the frames themselves deflated
 * cost 41-57 bytes an event (windows of 500 and 20 events); columns of the frames' values 23-40; these
 * item columns with the encodings below less (BENCHMARKS.md "Packed storage").
 *
 * Each column takes the smallest of four encodings of its values' text, chosen per body (so the
 * choice is a function of the items, and the body of the same items is the same bytes):
 * - TEXT: a common prefix once (pk "btcusd#orders#2026090419#", event ids "00065aad-a8fa-"), then each
 *   row's rest;
 * - DELTA: canonical integers (ids, microtimestamps, receive times) as zigzag varints of the change
 *   from the row before;
 * - SAME_ROW: most rows equal another column's value in the same row (`is` = `id`, `a` = `an`); the
 *   others are written out;
 * - PREV_ROW: most rows equal another column's value in the row before (`pe` = the `ei` before it, the
 *   exchange's chain of event ids).
 * Every row also has a type (absent, S, N, true, false, NULL), so any flat item of scalars comes back
 * exactly: attribute names and texts are bytes, never parsed as numbers. Decoding checks every length
 * and index, and a body it cannot read throws a RangeError (the caller names the item).
 *
 * Pure and synchronous; `deflate-raw` of the body is the caller's (packed-item.ts).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { Item } from "../dynamodb/item.ts";

/** Body format version (first byte). */
export const COLUMNS_VERSION = 1;

const enum RowType {
  Absent = 0,
  S = 1,
  N = 2,
  True = 3,
  False = 4,
  Null = 5,
}

const enum Encoding {
  Text = 0,
  Delta = 1,
  SameRow = 2,
  PrevRow = 3,
}

const UTF8 = new TextEncoder();
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: true });
const CANONICAL_INTEGER = /^(?:0|[1-9][0-9]{0,37})$/;

/** Growable byte buffer with varints. */
class Bytes {
  private buf = new Uint8Array(1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  varint(n: number): void {
    for (;;) {
      if (n < 0x80) return this.byte(n);
      this.byte((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
  }

  /** Zigzag varint of any integer (BigInt: ids and times of 16+ digits). */
  bigVarint(n: bigint): void {
    let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
    for (;;) {
      if (z < 0x80n) return this.byte(Number(z));
      this.byte(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  text(s: string): void {
    const bytes = UTF8.encode(s);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

function utf8(bytes: Uint8Array): string {
  // Short ASCII texts (ids, prices, keys: nearly every value) without the decoder's call cost.
  if (bytes.length <= 64) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) ascii = false;
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return UTF8_DECODER.decode(bytes);
  } catch {
    throw new RangeError("packed body has a text that is not UTF-8");
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}

  get atEnd(): boolean {
    return this.at === this.buf.length;
  }

  byte(): number {
    if (this.at >= this.buf.length) throw new RangeError(`packed body ends early at byte ${this.at}`);
    return this.buf[this.at++]!;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new RangeError(`packed body has a varint of more than 8 bytes at byte ${this.at}`);
  }

  /** A zigzag varint as a Number when it has at most 7 bytes (49 bits: exact), else undefined and nothing read. */
  smallZigzag(): number | undefined {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 7 && this.at + i < this.buf.length; i++) {
      const b = this.buf[this.at + i]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.at += i + 1;
        return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
      }
      scale *= 128;
    }
    return undefined;
  }

  bigVarint(): bigint {
    let z = 0n;
    let shift = 0n;
    for (let i = 0; i < 20; i++) {
      const b = this.byte();
      z |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
      shift += 7n;
    }
    throw new RangeError(`packed body has an integer of more than 20 bytes at byte ${this.at}`);
  }

  rawBytes(length: number): Uint8Array {
    if (this.at + length > this.buf.length) throw new RangeError(`packed body has a text of ${length} bytes past its end at byte ${this.at}`);
    const bytes = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return bytes;
  }

  text(): string {
    const length = this.varint();
    if (this.at + length > this.buf.length) throw new RangeError(`packed body has a text of ${length} bytes past its end at byte ${this.at}`);
    const s = utf8(this.buf.subarray(this.at, this.at + length));
    this.at += length;
    return s;
  }
}

/** One column's values: a type per row and the text of S and N rows. */
interface Column {
  name: string;
  types: Uint8Array;
  texts: (string | undefined)[];
}

function rowTypeOf(av: AttributeValue, name: string): { type: RowType; text?: string } {
  if (av.S !== undefined) {
    // UTF-8 has no form for a lone surrogate (item-limits.ts refuses such items before they are written).
    if (!av.S.isWellFormed()) throw new RangeError(`attribute ${JSON.stringify(name)} holds a lone UTF-16 surrogate: it has no UTF-8 form`);
    return { type: RowType.S, text: av.S };
  }
  if (av.N !== undefined) return { type: RowType.N, text: av.N };
  if (av.BOOL !== undefined) return { type: av.BOOL ? RowType.True : RowType.False };
  if (av.NULL !== undefined) return { type: RowType.Null };
  throw new RangeError(`attribute ${JSON.stringify(name)} is not a scalar (S, N, BOOL or NULL): packed items hold flat event items only`);
}

/**
 * Key attributes are `#`-joined parts (keys.ts: pair, stream, hour, shard; microtimestamp, event id):
 * each part gets a column of its own, named PART_MARK + attribute + part index, so a part can repeat
 * another column (the sort key's microtimestamp is `mt`). No item attribute name starts with the mark.
 */
const SPLIT_ATTRIBUTES = new Set(["pk", "sk"]);
const PART_MARK = "\u0000";

function columnsOf(items: readonly Item[]): Column[] {
  const byName = new Map<string, Column>();
  const columns: Column[] = [];
  const put = (name: string, row: number, type: RowType, text: string | undefined): void => {
    let column = byName.get(name);
    if (column === undefined) {
      column = { name, types: new Uint8Array(items.length), texts: new Array<string | undefined>(items.length) };
      byName.set(name, column);
      columns.push(column);
    }
    column.types[row] = type;
    column.texts[row] = text;
  };
  items.forEach((item, row) => {
    for (const name of Object.keys(item)) {
      if (name.startsWith(PART_MARK)) throw new RangeError(`attribute name ${JSON.stringify(name)} starts with U+0000: packed items cannot hold it`);
      const { type, text } = rowTypeOf(item[name]!, name);
      if (type === RowType.S && SPLIT_ATTRIBUTES.has(name)) text!.split("#").forEach((part, i) => put(PART_MARK + name + i, row, RowType.S, part));
      else put(name, row, type, text);
    }
  });
  // By name, so the body is a function of the items whatever order their attributes come in.
  return columns.sort((a, b) => compareText(columnOrder(a.name), columnOrder(b.name)));
}

function columnOrder(name: string): string {
  const part = partOf(name);
  return part === undefined ? name : `${PART_MARK}${part.attribute}${PART_MARK}${String(part.index).padStart(4, "0")}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function commonPrefix(texts: readonly (string | undefined)[]): string {
  let prefix: string | undefined;
  for (const t of texts) {
    if (t === undefined) continue;
    if (prefix === undefined) {
      prefix = t;
      continue;
    }
    let i = 0;
    const n = Math.min(prefix.length, t.length);
    while (i < n && prefix.charCodeAt(i) === t.charCodeAt(i)) i++;
    prefix = prefix.slice(0, i);
    if (prefix === "") break;
  }
  prefix ??= "";
  // Never end inside a surrogate pair: each part must be well-formed text of its own.
  const last = prefix.charCodeAt(prefix.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? prefix.slice(0, -1) : prefix;
}

/** Bytes of one column's values under each encoding that applies; the smallest is kept. */
function encodeColumn(column: Column, index: number, columns: readonly Column[]): Uint8Array {
  const candidates: Uint8Array[] = [textEncoding(column)];
  const delta = deltaEncoding(column);
  if (delta) candidates.push(delta);
  for (const prev of [false, true]) {
    const ref = bestReference(column, index, columns, prev);
    if (ref !== undefined) candidates.push(referenceEncoding(column, ref, columns[ref]!, prev));
  }
  let best = candidates[0]!;
  for (const c of candidates) if (c.length < best.length) best = c;
  return best;
}

function textEncoding(column: Column): Uint8Array {
  const out = new Bytes();
  out.byte(Encoding.Text);
  const prefix = commonPrefix(column.texts);
  out.text(prefix);
  for (const t of column.texts) if (t !== undefined) out.text(t.slice(prefix.length));
  return out.done();
}

function deltaEncoding(column: Column): Uint8Array | undefined {
  for (const t of column.texts) if (t !== undefined && !CANONICAL_INTEGER.test(t)) return undefined;
  const out = new Bytes();
  out.byte(Encoding.Delta);
  let before = 0n;
  for (const t of column.texts) {
    if (t === undefined) continue;
    const value = BigInt(t);
    out.bigVarint(value - before);
    before = value;
  }
  return out.done();
}

/** The earlier column whose value (same row, or the row before) most rows repeat; only if more than half do. */
function bestReference(column: Column, index: number, columns: readonly Column[], prev: boolean): number | undefined {
  let best: number | undefined;
  let bestCount = 0;
  let present = 0;
  for (const t of column.texts) if (t !== undefined) present++;
  if (present === 0) return undefined;
  // The row before may be an earlier column or this one (a chain); the same row only an earlier one.
  const last = prev ? index : index - 1;
  for (let r = 0; r <= last; r++) {
    const other = columns[r]!.texts;
    let count = 0;
    for (let row = 0; row < column.texts.length; row++) {
      const t = column.texts[row];
      if (t !== undefined && t === (prev ? (row > 0 ? other[row - 1] : undefined) : other[row])) count++;
    }
    if (count > bestCount) {
      best = r;
      bestCount = count;
    }
  }
  return bestCount * 2 > present ? best : undefined;
}

function referenceEncoding(column: Column, ref: number, refColumn: Column, prev: boolean): Uint8Array {
  const out = new Bytes();
  out.byte(prev ? Encoding.PrevRow : Encoding.SameRow);
  out.varint(ref);
  for (let row = 0; row < column.texts.length; row++) {
    const t = column.texts[row];
    if (t === undefined) continue;
    const other = prev ? (row > 0 ? refColumn.texts[row - 1] : undefined) : refColumn.texts[row];
    if (t === other) out.varint(0);
    else {
      const bytes = UTF8.encode(t);
      out.varint(bytes.length + 1);
      out.raw(bytes);
    }
  }
  return out.done();
}

/**
 * The body of `items` (flat items of S, N, BOOL and NULL attributes), in their order. The same items
 * in the same order give the same bytes.
 */
export function encodeItemColumns(items: readonly Item[]): Uint8Array {
  const columns = columnsOf(items);
  const out = new Bytes();
  out.byte(COLUMNS_VERSION);
  out.varint(items.length);
  out.varint(columns.length);
  columns.forEach((column, index) => {
    out.text(column.name);
    out.raw(column.types);
    out.raw(encodeColumn(column, index, columns));
  });
  return out.done();
}

/** The items of a body {@link encodeItemColumns} made. Throws RangeError on a body it cannot read. */
export function decodeItemColumns(body: Uint8Array): Item[] {
  const r = new Reader(body);
  const version = r.byte();
  if (version !== COLUMNS_VERSION) throw new RangeError(`packed body version ${version}; this obcap reads ${COLUMNS_VERSION}: upgrade obcap`);
  const rows = r.varint();
  const count = r.varint();
  if (rows > body.length) throw new RangeError(`packed body claims ${rows} rows in ${body.length} bytes`);
  const items: Item[] = Array.from({ length: rows }, () => ({}));
  const texts: (string | undefined)[][] = [];
  const keyParts: Record<string, string[]>[] = [];
  for (let c = 0; c < count; c++) {
    const name = r.text();
    const types = new Uint8Array(rows);
    for (let row = 0; row < rows; row++) {
      const type = r.byte();
      if (type > RowType.Null) throw new RangeError(`packed body: column ${JSON.stringify(name)} row ${row} has type ${type}`);
      types[row] = type;
    }
    const values = decodeColumnTexts(r, types, c, texts, name);
    texts.push(values);
    const part = partOf(name);
    for (let row = 0; row < rows; row++) {
      const type = types[row]!;
      if (type === RowType.Absent) continue;
      const item = items[row]!;
      if (part !== undefined) {
        if (type !== RowType.S) throw new RangeError(`packed body: key part column ${JSON.stringify(name)} row ${row} is not text`);
        const parts = (keyParts[row] ??= {});
        const list = (parts[part.attribute] ??= []);
        if (list.length !== part.index) throw new RangeError(`packed body: key part column ${JSON.stringify(name)} row ${row} is out of order`);
        list.push(values[row]!);
        continue;
      }
      if (Object.hasOwn(item, name)) throw new RangeError(`packed body: column ${JSON.stringify(name)} appears twice`);
      item[name] = type === RowType.S ? { S: values[row]! } : type === RowType.N ? { N: values[row]! } : type === RowType.Null ? { NULL: true } : { BOOL: type === RowType.True };
    }
  }
  if (!r.atEnd) throw new RangeError("packed body has bytes after its last column");
  keyParts.forEach((parts, row) => {
    for (const [attribute, list] of Object.entries(parts)) {
      if (Object.hasOwn(items[row]!, attribute)) throw new RangeError(`packed body: ${attribute} appears twice in row ${row}`);
      items[row]![attribute] = { S: list.join("#") };
    }
  });
  return items;
}

function partOf(name: string): { attribute: string; index: number } | undefined {
  if (!name.startsWith(PART_MARK)) return undefined;
  const match = /^\u0000(pk|sk)(0|[1-9][0-9]{0,3})$/.exec(name);
  if (match === null) throw new RangeError(`packed body: column name ${JSON.stringify(name)} is not a key part`);
  return { attribute: match[1]!, index: Number(match[2]) };
}

function decodeColumnTexts(r: Reader, types: Uint8Array, index: number, earlier: readonly (string | undefined)[][], name: string): (string | undefined)[] {
  const values = new Array<string | undefined>(types.length);
  const hasText = (row: number): boolean => types[row] === RowType.S || types[row] === RowType.N;
  const encoding = r.byte();
  if (encoding === Encoding.Text) {
    const prefix = r.text();
    for (let row = 0; row < types.length; row++) if (hasText(row)) values[row] = prefix + r.text();
  } else if (encoding === Encoding.Delta) {
    // Numbers while the value stays exact (ids and times of 16 digits do), BigInt beyond (19-digit ids).
    let small = 0;
    let big: bigint | undefined;
    for (let row = 0; row < types.length; row++) {
      if (!hasText(row)) continue;
      const step = big === undefined ? r.smallZigzag() : undefined;
      if (step !== undefined && Number.isSafeInteger(small + step)) small += step;
      else {
        big = (big ?? BigInt(small)) + (step === undefined ? r.bigVarint() : BigInt(step));
        if (big >= 0n && big <= MAX_SAFE_BIG) {
          small = Number(big);
          big = undefined;
        }
      }
      const negative = big === undefined ? small < 0 : big < 0n;
      if (negative) throw new RangeError(`packed body: column ${JSON.stringify(name)} row ${row} decodes to a negative integer`);
      values[row] = big === undefined ? String(small) : big.toString();
    }
  } else if (encoding === Encoding.SameRow || encoding === Encoding.PrevRow) {
    const prev = encoding === Encoding.PrevRow;
    const ref = r.varint();
    // The row before may name this very column (a chain); the same row only an earlier one.
    if (prev ? ref > index : ref >= index) throw new RangeError(`packed body: column ${JSON.stringify(name)} refers to column ${ref}`);
    const refTexts = ref === index ? values : earlier[ref]!;
    for (let row = 0; row < types.length; row++) {
      if (!hasText(row)) continue;
      const tag = r.varint();
      if (tag === 0) {
        const other = prev ? (row > 0 ? refTexts[row - 1] : undefined) : refTexts[row];
        if (other === undefined) throw new RangeError(`packed body: column ${JSON.stringify(name)} row ${row} repeats a value that is absent`);
        values[row] = other;
      } else {
        values[row] = utf8(r.rawBytes(tag - 1));
      }
    }
  } else throw new RangeError(`packed body: column ${JSON.stringify(name)} has encoding ${encoding}`);
  return values;
}
