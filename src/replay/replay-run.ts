/**
 * The replay loop: inputs -> lines -> items -> ItemUploader (the capture's batch path) -> DynamoDB,
 * with an acknowledged position per line for the checkpoint.
 *
 * Streaming: one input at a time, one chunk (1 MiB) at a time, and the next chunk is read only after
 * the uploader has taken this one's batches, which waits while `maxInFlight` requests are out
 * (backpressure). Memory is bounded by the chunk size and the batches in flight, whatever the input
 * size. The next read is started before the current chunk is parsed, so disk and CPU overlap.
 *
 * Positions: `{ input, offset, line }` = input index, byte offset after the line, line number. Bad
 * lines and lines that store nothing are `skip`ped at their position, so the acknowledged position
 * passes them once everything before is stored.
 */
import type { ItemUploader } from "../pipeline/uploader.ts";
import type { ReplayInput } from "./inputs.ts";
import { InputProblem, openInput, type InputReader, type StdinSource } from "./input-stream.ts";
import { LineSplitter, type LineBatch } from "./line-splitter.ts";
import { MAX_OWN_LINE_BYTES } from "../journal/journal-line.ts";
import { mapRecordedLine, type SkipKind } from "./line-mapper.ts";
import { StoredItems } from "../pipeline/stored-item.ts";
import type { ProgressFigures } from "./progress.ts";
import type { ReplayPosition } from "./replay-checkpoint.ts";

/** Where replayed items go; absent for a dry run. */
export interface ReplayStore {
  uploader: ItemUploader<ReplayPosition>;
  /** Items acknowledged and retry requests so far (BatchWriter stats). */
  stats(): { written: number; retryRequests: number };
  /** How long a partial batch waits for more lines (stdin fed by a live capture). */
  lingerMs: number;
  /** Called after every chunk and linger flush: the place to write the checkpoint. */
  onAcknowledged(position: ReplayPosition | undefined, badLinesAcked: number): void;
}

export interface ReplayRunOptions {
  inputs: readonly ReplayInput[];
  /** Shard count used for the keys (the table's, or the default in a dry run). */
  shards: number;
  store: ReplayStore | undefined;
  /** Stop at the first bad line instead of skipping it. */
  strict: boolean;
  maxLineBytes: number;
  /** Continue after this position (from a checkpoint); `badLines` = bad lines before it. */
  resumeFrom?: { position: ReplayPosition | null; badLines: number };
  /** A bad line (or an input that cannot be read on): `where` is `file:line`. */
  onBadLine: (where: string, reason: string) => void;
  onProgress: (figures: ProgressFigures) => void;
  /** Aborted by SIGINT/SIGTERM: stop reading, store what was read, return. */
  stop?: AbortSignal;
  stdin?: StdinSource;
}

export interface ReplaySummary {
  /** Lines read in this run (blank and bad lines included). */
  lines: number;
  events: number;
  /** Gap records of a capture journal, stored as gap items. */
  gaps: number;
  /** Order book snapshot records of a capture journal, stored as chunk items. */
  snapshots: number;
  skipped: Record<SkipKind, number>;
  /** Bad lines and unreadable inputs met in this run. */
  badLines: number;
  /** Bad lines reported by earlier runs of a resumed replay. */
  badLinesBefore: number;
  /** How the run ended: every input read, stopped by a signal, or stopped at a bad line (`--strict`). */
  end: "complete" | "stopped" | "strict";
  /** With `end: "strict"`: where and why. */
  strictStop?: { where: string; reason: string };
  /** Where a resumed run started: input name and line number. */
  resumedAt?: { input: string; line: number };
  /** Acknowledged position and bad lines up to it, at the end. */
  acknowledged?: ReplayPosition;
  badLinesAcked: number;
  bytesDone: number;
}

/** Lines mapped between two sends (~0.8 ms of work): short enough that answered requests are replaced at once. */
const LINES_PER_SLICE = 256;
const LINGER = Symbol("linger");
const STOPPED = Symbol("stopped");

/** Runs the replay; resolves with the summary. Rejects with the writer's fatal error (after the uploads in flight settle). */
export async function runReplay(options: ReplayRunOptions): Promise<ReplaySummary> {
  return new ReplayRun(options).run();
}

class ReplayRun {
  private readonly summary: ReplaySummary;
  private readonly store: ReplayStore | undefined;
  /** Positions of bad lines not yet acknowledged, in order (moves to badLinesAcked as the ack passes them). */
  private readonly badPending: ReplayPosition[] = [];
  private bytesBeforeInput = 0;
  private reader: InputReader | undefined;
  /** The capture's frame -> items mapping, with the event_id chain state across lines. */
  private stored: StoredItems | undefined;
  /** Sum of the input sizes, for the ETA; undefined with stdin. */
  private readonly bytesTotal: number | undefined;

