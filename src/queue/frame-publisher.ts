/**
 * FramePublisher: what the WebSocket handler calls for every frame. It never blocks the capture
 * thread and never drops a frame silently. Web standards only.
 *
 * Full-queue policy, in order:
 * 1. The ring has room: the frame is written to it.
 * 2. The ring is full: the frame waits in an in-memory overflow FIFO bounded by `overflowBytes`
 *    (UTF-8 bytes, default 16 MiB). The overflow is moved into the ring, oldest first, at every
 *    publish and on a short timer (`retryIntervalMs`, armed only while the overflow is not empty).
 *    While it holds frames, new frames queue behind it, so order is always preserved.
 * 3. The overflow is full too: the frame is dropped and counted (`lostFrames`, `lostBytes`). A loss
 *    episode runs from the first drop until the overflow is empty again; it records the first and
 *    last rxMicros dropped, so readers can mark [first, last] as a gap (frames in that interval may
 *    be missing; frames outside it are all present). `onLoss` is called with phase "started" at the
 *    first drop, "continuing" at most once per `lossReportIntervalMs` (1 s) while drops go on, and
 *    "ended" once the overflow has drained. The default onLoss prints one console.error line.
 * Oversize frames (bigger than the ring's largest record, a quarter of the ring) are never queued:
 * they are counted in `oversizeFrames` and passed to `onOversize` with their first 200 characters.
 *
 * close() moves what it can into the ring, then closes it. If a slow consumer leaves frames in the
 * overflow, the returned promise resolves once they are in the ring, or after `deadlineMs`, when the
 * rest count as lost (reported through onLoss). Frames published while close() is flushing queue
 * behind the overflow; frames published after the ring is closed count as lost.
 */
import { RingProducer, RingRecordTooLargeError, utf8ByteLength } from "./ring.ts";

/** A loss report: counts are for the current episode, `total*` since the publisher was created. */
export interface LossInfo {
  phase: "started" | "continuing" | "ended";
  lostFrames: number;
  lostBytes: number;
  firstLostRxMicros: number;
  lastLostRxMicros: number;
  totalLostFrames: number;
  totalLostBytes: number;
}

export interface OversizeInfo {
  rxMicros: number;
  frameBytes: number;
  maxPayloadBytes: number;
  /** First 200 characters of the frame, for the log line. */
  preview: string;
  /** The frame itself, valid during the callback only (a caller may keep it in a quarantine file). */
  frame: string | Uint8Array;
  totalOversizeFrames: number;
}

/** The timer functions the publisher uses; tests pass a manual one. */
export interface PublisherTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface FramePublisherOptions {
  /** Bound of the overflow FIFO in UTF-8 bytes; 0 disables it. Default 16 MiB. */
  overflowBytes?: number;
  /** Delay between retries while the overflow holds frames. Default 2 ms. */
  retryIntervalMs?: number;
  /** Minimum interval between two "continuing" loss reports. Default 1000 ms. */
  lossReportIntervalMs?: number;
  onLoss?: (info: LossInfo) => void;
  onOversize?: (info: OversizeInfo) => void;
  /** Monotonic clock in ms. Default performance.now. */
  nowMs?: () => number;
  timers?: PublisherTimers;
}

export interface FramePublisherStats {
  /** Frames written into the ring, directly or after waiting in the overflow. */
  published: number;
  /** Frames that waited in the overflow (written since, still waiting, or lost at close). */
  overflowed: number;
  overflowDepthFrames: number;
  overflowBytes: number;
  overflowHighWaterBytes: number;
  lostFrames: number;
  lostBytes: number;
  oversizeFrames: number;
  ringUsedBytes: number;
  ringHighWaterBytes: number;
}

export const DEFAULT_OVERFLOW_BYTES = 16 * 1024 * 1024;
const PREVIEW_CHARS = 200;

type Frame = string | Uint8Array;

interface LossEpisode {
  lostFrames: number;
  lostBytes: number;
  firstLostRxMicros: number;
  lastLostRxMicros: number;
  lastReportMs: number;
}

const realTimers: PublisherTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function consoleOnLoss(info: LossInfo): void {
  console.error(
    `obcap queue: frames lost (${info.phase}): ${info.lostFrames} frames, ${info.lostBytes} bytes, rxMicros ${info.firstLostRxMicros}..${info.lastLostRxMicros}; the writer is too slow for the feed, enlarge the ring or the overflow`,
  );
}

