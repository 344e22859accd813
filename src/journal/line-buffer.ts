/**
 * Journal lines built straight from frame bytes (the ring holds UTF-8 bytes), without turning each
 * frame into a string and back. Web standards only.
 *
 * Per frame, one scan decides the form (journal-line.ts has the format):
 * - no byte >= 0x80 and no CR/LF (every Bitstamp frame): `{"rx":…,"m":<bytes>}`, bytes copied as is;
 * - otherwise the frame is checked as UTF-8: valid with a line break -> the "raw" JSON-string form,
 *   valid without -> the "m" form; not UTF-8 -> the "b64" form.
 */
import { journalLine, journalLineBase64, ownLine } from "./journal-line.ts";

/** How a frame was written: embedded, as a JSON string, or in base64. */
export type LineForm = "m" | "raw" | "b64";

const LF = 0x0a;
const CR = 0x0d;
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A growable byte buffer of whole journal lines. */
export class LineBuffer {
  private bytes: Uint8Array;
  private readonly initialBytes: number;
  private used = 0;
  /** Lines in the buffer. */
  lines = 0;
  /** Of `lines`: lines of frames (the rest are obcap's own records). */
  frames = 0;

  constructor(initialBytes = 256 * 1024) {
    this.initialBytes = initialBytes;
    this.bytes = new Uint8Array(initialBytes);
  }

  /** Appends the journal line of one frame; returns its form. */
  appendFrame(frame: Uint8Array, rxMicros: number): LineForm {
    this.frames++;
    if (needsCheck(frame)) {
      let text: string;
      try {
        text = STRICT_UTF8.decode(frame);
      } catch {
        this.appendText(journalLineBase64(rxMicros, frame));
        return "b64";
      }
      if (text.includes("\n") || text.includes("\r")) {
        this.appendText(journalLine(rxMicros, text));
        return "raw";
      }
    }
    // `{"rx":<digits>,"m":` + frame + `}\n`; the head is ASCII, so its length in bytes is known.
    const head = `{"rx":${rxMicros},"m":`;
    this.reserve(head.length + frame.length + 2);
    const out = this.bytes;
    let at = this.used;
    for (let i = 0; i < head.length; i++) out[at++] = head.charCodeAt(i);
    out.set(frame, at);
    at += frame.length;
    out[at++] = 0x7d; // }
    out[at++] = LF;
    this.used = at;
    this.lines++;
    return "m";
  }

  /** Appends the `obcap` line of one of obcap's own records (compact JSON text). */
  appendOwn(record: string, rxMicros: number): void {
    this.appendText(ownLine(rxMicros, record));
  }

  /** Appends one complete line (with its newline) given as text. */
  appendText(line: string): void {
    this.reserve(line.length * 3);
    const { written } = encoder.encodeInto(line, this.bytes.subarray(this.used));
    this.used += written;
    this.lines++;
  }

  /** The buffered lines (a view, valid until the next append or clear). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  get byteLength(): number {
    return this.used;
  }

  /** Empties the buffer; one grown by a huge frame goes back to its first size. */
  clear(): void {
    this.used = 0;
    this.lines = 0;
    this.frames = 0;
    if (this.bytes.length > 4 * this.initialBytes) this.bytes = new Uint8Array(this.initialBytes);
  }

  private reserve(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }
}

/** True when the frame holds a byte >= 0x80 or a line break: then it must be checked as UTF-8. */
function needsCheck(frame: Uint8Array): boolean {
  for (let i = 0; i < frame.length; i++) {
    const b = frame[i]!;
    if (b >= 0x80 || b === LF || b === CR) return true;
  }
  return false;
}
