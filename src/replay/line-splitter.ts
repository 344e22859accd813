/**
 * Bytes -> lines, keeping for each line its number and the byte offset just after it (after its
 * `\n`), so a replay can record "everything up to byte N is done" and resume there.
 *
 * Chunks may cut a line anywhere (even inside a UTF-8 sequence); the partial line is carried over.
 * Speed: the complete lines of a chunk are decoded as one block, and when the block is pure ASCII
 * (Bitstamp frames are) a character index is a byte index, so lines are cut from the string with
 * `indexOf("\n")`. A block holding other bytes falls back to per-line decoding, which also pins down
 * which line is not valid UTF-8. Memory stays bounded: a line longer than `maxLineBytes` is not
 * buffered, only measured and reported as bad. A line of obcap's own record (`{"rx":…,"obcap":…}`,
 * which no recorded frame takes) has its own bound, `maxOwnLineBytes`: an order book snapshot record
 * is MiBs (model/order-book-snapshot.ts).
 */
import { startsLikeOwnLine } from "../journal/journal-line.ts";

/** Complete lines of one chunk. */
export interface LineBatch {
  /** Line texts without `\n` (a trailing `\r` is left to the line parser); `""` for a bad line. */
  texts: string[];
  /** Byte offset just after each line, in the input's (decompressed) byte stream. */
  ends: number[];
  /** 1-based line number of `texts[0]`. */
  firstLine: number;
  /** Lines that are not text, by index in this batch: the reason. */
  bad: Map<number, string> | undefined;
}

const NEWLINE = 10;
/** Enough of a line to tell an own record's line (`{"rx":<up to 17 digits>,"obcap":`). */
const OWN_PREFIX_BYTES = 32;
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

export class LineSplitter {
  /** Bytes of the line being assembled across chunks. */
  private carry: Uint8Array[] = [];
  private carryBytes = 0;
  /** Length of an over-long line being skipped (its bytes are not kept); -1 when not skipping. */
  private skippedBytes = -1;
  /** Offset of the first byte not yet handed out as part of a line. */
  private lineStart: number;
  private nextLine: number;

  /**
   * @param startOffset byte offset of the first byte pushed (a resume point)
   * @param startLine line number of the first line pushed (1 at the start of an input)
   * @param maxLineBytes longer lines are reported as bad without being kept in memory
   * @param maxOwnLineBytes the same for lines of obcap's own records (default: `maxLineBytes`)
   */
  constructor(
    startOffset: number,
    startLine: number,
    private readonly maxLineBytes: number,
    private readonly maxOwnLineBytes = maxLineBytes,
  ) {
    this.lineStart = startOffset;
    this.nextLine = startLine;
  }

  /** Byte offset after the last complete line handed out. */
  get offset(): number {
    return this.lineStart;
  }

  /** The number the next line will get. */
  get nextLineNumber(): number {
    return this.nextLine;
  }

