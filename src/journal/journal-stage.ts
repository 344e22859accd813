/**
 * The journal stage of the pipeline Worker: drains the ring ALWAYS (it never waits for DynamoDB) and
 * appends every record to the journal segments (appender.ts): frames as they came, obcap's own
 * records (gap records) in their own line form, and loss markers as gap records of every channel.
 * With `--no-journal --out` the same lines go to that one stream instead. Web standards + `node:fs`;
 * the pipeline Worker (src/pipeline/pipeline-host.ts) runs it beside the upload stage.
 *
 * After each write it adds the frames written to a shared counter and bumps the writes counter for
 * the upload stage; after a rotation it bumps the rotations counter. Waiting: `Atomics.waitAsync` on the
 * ring (no timeout, BUN-NOTES), raced with a timer for the next fsync or age rotation and the report.
 *
 * The journal's disk is this Worker's too (journal-keeper.ts): closed segments are compressed a block
 * at a time between drains, and the disk budget is applied before the run's first segment is opened
 * (a restart onto a full disk frees space first) and every few seconds after.
 *
 * The end, in order: the ring is closed and drained, then the main thread's `finish` message brings
 * the records that did not fit in the ring before its close deadline (leftovers); they are journaled
 * and the segment closed. If the main thread asks to abandon (the shutdown deadline is near and the
 * disk is too slow), the frames still in the ring are not written: they are counted and one gap
 * record of reason "shutdown" covers them, so every frame received is journaled or counted and
 * covered. If the disk does not answer at all, the main thread stops waiting and counts what the
 * shared counter says was not written.
 *
 * Order book snapshots come in messages, not through the ring (journal-protocol.ts, SnapshotDelivery),
 * and are journaled as obcap's own records (model/order-book-snapshot.ts) by the loop, between drains.
 * Before a snapshot is journaled the ring is drained of every record present then, which includes
 * every record the capture thread put there before it handed the snapshot over (its channel's start
 * record, the frames received before the body): the snapshot's line follows them. Two rules keep the
 * journal's promise that "every record received before the last line's receive time is journaled"
 * (previous-run.ts reads the restart gap from it): a snapshot waits until the ring has given this
 * run's first record (the run's opening records come first), and its line's `rx` is no later than the
 * last ring record's (the record itself keeps the true fetch times).
 */
import { nextMacrotask } from "../base/next-macrotask.ts";
import { openSync } from "node:fs";
import type { LineStream } from "./appender.ts";
import { RingConsumer } from "../queue/ring.ts";
import { decodeLoss, RECORD_KIND, type LossRun, type QueueRecord } from "../queue/frame-publisher.ts";
import { JournalAppender } from "./appender.ts";
import { JournalKeeper } from "./journal-keeper.ts";
import { ensureJournalDirs } from "./segments.ts";
import { TeeOutput } from "./tee-output.ts";
import { nowMicros } from "../base/clock.ts";
import { describeError, isObcapError, obcapError } from "../base/errors.ts";
import { gapRecord } from "../model/gap-record.ts";
import { buildSnapshotRecord } from "../model/order-book-snapshot.ts";
import {
  journalCounters, SIGNAL_ROTATIONS, SIGNAL_WRITES,
  type JournalStats, type JournalStageControl, type JournalStageInit, type JournalStageMessage, type SnapshotDelivery,
} from "./journal-protocol.ts";

/** Records per drain call; the loop checks timers between calls. */
const DRAIN_CHUNK_RECORDS = 2000;
/** A busy loop yields to the event loop this often (messages, terminate). */
const YIELD_EVERY_MS = 50;
/** `--out` skipped lines are reported at most this often. */
const TEE_REPORT_EVERY_MS = 1000;

const UTF8 = new TextDecoder();

/** One run of the journal stage; `control()` takes the main thread's `finish`. */
export class JournalStage {
  private readonly counters: ReturnType<typeof journalCounters>;
  private readonly signal: Int32Array;
  private readonly finish = Promise.withResolvers<QueueRecord[]>();
  private keeper: JournalKeeper | undefined;
  private teeReported = { skippedLines: 0, atMs: 0 };
  /** Snapshots waiting to be journaled by the loop. */
  private readonly snapshots: SnapshotDelivery[] = [];
  private snapshotLines = 0;
  /** Receive time of the last record taken from the ring; undefined before the first. */
  private lastRingRx: number | undefined;
  /** Wakes the loop when it sleeps (a snapshot came). */
  private wake: () => void = () => {};
  /** The journal is closed (done or fatal): snapshots from now on are dropped. */
  private closed = false;

