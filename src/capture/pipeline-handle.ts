/**
 * The capture's pipeline, main-thread side: starts the one pipeline Worker (pipeline-host.ts) with
 * the stages the run needs, relays their messages to the log, and runs the shutdown in order: the
 * journal stage first (drain the ring, the records that did not fit in it, sync, close), then the
 * upload to the end of its source within the shutdown bound. With a journal, what DynamoDB has not
 * acknowledged by then stays in the journal, and the log says how much.
 *
 * The journal stage's end has two deadlines ({@link ShutdownPlan}): at `abandonAtMs` a stage still
 * busy (a slow disk) is asked to stop writing frames and cover the rest with a "shutdown" gap record;
 * at `consumerEndMs` a Worker that still has not finished (a disk that does not answer blocks the
 * whole thread) is terminated, and the frames the shared counter does not show as written are
 * counted as lost. Either way the run's figures add up: received = journaled + quarantined + lost.
 * Web standards + `node:fs`.
 *
 *   ring -> [journal stage -> <dir>/segments/*.ndjson | --out] -> [upload stage -> DynamoDB, <dir>/checkpoint.json]
 */
import { knownErrorCode, obcapError, type ObcapError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { Quarantine } from "../journal/quarantine.ts";
import { emptyPipelineStats, type PipelineStats } from "../pipeline/pipeline-stats.ts";
import type { QueueRecord } from "../queue/frame-publisher.ts";
import type { KeeperSettings, KeeperStats } from "../journal/journal-keeper.ts";
import { describeBytes } from "../journal/disk-budget.ts";
import {
  createJournalSignal, journalCounters,
  type JournalSettings, type JournalStageInit, type JournalStageMessage, type JournalStats, type SnapshotDelivery, type SnapshotReport,
} from "../journal/journal-protocol.ts";
import type { UploaderInit, UploaderMessage, UploaderStats, UploaderTarget } from "../pipeline/upload-protocol.ts";
import type { PipelineControl, PipelineInit, PipelineMessage } from "../pipeline/pipeline-protocol.ts";

export interface PipelineConfig {
  ring: SharedArrayBuffer;
  /**
   * The journal directory with its disk budget and `--out` copy, or (--no-journal --out) the one
   * stream the lines go to; undefined: no journal stage (--no-journal --table).
   */
  journal:
    | { kind: "segments"; settings: JournalSettings; budget: KeeperSettings; tee: { path: string | null } | undefined }
    | { kind: "stream"; path: string | null }
    | undefined;
  /** Upload to this table (from the journal, or from the ring without one); undefined: no upload. */
  upload: UploaderTarget | undefined;
  lingerMs: number;
  progressEveryMs: number;
  /** Goes into segment names. */
  pid: number;
  /** The capture's channels (a loss before the ring is a gap of each). */
  channels: readonly string[];
  /** A stage cannot go on (journal I/O, table deleted, credentials): the capture stops. */
  onFatal(error: ObcapError): void;
  /** The stage that took a snapshot ({@link PipelineHandle.storeSnapshot}) says what became of it. */
  onSnapshot?(report: SnapshotReport): void;
}

/** How the end of a run is bounded; times are `Date.now()` milliseconds. */
export interface ShutdownPlan {
  /** Records the ring could not take before it closed (FramePublisher.close). */
  leftovers: QueueRecord[];
  /** From here a consumer still busy stops writing frames and records the rest as a gap. */
  abandonAtMs: number;
  /** From here a consumer that has not finished is terminated; what it did not write is counted. */
  consumerEndMs: number;
  /** The whole shutdown ends here (the upload gets what remains). */
  endMs: number;
}

/** How a consumer of the ring ended. */
export interface ConsumerEnd {
  stats?: PipelineStats;
  error?: ObcapError;
  journal?: JournalSummary;
  /** Frames of the ring that are safe: journaled (journal) or settled in the table or `--out` (--no-journal). */
  settledFrames: number;
  /** Frames skipped at the abandon deadline, each covered by a "shutdown" gap record. */
  abandonedFrames: number;
}

/** What the journal holds at the end of a capture. */
export interface JournalSummary {
  dir: string;
  /** Frames appended and bytes written by this run. */
  frames: number;
  bytes: number;
  segmentsOpened: number;
  fsyncs: number;
  maxFsyncMs: number;
  /** Records put in the quarantine by this run (uploader and oversize frames). */
  quarantined: number;
  /** Gap records and other own records written by this run. */
  ownLines: number;
  /** Of `ownLines`: order book snapshot records. */
  snapshotLines?: number;
  /** `--out`: lines written and lines skipped because its reader was behind or gone. */
  tee?: { writtenLines: number; skippedLines: number; closedReason?: string };
  /** The journal's disk at the end: size, budget, compression, deletions (journal-keeper.ts). */
  disk?: KeeperStats;
  /** With a table: journal bytes DynamoDB has not acknowledged at the end (they stay on disk). */
  backlogBytes?: number;
  backlogSegments?: number;
}

export interface PipelineHandle {
  /** Resolves once the segment is open and (with a table) the upload stage has read its checkpoint. */
  ready: Promise<void>;
  /** The pipeline's figures: from the upload stage with a table, else from the journal stage. */
  latest(): PipelineStats;
  /** Extra words for the progress line: journal size, upload backlog. */
  progressNote(): string;
  /** For the metrics: journal bytes the uploader has not read yet; undefined without a table. */
  backlog(): { backlogBytes: number } | undefined;
  /** For the metrics: the journal's disk (size, budget, free space); undefined before the first report. */
  disk(): KeeperStats | undefined;
  /**
   * Hands an order book snapshot to the Worker (its body's buffer is transferred: do not use it after):
   * the journal stage journals it, or without a journal the upload stage stores it. False when no
   * stage can take it (the run is ending).
   */
  storeSnapshot(snapshot: SnapshotDelivery): boolean;
  /** Keeps a frame the queue refused (too large) in the quarantine. */
  quarantineFrame(code: "E_FRAME_OVERSIZE", reason: string, frame: string | Uint8Array, rxMicros: number): void;
  /** After the ring is closed: journal (with the leftovers), then upload, within the plan's bounds. */
  finished(plan: ShutdownPlan): Promise<ConsumerEnd>;
}

const MIB = 1024 * 1024;

/** Starts the pipeline Worker; see the file comment for the order of things. */
export function startPipeline(createWorker: () => Worker, config: PipelineConfig): PipelineHandle {
  const segments = config.journal?.kind === "segments" ? config.journal : undefined;
  const journalDir = segments?.settings.dir;
  const signal = createJournalSignal();
  const counters = journalCounters(signal);
  const journalReady = Promise.withResolvers<void>();
  const journalDone = Promise.withResolvers<{ error?: ObcapError }>();
  const uploaderReady = Promise.withResolvers<void>();
  const uploaderDone = Promise.withResolvers<{ error?: ObcapError; complete: boolean }>();
  let journalStats: JournalStats | undefined;
  let uploadStats: UploaderStats | undefined;
  let uploaderEnded = false;
  let mainQuarantine: Quarantine | undefined;
  let quarantinedHere = 0;

  const fail = (error: ObcapError, ready: PromiseWithResolvers<void>) => {
    ready.reject(error);
    config.onFatal(error);
  };

  let teeSkippedLogged = 0;
  const onJournalMessage = (message: JournalStageMessage) => {
    if (message.type === "snapshot") {
      config.onSnapshot?.(message.report);
      return;
    }
    if (message.type === "warning") {
      log.warn(message.message);
      return;
    }
    if (message.type === "tee-skipped") {
      // At most one line a second (the stage throttles), and only while the count grows.
      if (message.skippedLines > teeSkippedLogged) {
        log.warn(
          `--out ${message.reason ? `stopped: ${message.reason}` : "is behind (its reader does not keep up)"}: ${message.skippedLines} lines skipped so far; ` +
            `the journal${config.upload ? " and the table" : ""} have every frame`,
        );
        teeSkippedLogged = message.skippedLines;
      }
      return;
    }
    journalStats = message.stats;
    switch (message.type) {
      case "ready":
        journalWasReady = true;
        if (segments) log.info(`journal ${segments.settings.dir}: writing segment ${message.segment} (fsync every ${segments.settings.fsyncMs} ms)`);
        journalReady.resolve();
        return;
      case "progress":
        return;
      case "fatal": {
        const error = obcapError(knownErrorCode(message.code), message.message);
        journalDone.resolve({ error });
        fail(error, journalReady);
        // The upload stage starts only after the journal stage is ready.
        if (!uploaderEnded) uploaderReady.resolve();
        return;
      }
      case "done":
        journalDone.resolve({});
        return;
    }
  };

  let uploaderWasReady = false;
  let journalWasReady = false;
  /** The Worker runs the upload stage: at once without a journal, after the journal stage's ready with one. */
  const uploadStarted = () => !journalInit || journalWasReady;
  const onUploaderMessage = (message: UploaderMessage) => {
    switch (message.type) {
      case "table":
        log.info(message.layout === "packed"
          ? `table ${message.table}: packed layout, events written in windows of ${message.packMs} ms of exchange time`
          : `table ${message.table}: ${message.shards} shards per pair, stream and hour`);
        return;
      case "ready": {
        uploaderWasReady = true;
        uploadStats = message.stats;
        if (message.note) log.warn(message.note);
        const { backlogBytes, backlogSegments } = message.stats;
        const from = message.resumeAt ? `${message.resumeAt.segment} byte ${message.resumeAt.offset}` : "its oldest segment";
        if (journalDir && backlogBytes > 0) {
          log.info(`journal ${journalDir}: ${(backlogBytes / MIB).toFixed(1)} MiB in ${backlogSegments} segment(s) not yet in DynamoDB; uploading them first, from ${from}`);
        }
        uploaderReady.resolve();
        return;
      }
      case "progress":
        uploadStats = message.stats;
        return;
      case "rejected":
        log.warn(`frame rejected${journalDir ? " and quarantined" : ""} (${message.code}, #${message.count}): ${message.message}`);
        return;
      case "unknown-kind":
        log.warn(`frames of kind ${message.kind} are not stored (counted); first: ${message.sample}`);
        return;
      case "snapshot":
        config.onSnapshot?.(message.report);
        return;
      case "retry":
      case "concurrency":
        log.debug(message.message);
        return;
      case "note":
        log.warn(message.message);
        return;
      case "fatal": {
        uploadStats = message.stats;
        uploaderEnded = true;
        // Before ready it is the start-up's table check: nothing was captured yet.
        const error = obcapError(knownErrorCode(message.code), `${message.message}${journalDir && uploaderWasReady ? `; ${keptNote(journalDir)}` : ""}`);
        uploaderDone.resolve({ error, complete: false });
        fail(error, uploaderReady);
        return;
      }
      case "done":
        uploadStats = message.stats;
        uploaderEnded = true;
        uploaderDone.resolve({ complete: message.complete });
        return;
    }
  };

  const worker = createWorker();
  const send = (control: PipelineControl, transfer: ArrayBuffer[] = []) => worker.postMessage(control, transfer);
  /** After `finish` went to a stage, a snapshot could no longer be taken in order. */
  let finishing = false;
  worker.onmessage = (ev: MessageEvent<PipelineMessage>) => {
    const data = ev.data;
    if (data.stage === "journal") onJournalMessage(data.message);
    else onUploaderMessage(data.message);
  };
  worker.onerror = (ev: ErrorEvent) => {
    const error = obcapError("E_WORKER_FAILED", `the pipeline worker failed: ${ev.message}${journalDir ? `; ${keptNote(journalDir)}` : ""}`);
    journalDone.resolve({ error });
    uploaderEnded = true;
    uploaderDone.resolve({ error, complete: false });
    journalReady.reject(error);
    uploaderReady.reject(error);
    config.onFatal(error);
  };

  const journalInit: JournalStageInit | undefined = config.journal
    ? {
        ring: config.ring,
        signal,
        progressEveryMs: config.progressEveryMs,
        channels: config.channels,
        output: config.journal.kind === "segments"
          ? { kind: "segments", journal: config.journal.settings, pid: config.pid, budget: config.journal.budget, tee: config.journal.tee }
          : { kind: "stream", path: config.journal.path },
      }
    : undefined;
  const uploadInit: UploaderInit | undefined = config.upload
    ? {
        type: "init",
        source: segments ? { kind: "journal", signal, journal: segments.settings } : { kind: "ring", ring: config.ring, channels: config.channels },
        target: config.upload,
        lingerMs: config.lingerMs,
        progressEveryMs: config.progressEveryMs,
        checkpointEveryMs: 1000,
      }
    : undefined;
  const init: PipelineInit = { type: "init", ...(journalInit ? { journal: journalInit } : {}), ...(uploadInit ? { upload: uploadInit } : {}) };
  worker.postMessage(init);
  if (!journalInit) journalReady.resolve();
  if (!uploadInit) uploaderReady.resolve();
  journalReady.promise.catch(() => {});
  uploaderReady.promise.catch(() => {});

  const summary = (): JournalSummary | undefined => {
    if (!segments) return undefined;
    return {
      dir: segments.settings.dir,
      frames: journalStats?.frames ?? 0,
      bytes: journalStats?.bytes ?? 0,
      segmentsOpened: journalStats?.segmentsOpened ?? 0,
      fsyncs: journalStats?.fsyncs ?? 0,
      maxFsyncMs: journalStats?.maxFsyncMs ?? 0,
      quarantined: quarantinedHere + (uploadStats?.quarantined ?? 0),
      ownLines: journalStats?.ownLines ?? 0,
      ...(journalStats?.snapshotLines ? { snapshotLines: journalStats.snapshotLines } : {}),
      ...(journalStats?.tee ? { tee: journalStats.tee } : {}),
      ...(journalStats?.disk ? { disk: journalStats.disk } : {}),
      ...(config.upload ? { backlogBytes: uploadStats?.backlogBytes ?? 0, backlogSegments: uploadStats?.backlogSegments ?? 0 } : {}),
    };
  };

  const latest = (): PipelineStats => {
    if (config.upload) return uploadStats ?? emptyPipelineStats();
    const stats = emptyPipelineStats();
    stats.frames = journalStats?.frames ?? 0;
    // Journal lines, order book snapshot records left out (as their chunks are with a table).
    stats.written = (journalStats?.lines ?? 0) - (journalStats?.snapshotLines ?? 0);
    return stats;
  };

  return {
    ready: Promise.all([journalReady.promise, uploaderReady.promise]).then(() => undefined),
    latest,
    backlog: () => (config.upload && segments ? { backlogBytes: uploadStats?.backlogBytes ?? 0 } : undefined),
    disk: () => journalStats?.disk,
    progressNote() {
      if (!segments) return "";
      const d = journalStats?.disk;
      const size = d
        ? `journal ${describeBytes(d.journalBytes)} of ${describeBytes(d.budgetBytes)}, disk free ${describeBytes(d.freeBytes)}` +
          (d.hoursLeft === undefined ? "" : `, ~${d.hoursLeft < 100 ? d.hoursLeft.toFixed(1) : Math.round(d.hoursLeft)} h left`)
        : `journal ${((journalStats?.bytes ?? 0) / MIB).toFixed(1)} MiB`;
      if (!config.upload) return size;
      return `${size}, upload backlog ${((uploadStats?.backlogBytes ?? 0) / MIB).toFixed(1)} MiB, quarantined ${summary()?.quarantined ?? 0}`;
    },
    storeSnapshot(snapshot) {
      if (finishing) return false;
      // A view of part of a larger buffer cannot be transferred alone: copy that rare case.
      const body = snapshot.body.byteOffset === 0 && snapshot.body.byteLength === snapshot.body.buffer.byteLength ? snapshot.body : snapshot.body.slice();
      const message = { ...snapshot, body };
      const transfer = body.buffer instanceof ArrayBuffer ? [body.buffer] : [];
      if (journalInit) send({ stage: "journal", message: { type: "snapshot", snapshot: message } }, transfer);
      else if (uploadInit && !uploaderEnded) send({ stage: "upload", message: { type: "snapshot", snapshot: message } }, transfer);
      else return false;
      return true;
    },
    quarantineFrame(code, reason, frame, rxMicros) {
      if (!journalDir) return;
      try {
        mainQuarantine ??= new Quarantine(journalDir);
        mainQuarantine.add({ code, reason, rxMicros, content: frame, isFrame: true });
        quarantinedHere++;
      } catch (err) {
        log.error(`cannot write the quarantine in ${journalDir}: ${(err as Error).message}`);
      }
    },
    async finished(plan) {
      finishing = true;
      let error: ObcapError | undefined;
      let journalEnd: { error?: ObcapError } | undefined = {};
      if (journalInit) {
        send({ stage: "journal", message: { type: "finish", leftovers: plan.leftovers } });
        journalEnd = await withTimeout(journalDone.promise, plan.abandonAtMs - Date.now());
        if (!journalEnd) {
          log.warn(`the journal is still writing at the shutdown deadline: the frames left in the queue are recorded as a "shutdown" gap instead (raise --shutdown-ms, or check the disk of ${journalDir ?? "the --out file"})`);
          counters.requestAbandon();
          journalEnd = await withTimeout(journalDone.promise, plan.consumerEndMs - Date.now());
        }
        mainQuarantine?.close();
        error = journalEnd?.error;
        if (!journalEnd) {
          log.error(`the pipeline worker did not finish the journal by the end of --shutdown-ms (the disk of ${journalDir ?? "the --out file"} does not answer); the frames it had not written are counted as lost`);
        }
      }
      // The upload stage starts once the journal stage is ready: if that never happened, there is no upload to wait for.
      if (uploadInit && !uploaderEnded && journalEnd && uploadStarted()) {
        if (!error) send({ stage: "upload", message: { type: "finish", ...(journalInit ? {} : { leftovers: plan.leftovers }) } });
        // Keep a moment for the checkpoint after an abort.
        const marginMs = Math.min(1000, Math.max(100, (plan.endMs - Date.now()) / 10));
        let end = await withTimeout(uploaderDone.promise, plan.endMs - marginMs - Date.now());
        if (!end) {
          send({ stage: "upload", message: { type: "abort" } });
          end = await withTimeout(uploaderDone.promise, marginMs);
          if (!journalInit) {
            log.error(`the upload did not finish within --shutdown-ms (DynamoDB is too slow); what it had not written is lost`);
          }
        }
        error ??= end?.error;
      }
      worker.terminate();
      const journalSummary = summary();
      if (config.upload && (journalSummary?.backlogBytes ?? 0) > 0) {
        log.warn(
          `${((journalSummary?.backlogBytes ?? 0) / MIB).toFixed(1)} MiB of the journal (${journalSummary?.backlogSegments} segment(s)) ` +
            `are not in DynamoDB yet: they stay in ${journalDir} and the next start uploads them first`,
        );
      }
      const stats = latest();
      return {
        stats,
        ...(error ? { error } : {}),
        ...(journalSummary ? { journal: journalSummary } : {}),
        // Kept: journaled (or written to --out); without a journal, what DynamoDB settled.
        settledFrames: journalInit ? counters.journaled() : stats.settledFrames ?? 0,
        abandonedFrames: counters.abandoned(),
      };
    },
  };
}

function keptNote(dir: string): string {
  return `every frame received is kept in the journal ${dir}, and the next start uploads what DynamoDB did not acknowledge`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms <= 0) return Promise.race([promise, Promise.resolve(undefined)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
