/**
 * The capture's durable path, main-thread side: starts the journal Worker (ring -> segment files)
 * and, with a table, the uploader Worker (segments -> DynamoDB, checkpoint), relays their messages to
 * the log, and runs the shutdown in order: the journal first (drain the ring, the records that did
 * not fit in it, sync, close), then the upload to the end of the journal within the shutdown bound.
 * What DynamoDB has not acknowledged by then stays in the journal, and the log says how much.
 *
 * The journal's end has two deadlines ({@link ShutdownPlan}): at `abandonAtMs` a journal Worker still
 * busy (a slow disk) is asked to stop writing frames and cover the rest with a "shutdown" gap record;
 * at `consumerEndMs` one that still has not finished (a disk that does not answer) is terminated, and
 * the frames the shared counter does not show as written are counted as lost. Either way the run's
 * figures add up: received = journaled + quarantined + lost. Web standards + `node:fs`.
 *
 *   ring -> journal Worker -> <dir>/segments/*.ndjson -> uploader Worker -> DynamoDB
 *                                                                         -> <dir>/checkpoint.json
 */
import { ERROR_CODES, obcapError, type ObcapError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { Quarantine } from "../journal/quarantine.ts";
import { emptyWriterStats, type WriterStats } from "../pipeline/writer-protocol.ts";
import type { QueueRecord } from "../queue/frame-publisher.ts";
import type { KeeperSettings, KeeperStats } from "../journal/journal-keeper.ts";
import { describeBytes } from "../journal/disk-budget.ts";
import {
  createJournalSignal, journalCounters,
  type JournalSettings, type JournalStats, type JournalWriterControl, type JournalWriterInit, type JournalWriterMessage,
  type UploaderInit, type UploaderMessage, type UploaderStats, type UploaderTarget,
} from "../pipeline/journal-protocol.ts";

export interface JournalWorkers {
  createJournalWorker(): Worker;
  createUploaderWorker(): Worker;
}

export interface JournalPipelineConfig {
  ring: SharedArrayBuffer;
  journal: JournalSettings;
  /** Upload to this table; undefined = the journal is the output. */
  upload: UploaderTarget | undefined;
  /** `--out`: a copy of every line to a file, or stdout (null). */
  tee: { path: string | null } | undefined;
  lingerMs: number;
  progressEveryMs: number;
  /** Goes into segment names. */
  pid: number;
  /** The capture's channels (a loss before the ring is a gap of each). */
  channels: readonly string[];
  /** The disk budget, sizes resolved. */
  budget: KeeperSettings;
  /** A Worker cannot go on (journal I/O, table deleted, credentials): the capture stops. */
  onFatal(error: ObcapError): void;
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
  stats?: WriterStats;
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
  /** `--out`: lines written and lines skipped because its reader was behind or gone. */
  tee?: { writtenLines: number; skippedLines: number; closedReason?: string };
  /** The journal's disk at the end: size, budget, compression, deletions (journal-keeper.ts). */
  disk?: KeeperStats;
  /** With a table: journal bytes DynamoDB has not acknowledged at the end (they stay on disk). */
  backlogBytes?: number;
  backlogSegments?: number;
}

export interface JournalPipeline {
  /** Resolves once the segment is open and (with a table) the uploader has read its checkpoint. */
  ready: Promise<void>;
  /** Figures in the writer's shape: from the uploader with a table, else from the journal. */
  latest(): WriterStats;
  /** Extra words for the progress line: journal size, upload backlog. */
  progressNote(): string;
  /** For the metrics: journal bytes the uploader has not read yet; undefined without a table. */
  backlog(): { backlogBytes: number } | undefined;
  /** For the metrics: the journal's disk (size, budget, free space); undefined before the first report. */
  disk(): KeeperStats | undefined;
  /** Keeps a frame the queue refused (too large) in the quarantine. */
  quarantineFrame(code: "E_FRAME_OVERSIZE", reason: string, frame: string | Uint8Array, rxMicros: number): void;
  /** After the ring is closed: journal (with the leftovers), then upload, within the plan's bounds. */
  finished(plan: ShutdownPlan): Promise<ConsumerEnd>;
}

const MIB = 1024 * 1024;

/** Starts the Workers; see the file comment for the order of things. */
export function startJournalPipeline(workers: JournalWorkers, config: JournalPipelineConfig): JournalPipeline {
  const { journal } = config;
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

  const journalWorker = workers.createJournalWorker();
  let teeSkippedLogged = 0;
  journalWorker.onmessage = (ev: MessageEvent<JournalWriterMessage>) => {
    const message = ev.data;
    if (message.type === "warning") {
      log.warn(message.message);
      return;
    }
    if (message.type === "tee-skipped") {
      // At most one line a second (the Worker throttles), and only while the count grows.
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
        log.info(`journal ${journal.dir}: writing segment ${message.segment} (fsync every ${journal.fsyncMs} ms)`);
        journalReady.resolve();
        return;
      case "progress":
        return;
      case "fatal": {
        const error = obcapError(knownCode(message.code), message.message);
        journalDone.resolve({ error });
        fail(error, journalReady);
        return;
      }
      case "done":
        journalDone.resolve({});
        return;
    }
  };
  journalWorker.onerror = (ev: ErrorEvent) => {
    const error = obcapError("E_WORKER_FAILED", `the journal worker failed: ${ev.message}`);
    journalDone.resolve({ error });
    fail(error, journalReady);
  };
  const journalInit: JournalWriterInit = {
    type: "init", ring: config.ring, signal, journal, pid: config.pid, tee: config.tee, progressEveryMs: config.progressEveryMs, channels: config.channels, budget: config.budget,
  };
  journalWorker.postMessage(journalInit);

  let uploader: Worker | undefined;
  const startUploader = (target: UploaderTarget) => {
    const worker = workers.createUploaderWorker();
    worker.onmessage = (ev: MessageEvent<UploaderMessage>) => onUploaderMessage(ev.data);
    worker.onerror = (ev: ErrorEvent) => {
      uploaderEnded = true;
      const error = obcapError("E_WORKER_FAILED", `the uploader worker failed: ${ev.message}; ${keptNote(journal.dir)}`);
      uploaderDone.resolve({ error, complete: false });
      fail(error, uploaderReady);
    };
    const init: UploaderInit = {
      type: "init", signal, journal, target, lingerMs: config.lingerMs, progressEveryMs: config.progressEveryMs, checkpointEveryMs: 1000,
    };
    worker.postMessage(init);
    return worker;
  };

  const onUploaderMessage = (message: UploaderMessage) => {
    switch (message.type) {
      case "ready": {
        uploadStats = message.stats;
        if (message.note) log.warn(message.note);
        const { backlogBytes, backlogSegments } = message.stats;
        const from = message.resumeAt ? `${message.resumeAt.segment} byte ${message.resumeAt.offset}` : "its oldest segment";
        if (backlogBytes > 0) {
          log.info(`journal ${journal.dir}: ${(backlogBytes / MIB).toFixed(1)} MiB in ${backlogSegments} segment(s) not yet in DynamoDB; uploading them first, from ${from}`);
        }
        uploaderReady.resolve();
        return;
      }
      case "progress":
        uploadStats = message.stats;
        return;
      case "rejected":
        log.warn(`frame rejected and quarantined (${message.code}, #${message.count}): ${message.message}`);
        return;
      case "unknown-kind":
        log.warn(`frames of kind ${message.kind} are not stored (counted); first: ${message.sample}`);
        return;
      case "retry":
        log.debug(message.message);
        return;
      case "note":
        log.warn(message.message);
        return;
      case "fatal": {
        uploadStats = message.stats;
        uploaderEnded = true;
        const error = obcapError(knownCode(message.code), `${message.message}; ${keptNote(journal.dir)}`);
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

  // The uploader starts once the journal has its new segment: every older segment is then finished.
  if (config.upload) {
    const target = config.upload;
    journalReady.promise.then(() => (uploader = startUploader(target)), () => uploaderReady.resolve());
  } else {
    uploaderReady.resolve();
  }
  journalReady.promise.catch(() => {});
  uploaderReady.promise.catch(() => {});

  const summary = (): JournalSummary => ({
    dir: journal.dir,
    frames: journalStats?.frames ?? 0,
    bytes: journalStats?.bytes ?? 0,
    segmentsOpened: journalStats?.segmentsOpened ?? 0,
    fsyncs: journalStats?.fsyncs ?? 0,
    maxFsyncMs: journalStats?.maxFsyncMs ?? 0,
    quarantined: quarantinedHere + (uploadStats?.quarantined ?? 0),
    ownLines: journalStats?.ownLines ?? 0,
    ...(journalStats?.tee ? { tee: journalStats.tee } : {}),
    ...(journalStats?.disk ? { disk: journalStats.disk } : {}),
    ...(config.upload ? { backlogBytes: uploadStats?.backlogBytes ?? 0, backlogSegments: uploadStats?.backlogSegments ?? 0 } : {}),
  });

  const latest = (): WriterStats => {
    if (config.upload) return uploadStats ?? emptyWriterStats();
    const stats = emptyWriterStats();
    stats.frames = journalStats?.frames ?? 0;
    stats.written = journalStats?.lines ?? 0;
    return stats;
  };

  return {
    ready: Promise.all([journalReady.promise, uploaderReady.promise]).then(() => undefined),
    latest,
    backlog: () => (config.upload ? { backlogBytes: uploadStats?.backlogBytes ?? 0 } : undefined),
    disk: () => journalStats?.disk,
    progressNote() {
      const d = journalStats?.disk;
      const size = d
        ? `journal ${describeBytes(d.journalBytes)} of ${describeBytes(d.budgetBytes)}, disk free ${describeBytes(d.freeBytes)}` +
          (d.hoursLeft === undefined ? "" : `, ~${d.hoursLeft < 100 ? d.hoursLeft.toFixed(1) : Math.round(d.hoursLeft)} h left`)
        : `journal ${((journalStats?.bytes ?? 0) / MIB).toFixed(1)} MiB`;
      if (!config.upload) return size;
      return `${size}, upload backlog ${((uploadStats?.backlogBytes ?? 0) / MIB).toFixed(1)} MiB, quarantined ${summary().quarantined}`;
    },
    quarantineFrame(code, reason, frame, rxMicros) {
      try {
        mainQuarantine ??= new Quarantine(journal.dir);
        mainQuarantine.add({ code, reason, rxMicros, content: frame, isFrame: true });
        quarantinedHere++;
      } catch (err) {
        log.error(`cannot write the quarantine in ${journal.dir}: ${(err as Error).message}`);
      }
    },
    async finished(plan) {
      const finish: JournalWriterControl = { type: "finish", leftovers: plan.leftovers };
      journalWorker.postMessage(finish);
      let journalEnd = await withTimeout(journalDone.promise, plan.abandonAtMs - Date.now());
      if (!journalEnd) {
        log.warn(`the journal is still writing at the shutdown deadline: the frames left in the queue are recorded as a "shutdown" gap instead (raise --shutdown-ms, or check the disk of ${journal.dir})`);
        counters.requestAbandon();
        journalEnd = await withTimeout(journalDone.promise, plan.consumerEndMs - Date.now());
      }
      journalWorker.terminate();
      mainQuarantine?.close();
      let error = journalEnd?.error;
      if (!journalEnd) {
        log.error(`the journal worker did not finish by the end of --shutdown-ms (the disk of ${journal.dir} does not answer); the frames it had not written are counted as lost`);
      }
      if (uploader && !uploaderEnded) {
        if (journalEnd && !error) uploader.postMessage({ type: "finish" });
        // Keep a moment for the checkpoint after an abort.
        const marginMs = Math.min(1000, Math.max(100, (plan.endMs - Date.now()) / 10));
        let end = await withTimeout(uploaderDone.promise, plan.endMs - marginMs - Date.now());
        if (!end) {
          uploader.postMessage({ type: "abort" });
          end = await withTimeout(uploaderDone.promise, marginMs);
        }
        error ??= end?.error;
      }
      uploader?.terminate();
      const journalSummary = summary();
      if (config.upload && (journalSummary.backlogBytes ?? 0) > 0) {
        log.warn(
          `${((journalSummary.backlogBytes ?? 0) / MIB).toFixed(1)} MiB of the journal (${journalSummary.backlogSegments} segment(s)) ` +
            `are not in DynamoDB yet: they stay in ${journal.dir} and the next start uploads them first`,
        );
      }
      return {
        stats: latest(),
        ...(error ? { error } : {}),
        journal: journalSummary,
        settledFrames: counters.journaled(),
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

function knownCode(code: string): ObcapError["code"] {
  return (code in ERROR_CODES ? code : "E_WORKER_FAILED") as ObcapError["code"];
}