  constructor(
    private readonly init: JournalStageInit,
    private readonly post: (message: JournalStageMessage) => void,
    private readonly beforeDiskIo?: () => void,
  ) {
    this.counters = journalCounters(init.signal);
    this.signal = new Int32Array(init.signal);
  }

  control(message: JournalStageControl): void {
    if (message.type === "finish") this.finish.resolve(message.leftovers);
    else if (message.type === "snapshot") {
      if (this.closed) this.dropSnapshot(message.snapshot, "the journal was already closed");
      else this.snapshots.push(message.snapshot);
      this.wake();
    }
  }

  /** Runs until the ring is closed, drained and finished (then "done"), or a journal I/O error ("fatal"). */
  async run(): Promise<void> {
    const { init, counters } = this;
    let appender: JournalAppender;
    try {
      const opened = init.output.kind === "segments" ? this.openSegments(init.output) : this.openStream(init.output.path);
      appender = opened.appender;
      this.post({ type: "ready", segment: opened.name, stats: this.statsOf(appender) });
    } catch (err) {
      this.post({ type: "fatal", ...describe(err), stats: emptyStats() });
      return;
    }

    try {
      const consumer = new RingConsumer(init.ring);
      await this.journalRing(consumer, appender);
      if (counters.abandonRequested()) await this.abandonRing(consumer, appender);
      for (const record of await this.finish.promise) this.take(appender, record.payload instanceof Uint8Array ? record.payload : UTF8_ENCODER.encode(record.payload), record.rxMicros, record.kind);
      // A slow disk at the deadline: the frames were skipped, and MiBs of books would only delay the end.
      if (counters.abandonRequested()) for (const snapshot of this.snapshots.splice(0)) this.dropSnapshot(snapshot, "the shutdown deadline came first");
      else this.journalSnapshots(appender, true);
      this.closed = true;
      this.keeper?.close();
      appender.close();
      this.reportTee(appender, true);
      this.post({ type: "done", stats: this.statsOf(appender) });
    } catch (err) {
      this.closed = true;
      this.keeper?.close();
      for (const snapshot of this.snapshots.splice(0)) this.dropSnapshot(snapshot, "the journal failed");
      this.post({ type: "fatal", ...describe(err), stats: this.statsOf(appender) });
    }
  }

  /** The journal directory: the keeper applies the budget first, then the run's first segment opens. */
  private openSegments(output: Extract<JournalStageInit["output"], { kind: "segments" }>): { appender: JournalAppender; name: string } {
    const { signal, counters } = this;
    const channels = this.init.channels;
    const bumpRotations = () => {
      Atomics.add(signal, SIGNAL_ROTATIONS, 1);
      Atomics.notify(signal, SIGNAL_WRITES);
    };
    const keeper = new JournalKeeper(output.journal.dir, output.budget, {
      // Received no later than any line after it (previous-run.ts reads the latest receive time).
      appendGap: (gap) => appender.appendOwn(gapRecord({ channels, startMicros: gap.startMicros, endMicros: gap.endMicros, reason: "evicted" }), Math.trunc(Math.min(appender.lastRx() ?? gap.endMicros, gap.endMicros))),
      warn: (message) => this.post({ type: "warning", message }),
      segmentsDeleted: bumpRotations,
    });
    const appender: JournalAppender = new JournalAppender({
      dir: output.journal.dir,
      pid: output.pid,
      segmentBytes: output.journal.segmentBytes,
      segmentAgeMs: output.journal.segmentAgeMs,
      fsyncMs: output.journal.fsyncMs,
      clockMicros: nowMicros,
      tee: openTee(output.tee),
      lossRecord: (loss) => this.gapOf(loss, "overflow"),
      onWritten: (frames) => {
        counters.addJournaled(frames);
        Atomics.add(signal, SIGNAL_WRITES, 1);
        Atomics.notify(signal, SIGNAL_WRITES);
      },
      onRotated: (closed, opened) => {
        keeper.onRotated(closed, opened);
        bumpRotations();
      },
      ...(this.beforeDiskIo ? { beforeDiskIo: this.beforeDiskIo } : {}),
    });
    try {
      ensureJournalDirs(output.journal.dir);
    } catch (err) {
      throw obcapError("E_JOURNAL_IO", `cannot create the journal directory ${output.journal.dir} (${describeError(err)}): check --journal and its permissions`, err);
    }
    keeper.prepare();
    const segment = appender.open();
    keeper.start(segment);
    this.keeper = keeper;
    return { appender, name: segment };
  }