  constructor(private readonly options: ReplayRunOptions) {
    this.store = options.store;
    this.summary = {
      lines: 0,
      events: 0,
      gaps: 0,
      snapshots: 0,
      skipped: { blank: 0, control: 0, "not-stored": 0, other: 0 },
      badLines: 0,
      badLinesBefore: options.resumeFrom?.badLines ?? 0,
      end: "complete",
      badLinesAcked: options.resumeFrom?.badLines ?? 0,
      bytesDone: 0,
    };
    const inputs = options.inputs;
    this.bytesTotal = inputs.every((i) => i.sizeBytes !== undefined) ? inputs.reduce((sum, i) => sum + (i.sizeBytes ?? 0), 0) : undefined;
  }

  async run(): Promise<ReplaySummary> {
    const { inputs, resumeFrom } = this.options;
    const resume = resumeFrom?.position ?? undefined;
    const first = resume?.input ?? 0;
    for (let i = 0; i < first; i++) this.bytesBeforeInput += inputs[i]!.sizeBytes ?? 0;
    if (resume) this.summary.resumedAt = { input: inputs[first]!.name, line: resume.line + 1 };
    try {
      for (let index = first; index < inputs.length && this.summary.end === "complete"; index++) {
        const start = resume && index === resume.input ? resume : { input: index, offset: 0, line: 0 };
        await this.replayInput(index, start);
        this.bytesBeforeInput += inputs[index]!.sizeBytes ?? 0;
      }
      if (this.store) await this.store.uploader.finish();
    } finally {
      this.acknowledge();
      this.progress();
    }
    return this.summary;
  }

  /** One input from `start` (offset and line of the last line already done). */
  private async replayInput(index: number, start: ReplayPosition): Promise<void> {
    const input = this.options.inputs[index]!;
    const splitter = new LineSplitter(start.offset, start.line + 1, this.options.maxLineBytes, MAX_OWN_LINE_BYTES);
    try {
      this.reader = await openInput(input, start.offset, this.options.stdin);
      let pending: Promise<Uint8Array | undefined> | undefined = this.reader.read();
      while (pending !== undefined) {
        const chunk = await this.next(pending);
        if (chunk === STOPPED) {
          this.summary.end = "stopped";
          return;
        }
        pending = chunk === undefined ? undefined : this.reader.read();
        pending?.catch(() => undefined); // a failed read-ahead is reported when awaited, not as unhandled
        if (chunk !== undefined && splitter.offset === 0 && splitter.nextLineNumber === 1 && startsBinary(chunk)) {
          this.bad(index, { input: index, offset: input.sizeBytes ?? 0, line: 1 }, input.name,
            `not a text recording (NUL bytes or invalid UTF-8 in its first line: binary data, or compressed other than gzip?): the whole input was skipped`);
          return;
        }
        const batch = chunk === undefined ? splitter.end() : splitter.push(chunk);
        // In slices, sending between them: a whole 1 MiB chunk mapped at once (~3,000 lines, ~9 ms)
        // left DynamoDB idle once the requests in flight were answered (measured: replay 0.88 of the raw ceiling).
        for (let from = 0; from < batch.texts.length || from === 0; from += LINES_PER_SLICE) {
          if (!this.take(index, batch, from, Math.min(batch.texts.length, from + LINES_PER_SLICE))) return;
          await this.afterChunk();
        }
      }
    } catch (err) {
      if (!(err instanceof InputProblem)) throw err;
      // A truncated gzip file or a read error: what came before is replayed, the rest cannot be read.
      const line = splitter.nextLineNumber;
      this.bad(index, { input: index, offset: splitter.offset, line }, `${input.name}:${line}`,
        `${err.message.replace(`${input.name}: `, "")}; the lines before it were read, the rest of this input cannot be`);
    } finally {
      await this.reader?.close();
      this.reader = undefined;
    }
    // The end of the input: acknowledged once its last line is (marks empty inputs done too).
    this.store?.uploader.take([], { input: index, offset: splitter.offset, line: splitter.nextLineNumber - 1 });
  }

