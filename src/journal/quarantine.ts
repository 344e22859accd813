/**
 * Quarantine: frames and journal lines that cannot be stored, kept in full with the reason, so nothing
 * received is dropped unseen and a person (or a later obcap) can look at them. Web standards + `node:fs`.
 *
 *   <dir>/quarantine/<YYYY-MM-DD (UTC)>.ndjson, one record per line:
 *   {"at":"<ISO time>","code":"E_FRAME_JSON","reason":"...","rx":<µs>,"segment":"<name>","offset":<bytes>,"line":"<the journal line>"}
 *
 * `line` is the journal line (or the frame, for frames that never reached the journal: `frame`; or the
 * DynamoDB item DynamoDB refused: `item`) as a JSON string; bytes that are not UTF-8 go in base64
 * instead (`lineBase64` / `frameBase64`).
 * `segment`/`offset` (end of the line) say where the line is in the journal. Each record is one
 * write() on a file opened for appending, so the uploader and the capture thread can both add records.
 * Quarantine files are never deleted by obcap.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { QUARANTINE_DIR } from "./segments.ts";

export interface QuarantineEntry {
  /** E_FRAME_UTF8, E_FRAME_JSON, E_FRAME_INVALID, E_FRAME_OVERSIZE, E_JOURNAL_LINE. */
  code: string;
  /** What is wrong, for a person. */
  reason: string;
  rxMicros?: number;
  /** Where the line is in the journal (end offset). */
  segment?: string;
  offset?: number;
  /** The journal line (without newline), or, with `isFrame`, the frame as received, or with `isItem` the item DynamoDB refused (JSON). */
  content: Uint8Array | string;
  /** `content` is a frame that never reached the journal (an oversize frame). */
  isFrame?: boolean;
  /** `content` is a DynamoDB item (its JSON) that DynamoDB refused on its own (batch-writer.ts). */
  isItem?: boolean;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Appends quarantine records; keeps the day's file open. */
export class Quarantine {
  private fd = -1;
  private day = "";
  /** Records written by this instance. */
  count = 0;

  constructor(private readonly dir: string, private readonly now: () => Date = () => new Date()) {}

  /** Writes one record. Throws on I/O errors (the caller decides whether that is fatal). */
  add(entry: QuarantineEntry): void {
    const at = this.now();
    const record: Record<string, unknown> = { at: at.toISOString(), code: entry.code, reason: entry.reason };
    if (entry.rxMicros !== undefined) record.rx = entry.rxMicros;
    if (entry.segment !== undefined) record.segment = entry.segment;
    if (entry.offset !== undefined) record.offset = entry.offset;
    const name = entry.isItem ? "item" : entry.isFrame ? "frame" : "line";
    const text = typeof entry.content === "string" ? entry.content : tryUtf8(entry.content);
    if (text !== undefined) record[name] = text;
    else record[`${name}Base64`] = toBase64(entry.content as Uint8Array);
    const bytes = encoder.encode(`${JSON.stringify(record)}\n`);
    const fd = this.fileFor(at);
    let rest = bytes;
    while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
    this.count++;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Path of the file a record written at `at` goes to. */
  pathFor(at: Date): string {
    return join(this.dir, QUARANTINE_DIR, `${at.toISOString().slice(0, 10)}.ndjson`);
  }

  private fileFor(at: Date): number {
    const day = at.toISOString().slice(0, 10);
    if (day !== this.day || this.fd < 0) {
      this.close();
      mkdirSync(join(this.dir, QUARANTINE_DIR), { recursive: true });
      this.fd = openSync(this.pathFor(at), "a");
      this.day = day;
    }
    return this.fd;
  }
}

function tryUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