  /** Splits `chunk` (with what was carried over) into complete lines; keeps the unfinished rest. */
  push(chunk: Uint8Array): LineBatch {
    const batch: LineBatch = { texts: [], ends: [], firstLine: this.nextLine, bad: undefined };
    if (chunk.length === 0) return batch;
    let pos = 0;
    const firstNewline = chunk.indexOf(NEWLINE);
    if (firstNewline < 0) {
      this.hold(chunk);
      return batch;
    }
    if (this.skippedBytes >= 0 || this.carryBytes > 0) {
      // The line that started in an earlier chunk ends here.
      this.finishCarried(batch, chunk.subarray(0, firstNewline + 1));
      pos = firstNewline + 1;
    }
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline >= pos) {
      this.splitBlock(batch, chunk.subarray(pos, lastNewline + 1));
      pos = lastNewline + 1;
    }
    if (pos < chunk.length) this.hold(chunk.subarray(pos));
    return batch;
  }

  /** The last line when the input does not end with `\n` (a truncated recording). */
  end(): LineBatch {
    const batch: LineBatch = { texts: [], ends: [], firstLine: this.nextLine, bad: undefined };
    if (this.skippedBytes >= 0 || this.carryBytes > 0) this.finishCarried(batch, new Uint8Array(0));
    return batch;
  }

  /** Keeps an unfinished line's bytes, or only counts them once the line is too long. */
  private hold(bytes: Uint8Array): void {
    if (this.skippedBytes >= 0) {
      this.skippedBytes += bytes.length;
      return;
    }
    if (this.carryBytes + bytes.length > this.carriedLimit(bytes)) {
      this.skippedBytes = this.carryBytes + bytes.length;
      this.carry = [];
      this.carryBytes = 0;
      return;
    }
    // A copy: the reader may reuse its buffer for the next chunk.
    this.carry.push(bytes.slice());
    this.carryBytes += bytes.length;
  }

  /** Emits the carried line completed by `tail` (which ends with its `\n`, or is empty at end of input). */
  private finishCarried(batch: LineBatch, tail: Uint8Array): void {
    const hasNewline = tail.length > 0 && tail[tail.length - 1] === NEWLINE;
    const contentTail = hasNewline ? tail.subarray(0, tail.length - 1) : tail;
    const priorBytes = this.skippedBytes >= 0 ? this.skippedBytes : this.carryBytes;
    const consumed = priorBytes + tail.length;
    const limit = this.skippedBytes >= 0 ? this.maxLineBytes : this.carriedLimit(contentTail);
    if (this.skippedBytes >= 0 || this.carryBytes + contentTail.length > limit) {
      this.skippedBytes = -1;
      this.carry = [];
      this.carryBytes = 0;
      this.emitBad(batch, consumed, tooLong(priorBytes + contentTail.length, limit));
      return;
    }
    const line = new Uint8Array(this.carryBytes + contentTail.length);
    let at = 0;
    for (const part of this.carry) {
      line.set(part, at);
      at += part.length;
    }
    line.set(contentTail, at);
    this.carry = [];
    this.carryBytes = 0;
    this.emitDecoded(batch, line, consumed);
  }

  /** Splits a block that ends with `\n` and holds whole lines only. */
  private splitBlock(batch: LineBatch, block: Uint8Array): void {
    let text: string | undefined;
    try {
      text = STRICT_UTF8.decode(block);
    } catch {
      text = undefined;
    }
    if (text !== undefined && text.length === block.length) {
      // Pure ASCII: one character per byte, offsets are string indexes.
      const base = this.lineStart;
      let from = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
        if (nl - from > this.maxLineBytes && nl - from > this.limitOf(block.subarray(from, nl))) {
          this.lineStart = base + from;
          this.emitBad(batch, nl + 1 - from, tooLong(nl - from, this.limitOf(block.subarray(from, nl))));
        } else {
          batch.texts.push(text.slice(from, nl));
          batch.ends.push(base + nl + 1);
          this.nextLine++;
        }
        from = nl + 1;
      }
      this.lineStart = base + block.length;
      return;
    }
    let from = 0;
    for (let nl = block.indexOf(NEWLINE); nl >= 0; nl = block.indexOf(NEWLINE, from)) {
      const limit = nl - from > this.maxLineBytes ? this.limitOf(block.subarray(from, nl)) : this.maxLineBytes;
      if (nl - from > limit) this.emitBad(batch, nl + 1 - from, tooLong(nl - from, limit));
      else this.emitDecoded(batch, block.subarray(from, nl), nl + 1 - from);
      from = nl + 1;
    }
  }

  /** The length bound of a line that starts with `line` (its first bytes at least). */
  private limitOf(line: Uint8Array): number {
    return startsLikeOwnLine(line.subarray(0, OWN_PREFIX_BYTES)) ? Math.max(this.maxLineBytes, this.maxOwnLineBytes) : this.maxLineBytes;
  }

  /** The bound of the line being carried, whose next bytes are `next`. */
  private carriedLimit(next: Uint8Array): number {
    if (this.maxOwnLineBytes <= this.maxLineBytes) return this.maxLineBytes;
    const head = new Uint8Array(Math.min(OWN_PREFIX_BYTES, this.carryBytes + next.length));
    let at = 0;
    for (const part of [...this.carry, next]) {
      if (at >= head.length) break;
      const n = Math.min(part.length, head.length - at);
      head.set(part.subarray(0, n), at);
      at += n;
    }
    return this.limitOf(head);
  }

  /** One line's bytes (without `\n`) that used `consumed` bytes of input. */
  private emitDecoded(batch: LineBatch, line: Uint8Array, consumed: number): void {
    let text: string;
    try {
      text = STRICT_UTF8.decode(line);
    } catch {
      this.emitBad(batch, consumed, `not valid UTF-8 text (${line.length} bytes${hasNul(line) ? ", holds NUL bytes: binary data?" : ""})`);
      return;
    }
    this.lineStart += consumed;
    batch.texts.push(text);
    batch.ends.push(this.lineStart);
    this.nextLine++;
  }

  private emitBad(batch: LineBatch, consumed: number, reason: string): void {
    this.lineStart += consumed;
    (batch.bad ??= new Map()).set(batch.texts.length, reason);
    batch.texts.push("");
    batch.ends.push(this.lineStart);
    this.nextLine++;
  }
}

function hasNul(bytes: Uint8Array): boolean {
  return bytes.indexOf(0) >= 0;
}

function tooLong(lengthBytes: number, maxLineBytes: number): string {
  return `line of ${formatBytes(lengthBytes)} is longer than the ${formatBytes(maxLineBytes)} limit (a Bitstamp frame is under 2 KB): not read (--max-line-kb raises the limit)`;
}

/** `1.5 MiB`, `800 B`: sizes for messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
