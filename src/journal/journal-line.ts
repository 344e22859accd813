/**
 * The journal line format, shared by capture (writing) and replay (reading):
 *
 *   {"rx":<receive µs>,"m":<frame exactly as received>}
 *   {"rx":<receive µs>,"raw":"<frame as a JSON string>"}   (a frame that cannot be embedded as is)
 *
 * The frame is embedded byte for byte, so reading a line back is a slice, not a JSON parse. A frame is
 * embedded as a JSON string instead when embedding it raw would break the line: it holds a line break
 * (JSON allows raw newlines as whitespace; a malformed frame may hold anything).
 *
 * Lines that do not start with `{"rx":` are plain recorded frames, one per line (any recorder).
 */

const JOURNAL_PREFIX = '{"rx":';
const FRAME_LINE_RE = /^\{"rx":(\d{1,17}),"m":/;
const RAW_LINE_RE = /^\{"rx":(\d{1,17}),"raw":/;

/** One journal line, with its newline. */
export function journalLine(rxMicros: number, frame: string): string {
  if (frame.includes("\n") || frame.includes("\r")) {
    return `{"rx":${rxMicros},"raw":${JSON.stringify(frame)}}\n`;
  }
  return `{"rx":${rxMicros},"m":${frame}}\n`;
}

export type RecordedLine =
  /** A journal line: the frame as received and its receive time. */
  | { kind: "journal"; rxMicros: number; frame: string }
  /** A plain recorded frame (no receive time). */
  | { kind: "frame"; frame: string }
  | { kind: "blank" }
  /** Looks like a journal line but is not one (truncated, edited): `reason` says what is wrong. */
  | { kind: "broken"; reason: string };

/** Reads one line (without its newline) of a journal or of a plain recording. */
export function parseRecordedLine(line: string): RecordedLine {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text.trim() === "") return { kind: "blank" };
  if (!text.startsWith(JOURNAL_PREFIX)) return { kind: "frame", frame: text };
  const framed = FRAME_LINE_RE.exec(text);
  if (framed) {
    if (!text.endsWith("}")) return { kind: "broken", reason: "journal line does not end with '}' (truncated?)" };
    return { kind: "journal", rxMicros: Number(framed[1]), frame: text.slice(framed[0].length, -1) };
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
  return { kind: "broken", reason: 'line starts like a journal line but has no "rx" number followed by "m" or "raw"' };
}
