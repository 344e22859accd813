/**
 * The journal line format, shared by capture (writing) and replay (reading):
 *
 *   {"rx":<receive µs>,"m":<frame exactly as received>}
 *   {"rx":<receive µs>,"raw":"<frame as a JSON string>"}   (a frame that cannot be embedded as is)
 *   {"rx":<receive µs>,"b64":"<frame bytes in base64>"}     (a binary frame that is not valid UTF-8)
 *   {"rx":<µs>,"obcap":<obcap's own record>}                (a gap record: model/gap-record.ts, or an
 *                                                            order book snapshot: model/order-book-snapshot.ts)
 *
 * The frame is embedded byte for byte, so reading a line back is a slice, not a JSON parse. A frame is
 * embedded as a JSON string instead when embedding it raw would break the line: it holds a line break
 * (JSON allows raw newlines as whitespace; a malformed frame may hold anything). A frame whose bytes
 * are not UTF-8 fits in no JSON string without loss, so its bytes go in base64 (RFC 4648, padded).
 *
 * Lines that do not start with `{"rx":` are plain recorded frames, one per line (any recorder).
 *
 * Only the `obcap` form carries obcap's own records. A frame from the network is always written in the
 * m/raw/b64 forms, whatever it holds, so it can never be read back as one of obcap's own records.
 */

import { MAX_SNAPSHOT_RECORD_BYTES } from "../model/order-book-snapshot.ts";

/**
 * Longest line of obcap's own record readers accept (`{"rx":…,"obcap":…}`): an order book snapshot
 * record is MiBs (model/order-book-snapshot.ts). Lines of frames keep their own, smaller bounds.
 */
export const MAX_OWN_LINE_BYTES = MAX_SNAPSHOT_RECORD_BYTES + 64;

const JOURNAL_PREFIX = '{"rx":';
const FRAME_KEY = ',"m":';
const OWN_KEY = ',"obcap":';
const CR = 13;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const BLANK: RecordedLine = Object.freeze({ kind: "blank" });

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
const RAW_LINE_RE = /^\{"rx":(\d{1,17}),"raw":/;
const B64_LINE_RE = /^\{"rx":(\d{1,17}),"b64":"([A-Za-z0-9+/]*={0,2})"\}$/;

/** One journal line, with its newline. */
export function journalLine(rxMicros: number, frame: string): string {
  if (frame.includes("\n") || frame.includes("\r")) {
    return `{"rx":${rxMicros},"raw":${JSON.stringify(frame)}}\n`;
  }
  return `{"rx":${rxMicros},"m":${frame}}\n`;
}

/** One journal line of obcap's own record (compact JSON on one line), with its newline. */
export function ownLine(rxMicros: number, record: string): string {
  return `{"rx":${rxMicros},"obcap":${record}}\n`;
}

/**
 * True when `bytes` start like a line of obcap's own record (`{"rx":<digits>,"obcap":`). Readers give
 * these their own, larger length bound (an order book snapshot record is MiBs: model/order-book-snapshot.ts),
 * since no frame from the network is ever written in this form. Looks at the first 32 bytes at most.
 */
export function startsLikeOwnLine(bytes: Uint8Array): boolean {
  const prefix = JOURNAL_PREFIX.length;
  if (bytes.length < prefix + 1 + OWN_KEY.length) return false;
  for (let i = 0; i < prefix; i++) if (bytes[i] !== JOURNAL_PREFIX.charCodeAt(i)) return false;
  let end = prefix;
  while (end < bytes.length && end - prefix < 18 && isDigit(bytes[end]!)) end++;
  const digits = end - prefix;
  if (digits < 1 || digits > 17 || end + OWN_KEY.length > bytes.length) return false;
  for (let i = 0; i < OWN_KEY.length; i++) if (bytes[end + i] !== OWN_KEY.charCodeAt(i)) return false;
  return true;
}

/** One journal line for a frame that is not valid UTF-8, with its newline: the bytes in base64. */
export function journalLineBase64(rxMicros: number, bytes: Uint8Array): string {
  return `{"rx":${rxMicros},"b64":"${bytesToBase64(bytes)}"}\n`;
}

export type RecordedLine =
  /** A journal line: the frame as received and its receive time. */
  | { kind: "journal"; rxMicros: number; frame: string }
  /** A plain recorded frame (no receive time). */
  /** A journal line of a frame that is not valid UTF-8: its exact bytes (decoders report E_FRAME_UTF8). */
  | { kind: "binary"; rxMicros: number; bytes: Uint8Array }
  | { kind: "frame"; frame: string }
  /** obcap's own record (a gap record, an order book snapshot), written by obcap itself. */
  | { kind: "own"; rxMicros: number; record: string }
  | { kind: "blank" }
  /** Looks like a journal line but is not one (truncated, edited): `reason` says what is wrong. */
  | { kind: "broken"; reason: string };

/** Reads one line (without its newline) of a journal or of a plain recording. */
export function parseRecordedLine(line: string): RecordedLine {
  const text = line.charCodeAt(line.length - 1) === CR ? line.slice(0, -1) : line;
  if (text.charCodeAt(0) !== OPEN_BRACE) return text.trim() === "" ? BLANK : { kind: "frame", frame: text };
  if (!text.startsWith(JOURNAL_PREFIX)) return { kind: "frame", frame: text };
  // The common line, `{"rx":<digits>,"m":...}`, read by a scan (every replayed and uploaded line passes here).
  let end = JOURNAL_PREFIX.length;
  while (end < text.length && end - JOURNAL_PREFIX.length < 18 && isDigit(text.charCodeAt(end))) end++;
  const digits = end - JOURNAL_PREFIX.length;
  if (digits >= 1 && digits <= 17 && text.startsWith(FRAME_KEY, end)) {
    if (text.charCodeAt(text.length - 1) !== CLOSE_BRACE) return { kind: "broken", reason: "journal line does not end with '}' (truncated?)" };
    return { kind: "journal", rxMicros: Number(text.slice(JOURNAL_PREFIX.length, end)), frame: text.slice(end + FRAME_KEY.length, -1) };
  }
  if (digits >= 1 && digits <= 17 && text.startsWith(OWN_KEY, end)) {
    if (text.charCodeAt(text.length - 1) !== CLOSE_BRACE) return { kind: "broken", reason: "journal line does not end with '}' (truncated?)" };
    return { kind: "own", rxMicros: Number(text.slice(JOURNAL_PREFIX.length, end)), record: text.slice(end + OWN_KEY.length, -1) };
  }
  const raw = RAW_LINE_RE.exec(text);
  if (raw) {
    try {
      const frame: unknown = JSON.parse(text.slice(raw[0].length, -1));
      if (typeof frame === "string" && text.endsWith("}")) return { kind: "journal", rxMicros: Number(raw[1]), frame };
    } catch {
      // reported below
    }
    return { kind: "broken", reason: 'journal line with "raw" does not hold a JSON string' };
  }
  const b64 = B64_LINE_RE.exec(text);
  if (b64 && b64[2]!.length % 4 === 0) return { kind: "binary", rxMicros: Number(b64[1]), bytes: base64ToBytes(b64[2]!) };
  return { kind: "broken", reason: 'line starts like a journal line but has no "rx" number followed by "m", "raw", "b64" or "obcap"' };
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