  /** `--no-journal --out`: every line to one file or stdout; written lines are what the capture keeps. */
  private openStream(path: string | null): { appender: JournalAppender; name: string } {
    const appender = new JournalAppender({
      dir: "",
      stream: openStream(path),
      pid: 0,
      segmentBytes: Number.POSITIVE_INFINITY,
      segmentAgeMs: Number.POSITIVE_INFINITY,
      fsyncMs: Number.POSITIVE_INFINITY,
      clockMicros: nowMicros,
      lossRecord: (loss) => this.gapOf(loss, "overflow"),
      onWritten: (frames) => this.counters.addJournaled(frames),
      ...(this.beforeDiskIo ? { beforeDiskIo: this.beforeDiskIo } : {}),
    });
    return { appender, name: appender.open() };
  }

  private statsOf(appender: JournalAppender): JournalStats {
    const disk = this.keeper?.stats();
    return { ...appender.stats(), ...(disk ? { disk } : {}), ...(this.snapshotLines > 0 ? { snapshotLines: this.snapshotLines } : {}) };
  }

  /**
   * Journals the snapshots waiting, once the ring has given this run's first record (or at the end,
   * `final`): see the file comment. Each line's receive time is at most the last ring record's.
   */
  private journalSnapshots(appender: JournalAppender, final: boolean): void {
    if (this.snapshots.length === 0 || (this.lastRingRx === undefined && !final)) return;
    for (const snapshot of this.snapshots.splice(0)) {
      let built: ReturnType<typeof buildSnapshotRecord>;
      try {
        built = buildSnapshotRecord(snapshot);
      } catch (err) {
        this.dropSnapshot(snapshot, describeError(err));
        continue;
      }
      const rx = Math.trunc(Math.min(snapshot.receivedMicros, this.lastRingRx ?? snapshot.receivedMicros));
      appender.appendOwn(built.record, rx);
      this.snapshotLines++;
      this.post({
        type: "snapshot",
        report: {
          id: snapshot.id, pair: snapshot.pair, outcome: "journaled", form: built.form, bodyBytes: snapshot.body.length,
          ...(built.bids === undefined ? {} : { bids: built.bids, asks: built.asks }),
        },
      });
    }
  }

  private dropSnapshot(snapshot: SnapshotDelivery, reason: string): void {
    this.post({ type: "snapshot", report: { id: snapshot.id, pair: snapshot.pair, outcome: "dropped", reason, bodyBytes: snapshot.body.length } });
  }