/** Publishes frames into a ring without blocking; see the policy in this file's header. */
export class FramePublisher {
  readonly #producer: RingProducer;
  readonly #overflowLimitBytes: number;
  readonly #retryIntervalMs: number;
  readonly #lossReportIntervalMs: number;
  readonly #onLoss: (info: LossInfo) => void;
  readonly #onOversize: (info: OversizeInfo) => void;
  readonly #nowMs: () => number;
  readonly #timers: PublisherTimers;

  // Overflow FIFO: parallel arrays read from #queueHead, compacted when half is consumed.
  #frames: Frame[] = [];
  #rxMicros: number[] = [];
  #sizes: number[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #retryTimer: unknown = undefined;
  #episode: LossEpisode | undefined = undefined;
  #closing: Promise<void> | undefined = undefined;
  #finishClose: (() => void) | undefined = undefined;
  #deadlineTimer: unknown = undefined;
  #ringClosed = false;

  #published = 0;
  #overflowed = 0;
  #overflowHighWaterBytes = 0;
  #lostFrames = 0;
  #lostBytes = 0;
  #oversizeFrames = 0;

  constructor(producer: RingProducer, options: FramePublisherOptions = {}) {
    const overflowBytes = options.overflowBytes ?? DEFAULT_OVERFLOW_BYTES;
    if (!Number.isSafeInteger(overflowBytes) || overflowBytes < 0) throw new RangeError(`overflowBytes ${overflowBytes} is invalid: use a whole number of bytes >= 0`);
    this.#producer = producer;
    this.#overflowLimitBytes = overflowBytes;
    this.#retryIntervalMs = options.retryIntervalMs ?? 2;
    this.#lossReportIntervalMs = options.lossReportIntervalMs ?? 1000;
    this.#onLoss = options.onLoss ?? consoleOnLoss;
    this.#onOversize = options.onOversize ?? (() => {});
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#timers = options.timers ?? realTimers;
  }

  /** Publishes a text frame (the ring stores its UTF-8 bytes). Never throws for a full queue. */
  publish(text: string, rxMicros: number): void {
    this.#publish(text, rxMicros);
  }

  /** Publishes a binary frame. The bytes are copied (into the ring, or into the overflow). */
  publishBytes(bytes: Uint8Array, rxMicros: number): void {
    this.#publish(bytes, rxMicros);
  }

  stats(): FramePublisherStats {
    return {
      published: this.#published,
      overflowed: this.#overflowed,
      overflowDepthFrames: this.#frames.length - this.#queueHead,
      overflowBytes: this.#queuedBytes,
      overflowHighWaterBytes: this.#overflowHighWaterBytes,
      lostFrames: this.#lostFrames,
      lostBytes: this.#lostBytes,
      oversizeFrames: this.#oversizeFrames,
      ringUsedBytes: this.#producer.usedBytes(),
      ringHighWaterBytes: this.#producer.highWaterBytes(),
    };
  }

