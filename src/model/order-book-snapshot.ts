/**
 * Order book snapshots: obcap's own record of one REST `GET /api/v2/order_book/<pair>/?group=2` body
 * (bitstamp-protocol.md §3), taken after every subscription of `live_orders_<pair>` and every
 * `--snapshot-every`. Like gap records (gap-record.ts) they travel as obcap's own journal line form
 * (`{"rx":µs,"obcap":<record>}`, journal-line.ts), which no frame from the network can take:
 *
 *   {"event":"obcap:snapshot","pair":"btcusd","data":{"requested_us":"1788551766100000","received_us":"1788551766420000","body":{"timestamp": "1788551766", ...}}}
 *
 * The body is kept byte for byte, in one of three forms (the last member, so it is found by a slice):
 * - `"body":<body>` when the body is valid UTF-8, holds no CR or LF, and is valid JSON: embedded as it
 *   came (Bitstamp's `", "` spacing included), so `jq .obcap.data.body` reads it;
 * - `"body_text":"<body as a JSON string>"` for any other UTF-8 body (a line break, not JSON): a raw
 *   embedding would break the line or let the body's text close obcap's record early;
 * - `"body_b64":"<bytes, base64>"` for a body that is not UTF-8 (no JSON string holds it without loss),
 *   or whose `body_text` form would pass {@link MAX_SNAPSHOT_RECORD_BYTES} (a body of control characters).
 * The form is a function of the body's bytes alone, so the record can be rebuilt from them
 * ({@link buildSnapshotRecord}) byte for byte: export does exactly that (store/dynamodb/snapshot-item.ts).
 *
 * Times are integer µs since the epoch as decimal strings, like Bitstamp's `microtimestamp`:
 * `requested_us` just before the request went out, `received_us` once the whole body was read (the
 * capture's clock). The body's own `microtimestamp` marks the book's last change, not either of them.
 *
 * {@link readSnapshotRecord} checks a record and its body (the pipeline Worker does, never the receive
 * thread): the record must be in the form above exactly, the body a group=2 book with every value a
 * string (`timestamp`, `microtimestamp` integers; rows `[decimal, decimal, integer]`). Anything else is
 * refused with a code and a message, for the caller to quarantine and count.
 */
import * as v from "valibot";
import { PAIR_PATTERN } from "./channels.ts";
import { DecimalStringSchema, IntegerStringSchema } from "./schemas.ts";

/** `event` of a snapshot record (obcap's reserved `obcap:` prefix: no exchange frame may use it). */
export const SNAPSHOT_EVENT = "obcap:snapshot";

/**
 * Largest body obcap fetches (the fetcher stops reading beyond it). A full btcusd group=2 book is a few
 * MiB (about 50 bytes per resting order); 64 MiB leaves room for a book ten times deeper.
 */