  /** The next chunk, flushing a lingering partial batch while the input is slow (stdin), or STOPPED. */
  private async next(pending: Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined | typeof STOPPED> {
    const store = this.store;
    for (;;) {
      // Checked first: a read that is already done would win the race below.
      if (this.options.stop?.aborted) return STOPPED;
      if (store === undefined || !store.uploader.hasOpenBatch()) return this.untilStopped(pending);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const linger = new Promise<typeof LINGER>((resolve) => (timer = setTimeout(() => resolve(LINGER), store.lingerMs)));
      const result = await this.untilStopped(Promise.race([pending, linger])).finally(() => clearTimeout(timer));
      if (result !== LINGER) return result;
      await store.uploader.lingerFlush(Date.now(), store.lingerMs);
      this.acknowledge();
      this.progress();
    }
  }

  /**
   * `promise`, or STOPPED as soon as the stop signal fires. A listener per call, removed once the
   * promise settles: racing against one long-lived "stopped" promise would keep every chunk ever
   * read reachable through that promise's reactions (measured: RSS grew with the file size).
   */
  private untilStopped<T>(promise: Promise<T>): Promise<T | typeof STOPPED> {
    const stop = this.options.stop;
    if (stop === undefined) return promise;
    return new Promise((resolve, reject) => {
      const onAbort = () => resolve(STOPPED);
      stop.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          stop.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (err: unknown) => {
          stop.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  /** Takes lines `from` to `to` (exclusive) of a batch; false when `--strict` met a bad line. */
  private take(index: number, batch: LineBatch, from: number, to: number): boolean {
    const { texts, ends, bad } = batch;
    const uploader = this.store?.uploader;
    const stored = (this.stored ??= new StoredItems(this.options.shards));
    const s = this.summary;
    for (let i = from; i < to; i++) {
      const line = batch.firstLine + i;
      s.lines++;
      const badReason = bad?.get(i);
      const outcome = badReason === undefined ? mapRecordedLine(texts[i]!, stored) : undefined;
      if (outcome === undefined || outcome.kind === "bad") {
        const reason = badReason ?? (outcome as { reason: string }).reason;
        const where = `${this.options.inputs[index]!.name}:${line}`;
        if (this.options.strict) {
          s.end = "strict";
          s.strictStop = { where, reason };
          s.badLines++;
          return false;
        }
        this.bad(index, { input: index, offset: ends[i]!, line }, where, reason);
      } else if (outcome.kind === "event" || outcome.kind === "gap" || outcome.kind === "snapshot") {
        const position = { input: index, offset: ends[i]!, line };
        if (outcome.kind === "event") {
          s.events++;
          uploader?.take([...outcome.chainGaps, outcome.item], position);
        } else if (outcome.kind === "snapshot") {
          s.snapshots++;
          uploader?.take(outcome.items, position);
        } else {
          s.gaps++;
          uploader?.take(outcome.items, position);
        }
      } else {
        s.skipped[outcome.what]++;
        uploader?.take([], { input: index, offset: ends[i]!, line });
      }
    }
    return true;
  }

  private bad(_index: number, position: ReplayPosition, where: string, reason: string): void {
    this.summary.badLines++;
    this.options.onBadLine(where, reason);
    if (this.store) {
      this.badPending.push(position);
      this.store.uploader.take([], position);
    }
  }

  private async afterChunk(): Promise<void> {
    if (this.store) await this.store.uploader.pump();
    this.acknowledge();
    this.progress();
  }

  /** Moves bad lines behind the acknowledged position into the acknowledged count, and reports the position. */
  private acknowledge(): void {
    if (!this.store) return;
    const acked = this.store.uploader.acknowledged();
    if (acked !== undefined) {
      while (this.badPending.length > 0 && !isAfter(this.badPending[0]!, acked)) {
        this.badPending.shift();
        this.summary.badLinesAcked++;
      }
      this.summary.acknowledged = acked;
    }
    this.store.onAcknowledged(this.summary.acknowledged, this.summary.badLinesAcked);
  }

  private progress(): void {
    const s = this.summary;
    const stats = this.store?.stats();
    const total = this.bytesTotal;
    s.bytesDone = this.bytesBeforeInput + (this.reader?.rawBytesRead() ?? 0);
    this.options.onProgress({
      lines: s.lines,
      events: s.events,
      written: stats?.written ?? 0,
      retries: stats?.retryRequests ?? 0,
      badLines: s.badLines,
      bytesDone: total === undefined ? s.bytesDone : Math.min(s.bytesDone, total),
      bytesTotal: total,
    });
  }
}

/** Whether `a` comes after `b` in replay order. */
function isAfter(a: ReplayPosition, b: ReplayPosition): boolean {
  return a.input > b.input || (a.input === b.input && a.offset > b.offset);
}

/** Bytes looked at to tell a binary input from a text recording. */
const BINARY_SNIFF_BYTES = 64 * 1024;
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The first line (within 64 KiB) of an input holds a NUL byte or is not UTF-8: not a text recording.
 * Only the first line is judged, so a text recording with a damaged tail (zeros after a crash) is
 * still replayed line by line.
 */
function startsBinary(chunk: Uint8Array): boolean {
  const newline = chunk.indexOf(10);
  const head = chunk.subarray(0, newline >= 0 ? Math.min(newline, BINARY_SNIFF_BYTES) : Math.min(chunk.length, BINARY_SNIFF_BYTES));
  if (head.indexOf(0) >= 0) return true;
  try {
    STRICT_UTF8.decode(head);
    return false;
  } catch {
    // The sniffed window may end inside a multi-byte character; only a complete line is judged.
    return newline >= 0 && newline <= BINARY_SNIFF_BYTES;
  }
}