  /**
   * Flushes the overflow into the ring, then closes the ring. Resolves at once when the overflow is
   * empty; otherwise once it has drained, or after `deadlineMs` (the frames left count as lost).
   * Calling it again returns the same promise.
   */
  close(deadlineMs = 5000): Promise<void> {
    if (this.#closing) return this.#closing;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#closing = promise;
    this.#finishClose = resolve;
    this.#pump();
    if (!this.#ringClosed) this.#deadlineTimer = this.#timers.setTimeout(() => this.#closeOnDeadline(), deadlineMs);
    return promise;
  }

  #publish(frame: Frame, rxMicros: number): void {
    if (this.#queueHead < this.#frames.length) this.#pump();
    if (this.#ringClosed) {
      this.#lose(frameBytes(frame), rxMicros);
      this.#endEpisode();
      return;
    }
    if (this.#queueHead === this.#frames.length) {
      try {
        if (this.#push(frame, rxMicros)) {
          if (this.#episode) this.#endEpisode(); // overflow disabled (0 bytes): the ring took a frame again
          return;
        }
      } catch (err) {
        if (!(err instanceof RingRecordTooLargeError)) throw err;
        this.#reportOversize(frame, err.recordBytes, rxMicros);
        return;
      }
    }
    const bytes = frameBytes(frame);
    if (bytes > this.#producer.maxPayloadBytes) {
      this.#reportOversize(frame, bytes, rxMicros);
      return;
    }
    if (this.#queuedBytes + bytes > this.#overflowLimitBytes) {
      this.#lose(bytes, rxMicros);
      return;
    }
    this.#frames.push(typeof frame === "string" ? frame : frame.slice()); // the caller may reuse its buffer
    this.#rxMicros.push(rxMicros);
    this.#sizes.push(bytes);
    this.#queuedBytes += bytes;
    this.#overflowed++;
    if (this.#queuedBytes > this.#overflowHighWaterBytes) this.#overflowHighWaterBytes = this.#queuedBytes;
    this.#armRetry();
  }

  #push(frame: Frame, rxMicros: number): boolean {
    const ok = typeof frame === "string" ? this.#producer.tryPushText(frame, rxMicros) : this.#producer.tryPushBytes(frame, rxMicros);
    if (ok) this.#published++;
    return ok;
  }

  /** Moves overflow frames into the ring in order until it is full or the overflow is empty. */
  #pump(): void {
    let head = this.#queueHead;
    const frames = this.#frames;
    while (head < frames.length && this.#push(frames[head] as Frame, this.#rxMicros[head] as number)) {
      this.#queuedBytes -= this.#sizes[head] as number;
      frames[head] = ""; // release the string or buffer now
      head++;
    }
    this.#queueHead = head;
    if (head === frames.length) {
      this.#frames = [];
      this.#rxMicros = [];
      this.#sizes = [];
      this.#queueHead = 0;
      this.#cancelRetry();
      this.#endEpisode();
      if (this.#closing && !this.#ringClosed) this.#closeRing();
      return;
    }
    if (head > 1024 && head * 2 > frames.length) {
      frames.splice(0, head);
      this.#rxMicros.splice(0, head);
      this.#sizes.splice(0, head);
      this.#queueHead = 0;
    }
    this.#armRetry();
  }

  #armRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#ringClosed) this.#pump();
    }, this.#retryIntervalMs);
  }

  #cancelRetry(): void {
    if (this.#retryTimer === undefined) return;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #lose(bytes: number, rxMicros: number): void {
    this.#lostFrames++;
    this.#lostBytes += bytes;
    const now = this.#nowMs();
    const episode = this.#episode;
    if (!episode) {
      this.#episode = { lostFrames: 1, lostBytes: bytes, firstLostRxMicros: rxMicros, lastLostRxMicros: rxMicros, lastReportMs: now };
      this.#report("started");
      return;
    }
    episode.lostFrames++;
    episode.lostBytes += bytes;
    episode.lastLostRxMicros = rxMicros;
    if (now - episode.lastReportMs >= this.#lossReportIntervalMs) {
      episode.lastReportMs = now;
      this.#report("continuing");
    }
  }

  #endEpisode(): void {
    if (!this.#episode) return;
    this.#report("ended");
    this.#episode = undefined;
  }

  #report(phase: LossInfo["phase"]): void {
    const episode = this.#episode as LossEpisode;
    this.#onLoss({
      phase,
      lostFrames: episode.lostFrames,
      lostBytes: episode.lostBytes,
      firstLostRxMicros: episode.firstLostRxMicros,
      lastLostRxMicros: episode.lastLostRxMicros,
      totalLostFrames: this.#lostFrames,
      totalLostBytes: this.#lostBytes,
    });
  }

  #reportOversize(frame: Frame, bytes: number, rxMicros: number): void {
    this.#oversizeFrames++;
    const preview = typeof frame === "string" ? frame.slice(0, PREVIEW_CHARS) : new TextDecoder().decode(frame.subarray(0, PREVIEW_CHARS * 4)).slice(0, PREVIEW_CHARS);
    this.#onOversize({ rxMicros, frameBytes: bytes, maxPayloadBytes: this.#producer.maxPayloadBytes, preview, frame, totalOversizeFrames: this.#oversizeFrames });
  }

  #closeOnDeadline(): void {
    this.#deadlineTimer = undefined;
    if (this.#ringClosed) return;
    for (let i = this.#queueHead; i < this.#frames.length; i++) this.#lose(this.#sizes[i] as number, this.#rxMicros[i] as number);
    this.#frames = [];
    this.#rxMicros = [];
    this.#sizes = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#cancelRetry();
    this.#endEpisode();
    this.#closeRing();
  }

  #closeRing(): void {
    this.#ringClosed = true;
    if (this.#deadlineTimer !== undefined) this.#timers.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#producer.close();
    this.#finishClose?.();
  }
}

function frameBytes(frame: Frame): number {
  return typeof frame === "string" ? utf8ByteLength(frame) : frame.length;
}