export const MAX_SNAPSHOT_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Largest snapshot record, in UTF-8 bytes. A JSON body of at most {@link MAX_SNAPSHOT_BODY_BYTES} makes a
 * record of at most twice that in `body_text` form (valid JSON escapes at most one character per
 * character: `"` and `\` and line breaks), base64 makes 4/3: both fit. The journal's readers allow
 * obcap's own lines this long (pipeline/journal-source.ts, replay/line-splitter.ts).
 */
export const MAX_SNAPSHOT_RECORD_BYTES = 128 * 1024 * 1024 + 1024;

/** Most digits the body's `microtimestamp` may have: it starts the items' sort keys (16 digits, µs until 2286). */
export const SNAPSHOT_MICROS_DIGITS = 16;

/** How the body is held in the record (file comment). */
export type SnapshotBodyForm = "json" | "text" | "b64";

/** The key of each form. */
export const SNAPSHOT_BODY_KEYS: Readonly<Record<SnapshotBodyForm, string>> = { json: "body", text: "body_text", b64: "body_b64" };

/** What the fetcher hands over: the body as it came, and when. */
export interface SnapshotFetch {
  /** Bitstamp url_symbol ({@link PAIR_PATTERN}). */
  pair: string;
  /** Just before the request went out (µs, the capture's clock). */
  requestedMicros: number;
  /** Once the whole body was read (µs). */
  receivedMicros: number;
  /** The response body, byte for byte. */
  body: Uint8Array;
}

export interface BuiltSnapshotRecord {
  /** The record text (compact, one line). */
  record: string;
  form: SnapshotBodyForm;
  /** When the body parses as an object with `bids` and `asks` arrays: their lengths (for the log). */
  bids?: number;
  asks?: number;
}

const MICROS_TEXT = /^\d{1,16}$/;
const MICROS_MESSAGE = "must be 1 to 16 digits (µs since the epoch)";

/** The metadata of a snapshot record (everything but the body). Strict: obcap writes these itself. */
export const SnapshotRecordHeadSchema = v.object({
  event: v.literal(SNAPSHOT_EVENT),
  pair: v.pipe(v.string(), v.regex(PAIR_PATTERN, "pair must be a Bitstamp url_symbol (btcusd)")),
  data: v.pipe(
    v.object({
      requested_us: v.pipe(v.string(), v.regex(MICROS_TEXT, `requested_us ${MICROS_MESSAGE}`)),
      received_us: v.pipe(v.string(), v.regex(MICROS_TEXT, `received_us ${MICROS_MESSAGE}`)),
    }),
    // 16 digits stay below 2^53: Number() compares them exactly.
    v.check((d) => Number(d.received_us) >= Number(d.requested_us), "received_us must not be before requested_us"),
  ),
});

/** One resting order of a group=2 book: `[price, amount, order_id]`, all strings (later items kept). */
export const SnapshotRowSchema = v.looseTuple([DecimalStringSchema, DecimalStringSchema, IntegerStringSchema]);

/**
 * A REST group=2 body (bitstamp-protocol.md §3). `looseObject`: a field Bitstamp adds later passes.
 * Numbers are refused where Bitstamp sends strings: a float price would already have lost digits.
 */
export const OrderBookBodySchema = v.looseObject({
  timestamp: IntegerStringSchema,
  microtimestamp: v.pipe(IntegerStringSchema, v.maxLength(SNAPSHOT_MICROS_DIGITS, `microtimestamp has more than ${SNAPSHOT_MICROS_DIGITS} digits; keys hold at most ${SNAPSHOT_MICROS_DIGITS} (µs until the year 2286)`)),
  bids: v.array(SnapshotRowSchema),
  asks: v.array(SnapshotRowSchema),
});

/** A snapshot record that passed {@link readSnapshotRecord}: what becomes the snapshot's items. */
export interface OrderBookSnapshotRecord {
  pair: string;
  requestedMicros: number;
  receivedMicros: number;
  /** The journal line's receive time (µs): the record's place in the journal. */
  rxMicros: number;
  /** The body, exactly as fetched (valid UTF-8, a valid group=2 book). */
  bodyText: string;
  /** The body's `timestamp` and `microtimestamp` (the book's last change), as sent. */
  timestamp: string;
  microtimestamp: string;
  /** Resting orders on each side. */
  bids: number;
  asks: number;
  /** The body as checked against {@link OrderBookBodySchema}: readers take it from here instead of parsing the MiBs again. */
  book: OrderBookBody;
}

/** A checked group=2 body. */
export type OrderBookBody = v.InferOutput<typeof OrderBookBodySchema>;

export type SnapshotReadResult =
  | { ok: true; snapshot: OrderBookSnapshotRecord }
  | { ok: false; code: "E_FRAME_UTF8" | "E_FRAME_JSON" | "E_FRAME_INVALID"; reason: string };

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();
const PREVIEW_CHARS = 200;

/** The record text up to the body's value: fixed key order, nothing to escape (checked values). */
export function snapshotRecordHead(pair: string, requestedMicros: number, receivedMicros: number, form: SnapshotBodyForm): string {
  return `{"event":"${SNAPSHOT_EVENT}","pair":"${pair}","data":{"requested_us":"${requestedMicros}","received_us":"${receivedMicros}","${SNAPSHOT_BODY_KEYS[form]}":`;
}

/**
 * The record of one fetched body (see the file comment for the forms). Runs in the pipeline Worker:
 * it parses the body once to choose the form. Throws RangeError for a pair that is not a url_symbol
 * or times that are not whole µs (the capture's own values: a bug, not input).
 */
export function buildSnapshotRecord(fetch: SnapshotFetch): BuiltSnapshotRecord {
  const { pair, body } = fetch;
  if (!PAIR_PATTERN.test(pair)) throw new RangeError(`snapshot pair ${JSON.stringify(pair)} is not a Bitstamp url_symbol`);
  const requested = Math.trunc(fetch.requestedMicros);
  const received = Math.max(requested, Math.trunc(fetch.receivedMicros));
  if (!(requested >= 0) || String(received).length > SNAPSHOT_MICROS_DIGITS) throw new RangeError(`snapshot times ${fetch.requestedMicros}/${fetch.receivedMicros} are not µs since the epoch`);
  let text: string | undefined;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    const json = oneLineJson(text);
    if (json !== undefined) {
      return { record: `${snapshotRecordHead(pair, requested, received, "json")}${text}}}`, form: "json", ...sidesOf(json) };
    }
    const record = `${snapshotRecordHead(pair, requested, received, "text")}${JSON.stringify(text)}}}`;
    if (record.length <= MAX_SNAPSHOT_RECORD_BYTES / 3 || ENCODER.encode(record).length <= MAX_SNAPSHOT_RECORD_BYTES) return { record, form: "text" };
  }
  return { record: `${snapshotRecordHead(pair, requested, received, "b64")}"${bytesToBase64(body)}"}}`, form: "b64" };
}

/** The value of `text` when it is valid JSON on one line (no CR, no LF), else undefined. */
function oneLineJson(text: string): { value: unknown } | undefined {
  if (text.includes("\n") || text.includes("\r")) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function sidesOf(json: { value: unknown }): { bids?: number; asks?: number } {
  const book = json.value as { bids?: unknown; asks?: unknown } | null;
  if (book === null || typeof book !== "object" || !Array.isArray(book.bids) || !Array.isArray(book.asks)) return {};
  return { bids: book.bids.length, asks: book.asks.length };
}

/** `{"event":"obcap:snapshot",...` up to the body's value: the only form obcap writes. */
const HEAD_RE = /^\{"event":"obcap:snapshot","pair":"([^"\\]{0,64})","data":\{"requested_us":"([^"\\]{0,32})","received_us":"([^"\\]{0,32})","(body|body_text|body_b64)":/;
const FORM_OF_KEY: Readonly<Record<string, SnapshotBodyForm>> = { body: "json", body_text: "text", body_b64: "b64" };

/** True when `record` (an own record's text) is a snapshot record, by its first bytes. */
export function isSnapshotRecord(record: string): boolean {
  return record.startsWith(`{"event":"${SNAPSHOT_EVENT}",`);
}

/**
 * Checks one snapshot record (the text of an `obcap` journal line) and its body; never throws.
 * `rxMicros` is the journal line's receive time. Refusals: E_FRAME_INVALID (not obcap's form, a body
 * that is not a group=2 book), E_FRAME_JSON (a body that is not JSON), E_FRAME_UTF8 (not UTF-8).
 */
export function readSnapshotRecord(text: string, rxMicros: number): SnapshotReadResult {
  const head = HEAD_RE.exec(text);
  if (head === null || !text.endsWith("}}")) {
    return refuse("E_FRAME_INVALID", `${SNAPSHOT_EVENT} record is not in the form obcap writes ({"event","pair","data":{"requested_us","received_us","body"|"body_text"|"body_b64"}}); record: ${quote(text)}`);
  }
  const [, pair, requestedUs, receivedUs, key] = head as unknown as [string, string, string, string, string];
  const checked = v.safeParse(SnapshotRecordHeadSchema, { event: SNAPSHOT_EVENT, pair, data: { requested_us: requestedUs, received_us: receivedUs } });
  if (!checked.success) return refuse("E_FRAME_INVALID", `Invalid ${SNAPSHOT_EVENT} record:\n${v.summarize(checked.issues)}\nrecord: ${quote(text)}`);
  const requestedMicros = Number(requestedUs);
  const receivedMicros = Number(receivedUs);
  const form = FORM_OF_KEY[key]!;
  const where = `order book snapshot of ${pair} received at ${isoOfMicros(receivedMicros)}`;
  const value = text.slice(head[0].length, -2);
  let bodyText: string;
  if (form === "b64") {
    const bytes = base64Bytes(value);
    if (bytes === undefined) return refuse("E_FRAME_INVALID", `${where}: body_b64 is not a base64 JSON string`);
    try {
      bodyText = STRICT_UTF8.decode(bytes);
    } catch {
      return refuse("E_FRAME_UTF8", `${where}: the body (${bytes.length} bytes) is not UTF-8 text; the record keeps its bytes`);
    }
    // A UTF-8 body in base64: only a body_text form too long for the journal is written so; not a book.
    return refuse("E_FRAME_JSON", `${where}: the body is not JSON (${bytes.length} bytes, kept in base64); body: ${quote(bodyText)}`);
  }
  if (form === "text") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "string") return refuse("E_FRAME_INVALID", `${where}: body_text is not a JSON string; record: ${quote(text)}`);
    bodyText = parsed;
  } else {
    bodyText = value;
  }
  let book: unknown;
  try {
    book = JSON.parse(bodyText);
  } catch (err) {
    return refuse(form === "json" ? "E_FRAME_INVALID" : "E_FRAME_JSON", `${where}: the body is not JSON (${err instanceof Error ? err.message : String(err)}); body: ${quote(bodyText)}`);
  }
  // The form follows from the body: a record that says otherwise was not written by obcap, and export
  // (which rebuilds the record from the body) could not give it back byte for byte.
  if (form === "text" && oneLineJson(bodyText) !== undefined) {
    return refuse("E_FRAME_INVALID", `${where}: body_text holds one line of JSON, which obcap writes as "body": not a record obcap wrote; record: ${quote(text)}`);
  }
  const result = v.safeParse(OrderBookBodySchema, book);
  if (!result.success) {
    return refuse("E_FRAME_INVALID", `${where}: not a group=2 order book (every value a string: timestamp, microtimestamp, rows [price, amount, order_id]):\n${v.summarize(result.issues)}\nbody: ${quote(bodyText)}`);
  }
  const { timestamp, microtimestamp, bids, asks } = result.output;
  return {
    ok: true,
    snapshot: { pair, requestedMicros, receivedMicros, rxMicros, bodyText, timestamp, microtimestamp, bids: bids.length, asks: asks.length, book: result.output },
  };
}

function refuse(code: "E_FRAME_UTF8" | "E_FRAME_JSON" | "E_FRAME_INVALID", reason: string): SnapshotReadResult {
  return { ok: false, code, reason };
}

function quote(text: string): string {
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}… (${text.length} characters)` : text;
}

function isoOfMicros(micros: number): string {
  const date = new Date(Math.floor(micros / 1000));
  return Number.isNaN(date.getTime()) ? `${micros} µs` : date.toISOString();
}

/** The bytes of `"<base64>"` (a JSON string of RFC 4648 base64, padded), or undefined. */
function base64Bytes(jsonString: string): Uint8Array | undefined {
  const m = /^"([A-Za-z0-9+/]*={0,2})"$/.exec(jsonString);
  if (m === null || m[1]!.length % 4 !== 0) return undefined;
  const binary = atob(m[1]!);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