  /** The normal loop: every record to the journal, until the ring is closed and empty or abandon is asked. */
  private async journalRing(consumer: RingConsumer, appender: JournalAppender): Promise<void> {
    const { init, counters } = this;
    const onRecord = (bytes: Uint8Array, rxMicros: number, kind: number): void => this.take(appender, bytes, rxMicros, kind);
    let lastProgressMs = performance.now();
    let lastYieldMs = lastProgressMs;
    let waiting: Promise<void> | undefined;
    for (;;) {
      if (counters.abandonRequested()) return;
      if (this.snapshots.length > 0) {
        // Everything the capture thread put in the ring before it handed a snapshot over is visible
        // now: journal it first, so a snapshot follows its channel's start record and every frame
        // received before it (bounded by the ring's size).
        consumer.drain(onRecord);
        this.journalSnapshots(appender, false);
      }
      const taken = consumer.drain(onRecord, DRAIN_CHUNK_RECORDS);
      const now = performance.now();
      if (now - lastProgressMs >= init.progressEveryMs) {
        lastProgressMs = now;
        this.post({ type: "progress", stats: this.statsOf(appender) });
        this.reportTee(appender, false);
      }
      if (taken > 0) {
        appender.tick(now);
        this.keeper?.tick(now, false, appender.stats().bytes);
        if (now - lastYieldMs >= YIELD_EVERY_MS) {
          lastYieldMs = now;
          await nextMacrotask();
        }
        continue;
      }
      // The ring ran dry: hand the lines to the OS now, so the uploader and readers see them.
      appender.flush();
      appender.tick(now);
      if (consumer.isClosedAndEmpty()) return;
      // Idle: the keeper's turn (a compression block, the budget check).
      this.keeper?.tick(now, true, appender.stats().bytes);
      waiting ??= consumer.waitForData().finally(() => (waiting = undefined));
      const dueMs = appender.msUntilDue(performance.now());
      const wakeMs = this.keeper?.hasWork() ? 1 : Math.min(init.progressEveryMs, dueMs ?? init.progressEveryMs);
      if (this.snapshots.length > 0 && this.lastRingRx !== undefined) continue; // came while the ring was drained
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        waiting,
        new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, Math.max(1, wakeMs));
        }),
      ]);
      clearTimeout(timer);
      this.wake = () => {};
      lastYieldMs = performance.now();
    }
  }

  /**
   * Shutdown deadline: the frames left in the ring are not written (the disk is too slow to take them
   * in time); they are counted and covered by one gap record of every channel. Own records and loss
   * markers still go to the journal: they are small, and they are what says what is missing.
   */
  private async abandonRing(consumer: RingConsumer, appender: JournalAppender): Promise<void> {
    let skipped: LossRun | undefined;
    const onRecord = (bytes: Uint8Array, rxMicros: number, kind: number): void => {
      if (kind !== RECORD_KIND.frame) return this.take(appender, bytes, rxMicros, kind);
      skipped = skipped === undefined
        ? { firstRxMicros: rxMicros, lastRxMicros: rxMicros, frames: 1, bytes: bytes.length }
        : { ...skipped, lastRxMicros: Math.max(skipped.lastRxMicros, rxMicros), frames: skipped.frames + 1, bytes: skipped.bytes + bytes.length };
    };
    for (;;) {
      consumer.drain(onRecord);
      if (consumer.isClosedAndEmpty()) break;
      await consumer.waitForData(); // the main thread closes the ring before it asks to abandon
    }
    if (skipped === undefined) return;
    this.counters.addAbandoned(skipped.frames);
    appender.appendOwn(this.gapOf(skipped, "shutdown"), Math.trunc(skipped.lastRxMicros));
  }

  private take(appender: JournalAppender, bytes: Uint8Array, rxMicros: number, kind: number): void {
    this.lastRingRx = rxMicros;
    if (kind === RECORD_KIND.frame) appender.append(bytes, rxMicros);
    else if (kind === RECORD_KIND.own) appender.appendOwn(UTF8.decode(bytes), rxMicros);
    else if (kind === RECORD_KIND.loss) {
      const loss = decodeLoss(bytes);
      if (loss) appender.noteLoss(loss);
    }
  }

  private gapOf(loss: LossRun, reason: "overflow" | "shutdown"): string {
    return gapRecord({ channels: this.init.channels, startMicros: loss.firstRxMicros, endMicros: loss.lastRxMicros, reason });
  }

  /** `--out` skipped lines: one message a second while the count grows, and a last one at the end. */
  private reportTee(appender: JournalAppender, last: boolean): void {
    const tee = appender.stats().tee;
    if (tee === undefined || tee.skippedLines === this.teeReported.skippedLines) return;
    const now = performance.now();
    if (!last && now - this.teeReported.atMs < TEE_REPORT_EVERY_MS) return;
    this.teeReported = { skippedLines: tee.skippedLines, atMs: now };
    this.post({ type: "tee-skipped", skippedLines: tee.skippedLines, ...(tee.closedReason ? { reason: tee.closedReason } : {}) });
  }
}

const UTF8_ENCODER = new TextEncoder();

/** `--no-journal --out`: stdout (fd 1) or a file opened for appending. */
function openStream(path: string | null): LineStream {
  if (path === null) return { fd: 1, name: "stdout (--out -)", ownsFd: false };
  try {
    return { fd: openSync(path, "a"), name: `the --out file ${path}`, ownsFd: true };
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot open --out file ${path} (${describeError(err)}): check the path and its permissions`, err);
  }
}

/** `--out` beside the journal: stdout (fd 1) or a file opened for appending. */
function openTee(tee: { path: string | null } | undefined): TeeOutput | undefined {
  if (tee === undefined) return undefined;
  if (tee.path === null) return new TeeOutput({ fd: 1, name: "stdout (--out -)" });
  try {
    return new TeeOutput({ fd: openSync(tee.path, "a"), name: `the --out file ${tee.path}` });
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot open --out file ${tee.path} (${describeError(err)}): check the path and its permissions`, err);
  }
}

function describe(err: unknown): { code: string; message: string } {
  if (isObcapError(err)) return { code: err.code, message: err.message };
  return { code: "E_WORKER_FAILED", message: `the journal stage failed: ${describeError(err)}` };
}

function emptyStats(): JournalStats {
  return {
    frames: 0, framesWritten: 0, lines: 0, ownLines: 0, bytes: 0, rawLines: 0, base64Lines: 0, segment: "", segmentsOpened: 0, fsyncs: 0, maxFsyncMs: 0, totalFsyncMs: 0,
  };
}
