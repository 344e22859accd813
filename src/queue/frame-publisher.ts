/**
 * FramePublisher: what the WebSocket handler calls for every frame. It never blocks the capture
 * thread and never drops a frame silently. Web standards only.
 *
 * The ring carries three kinds of records ({@link RECORD_KIND}): frames from the exchange, obcap's own
 * records (gap records: never dropped), and loss markers (how many frames were dropped here, and when).
 *
 * Full-queue policy, in order:
 * 1. The ring has room: the frame is written to it.
 * 2. The ring is full: the frame waits in an in-memory overflow FIFO bounded by `overflowBytes`
 *    (UTF-8 bytes, default 16 MiB). The overflow is moved into the ring, oldest first, at every
 *    publish and on a short timer (`retryIntervalMs`, armed only while the overflow is not empty).
 *    While it holds records, new ones queue behind it, so order is always preserved.
 * 3. The overflow is full too: the frame is dropped and counted (`lostFrames`, `lostBytes`).
 *
 * Loss markers. Drops since the last marker form a pending loss [first, last receive time, count].
 * Before the next frame is accepted (into the ring or the overflow), a loss marker for the pending
 * loss is queued in front of it. So the consumer meets the marker before any frame received after the
 * drops, and the journal can never hold a frame received after a loss without the loss's record
 * (what a kill at any moment relies on: obcap's restart gap starts at the last journaled frame).
 * Markers and own records never count as lost: they may exceed the overflow's bound by their size.
 *
 * Reporting (for the log): a loss episode runs from the first drop until the overflow is empty
 * again; `onLoss` gets "started" at the first drop, "continuing" at most once per
 * `lossReportIntervalMs` (1 s) while drops go on, and "ended" once the overflow has drained.
 * Oversize frames (bigger than the ring's largest record, a quarter of the ring) are never queued:
 * they are counted in `oversizeFrames` and passed to `onOversize`.
 *
 * Holding: a publisher created with `holding` queues everything in the overflow until `release()`,
 * which puts the records it is given in front (the capture's restart records: they must precede every
 * frame of the run in the journal).
 *
 * close() moves what it can into the ring, queues the last loss marker, then closes the ring. If a
 * slow consumer leaves records in the overflow, close resolves once they are in the ring, or at the
 * deadline: the frames left count as lost, and the own records and a loss marker covering every frame
 * dropped are returned as `leftovers`, for the caller to hand to the consumer another way. Frames
 * published after the ring is closed count as lost (`lostAfterClose`), with no record.
 */
import { RingProducer, RingRecordTooLargeError, utf8ByteLength } from "./ring.ts";

/** What a ring record holds (the ring's record header carries it). */
export const RECORD_KIND = {
  /** A frame from the exchange, bytes as received. */
  frame: 0,
  /** One of obcap's own records: compact JSON text (a gap record). */
  own: 1,
  /** A loss marker: {@link LOSS_PAYLOAD_BYTES} bytes, see {@link encodeLoss}. */
  loss: 2,
} as const;

/** A record as it travels: in the ring, or handed over outside it (`leftovers`). */
export interface QueueRecord {
  kind: number;
  rxMicros: number;
  payload: string | Uint8Array;
}

/** Frames dropped before the ring: receive times of the first and last, count and bytes. */
export interface LossRun {
  firstRxMicros: number;
  lastRxMicros: number;
  frames: number;
  bytes: number;
}

const LOSS_PAYLOAD_BYTES = 32;

/** A loss marker's payload: four float64 (first rx, last rx, frames, bytes), little endian. */
export function encodeLoss(loss: LossRun): Uint8Array {
  const bytes = new Uint8Array(LOSS_PAYLOAD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, loss.firstRxMicros, true);
  view.setFloat64(8, loss.lastRxMicros, true);
  view.setFloat64(16, loss.frames, true);
  view.setFloat64(24, loss.bytes, true);
  return bytes;
}

/** Reads {@link encodeLoss}'s payload; undefined when `bytes` is not one. */
export function decodeLoss(bytes: Uint8Array): LossRun | undefined {
  if (bytes.length !== LOSS_PAYLOAD_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { firstRxMicros: view.getFloat64(0, true), lastRxMicros: view.getFloat64(8, true), frames: view.getFloat64(16, true), bytes: view.getFloat64(24, true) };
}

/** `into` extended to cover `more` too. */
export function mergeLoss(into: LossRun | undefined, more: LossRun): LossRun {
  if (into === undefined) return { ...more };
  return {
    firstRxMicros: Math.min(into.firstRxMicros, more.firstRxMicros),
    lastRxMicros: Math.max(into.lastRxMicros, more.lastRxMicros),
    frames: into.frames + more.frames,
    bytes: into.bytes + more.bytes,
  };
}

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
  /** Queue everything in the overflow until `release()`. Default false. */
  holding?: boolean;
  onLoss?: (info: LossInfo) => void;
  onOversize?: (info: OversizeInfo) => void;
  /** Monotonic clock in ms. Default performance.now. */
  nowMs?: () => number;
  timers?: PublisherTimers;
}

export interface FramePublisherStats {
  /** Frames written into the ring, directly or after waiting in the overflow. */
  published: number;
  /** Own records and loss markers written into the ring. */
  ownPublished: number;
  /** Frames that waited in the overflow (written since, still waiting, or lost at close). */
  overflowed: number;
  overflowDepthFrames: number;
  overflowBytes: number;
  overflowHighWaterBytes: number;
  /** Frames dropped (overflow full, left at the close deadline, or published after the close). */
  lostFrames: number;
  lostBytes: number;
  /** Of `lostFrames`: published after the ring was closed (no record covers them). */
  lostAfterClose: number;
  oversizeFrames: number;
  ringUsedBytes: number;
  ringHighWaterBytes: number;
}

/** What close() resolves with. */
export interface CloseResult {
  /** Own records and the last loss marker that did not fit in the ring before the deadline, in order. */
  leftovers: QueueRecord[];
}

export const DEFAULT_OVERFLOW_BYTES = 16 * 1024 * 1024;
const PREVIEW_CHARS = 200;

type Payload = string | Uint8Array;

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
  #payloads: Payload[] = [];
  #kinds: number[] = [];
  #rxMicros: number[] = [];
  #sizes: number[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #queuedFrames = 0;
  #holding: boolean;
  #retryTimer: unknown = undefined;
  #episode: LossEpisode | undefined = undefined;
  /** Drops not yet covered by a loss marker in the queue. */
  #pendingLoss: LossRun | undefined = undefined;
  #closing: Promise<CloseResult> | undefined = undefined;
  #finishClose: ((result: CloseResult) => void) | undefined = undefined;
  #deadlineTimer: unknown = undefined;
  #ringClosed = false;

  #published = 0;
  #ownPublished = 0;
  #overflowed = 0;
  #overflowHighWaterBytes = 0;
  #lostFrames = 0;
  #lostBytes = 0;
  #lostAfterClose = 0;
  #oversizeFrames = 0;

  constructor(producer: RingProducer, options: FramePublisherOptions = {}) {
    const overflowBytes = options.overflowBytes ?? DEFAULT_OVERFLOW_BYTES;
    if (!Number.isSafeInteger(overflowBytes) || overflowBytes < 0) throw new RangeError(`overflowBytes ${overflowBytes} is invalid: use a whole number of bytes >= 0`);
    this.#producer = producer;
    this.#overflowLimitBytes = overflowBytes;
    this.#retryIntervalMs = options.retryIntervalMs ?? 2;
    this.#lossReportIntervalMs = options.lossReportIntervalMs ?? 1000;
    this.#holding = options.holding ?? false;
    this.#onLoss = options.onLoss ?? consoleOnLoss;
    this.#onOversize = options.onOversize ?? (() => {});
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#timers = options.timers ?? realTimers;
  }

  /** Publishes a text frame (the ring stores its UTF-8 bytes). Never throws for a full queue. */
  publish(text: string, rxMicros: number): void {
    this.#publishFrame(text, rxMicros);
  }

  /** Publishes a binary frame. The bytes are copied (into the ring, or into the overflow). */
  publishBytes(bytes: Uint8Array, rxMicros: number): void {
    this.#publishFrame(bytes, rxMicros);
  }

  /**
   * Publishes one of obcap's own records (compact JSON text). Never dropped: it waits in the overflow
   * whatever its bound; after the ring is closed, close() returns it in `leftovers` (or, published
   * after close resolved, it is returned here as false).
   */
  publishOwn(text: string, rxMicros: number): boolean {
    if (this.#ringClosed) return false;
    this.#offer(RECORD_KIND.own, text, rxMicros, utf8ByteLength(text));
    return true;
  }

  /** Ends holding: `first` goes into the queue in front of everything held, then the queue moves on. */
  release(first: readonly QueueRecord[] = []): void {
    if (!this.#holding) return;
    this.#holding = false;
    if (first.length > 0) {
      const head = this.#queueHead;
      const sizes = first.map((r) => (typeof r.payload === "string" ? utf8ByteLength(r.payload) : r.payload.length));
      this.#payloads.splice(head, 0, ...first.map((r) => r.payload));
      this.#kinds.splice(head, 0, ...first.map((r) => r.kind));
      this.#rxMicros.splice(head, 0, ...first.map((r) => r.rxMicros));
      this.#sizes.splice(head, 0, ...sizes);
      this.#queuedBytes += sizes.reduce((a, b) => a + b, 0);
    }
    this.#pump();
  }

  /** True until `release()` when created with `holding`. */
  isHolding(): boolean {
    return this.#holding;
  }

  stats(): FramePublisherStats {
    return {
      published: this.#published,
      ownPublished: this.#ownPublished,
      overflowed: this.#overflowed,
      overflowDepthFrames: this.#queuedFrames,
      overflowBytes: this.#queuedBytes,
      overflowHighWaterBytes: this.#overflowHighWaterBytes,
      lostFrames: this.#lostFrames,
      lostBytes: this.#lostBytes,
      lostAfterClose: this.#lostAfterClose,
      oversizeFrames: this.#oversizeFrames,
      ringUsedBytes: this.#producer.usedBytes(),
      ringHighWaterBytes: this.#producer.highWaterBytes(),
    };
  }

  /**
   * Flushes the overflow into the ring (ending holding), queues the last loss marker, then closes the
   * ring. Resolves at once when everything fits; otherwise once it has drained, or after `deadlineMs`
   * with the frames left counted as lost and the records left in `leftovers`. Calling it again
   * returns the same promise.
   */
  close(deadlineMs = 5000): Promise<CloseResult> {
    if (this.#closing) return this.#closing;
    const { promise, resolve } = Promise.withResolvers<CloseResult>();
    this.#closing = promise;
    this.#finishClose = resolve;
    this.#holding = false;
    this.#queuePendingLoss();
    this.#pump();
    if (!this.#ringClosed) this.#deadlineTimer = this.#timers.setTimeout(() => this.#closeOnDeadline(), deadlineMs);
    return promise;
  }

  #publishFrame(frame: Payload, rxMicros: number): void {
    if (this.#ringClosed) {
      // No record can follow these any more: counted, and covered by the next run's restart gap.
      this.#lostFrames++;
      this.#lostBytes += frameBytes(frame);
      this.#lostAfterClose++;
      return;
    }
    if (!this.#holding && this.#queueHead === this.#payloads.length) {
      if (this.#pendingLoss === undefined || this.#pushLossMarker()) {
        try {
          if (this.#push(RECORD_KIND.frame, frame, rxMicros)) {
            if (this.#episode) this.#endEpisode(); // overflow disabled (0 bytes): the ring took a frame again
            return;
          }
        } catch (err) {
          if (!(err instanceof RingRecordTooLargeError)) throw err;
          this.#reportOversize(frame, err.recordBytes, rxMicros);
          return;
        }
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
    this.#queuePendingLoss();
    this.#enqueue(RECORD_KIND.frame, typeof frame === "string" ? frame : frame.slice(), rxMicros, bytes); // the caller may reuse its buffer
    this.#overflowed++;
  }

  /** An own record or a loss marker: into the ring if nothing waits, else queued (never dropped). */
  #offer(kind: number, payload: Payload, rxMicros: number, bytes: number): void {
    if (!this.#holding && this.#queueHead === this.#payloads.length && this.#push(kind, payload, rxMicros)) return;
    this.#enqueue(kind, payload, rxMicros, bytes);
  }

  #enqueue(kind: number, payload: Payload, rxMicros: number, bytes: number): void {
    this.#payloads.push(payload);
    this.#kinds.push(kind);
    this.#rxMicros.push(rxMicros);
    this.#sizes.push(bytes);
    this.#queuedBytes += bytes;
    if (kind === RECORD_KIND.frame) this.#queuedFrames++;
    if (this.#queuedBytes > this.#overflowHighWaterBytes) this.#overflowHighWaterBytes = this.#queuedBytes;
    this.#armRetry();
  }

  /** The pending loss as a marker at the tail of the queue (behind it: frames received after the drops). */
  #queuePendingLoss(): void {
    const loss = this.#pendingLoss;
    if (loss === undefined) return;
    this.#pendingLoss = undefined;
    this.#enqueue(RECORD_KIND.loss, encodeLoss(loss), loss.lastRxMicros, LOSS_PAYLOAD_BYTES);
  }

  /** The pending loss as a marker straight into the ring (the queue is empty); false if it did not fit. */
  #pushLossMarker(): boolean {
    const loss = this.#pendingLoss!;
    if (!this.#push(RECORD_KIND.loss, encodeLoss(loss), loss.lastRxMicros)) return false;
    this.#pendingLoss = undefined;
    return true;
  }

  #push(kind: number, payload: Payload, rxMicros: number): boolean {
    const ok = typeof payload === "string" ? this.#producer.tryPushText(payload, rxMicros, kind) : this.#producer.tryPushBytes(payload, rxMicros, kind);
    if (ok) {
      if (kind === RECORD_KIND.frame) this.#published++;
      else this.#ownPublished++;
    }
    return ok;
  }

  /** Moves queued records into the ring in order until it is full or the queue is empty. */
  #pump(): void {
    if (this.#holding || this.#ringClosed) return;
    let head = this.#queueHead;
    const payloads = this.#payloads;
    while (head < payloads.length) {
      const kind = this.#kinds[head] as number;
      let ok: boolean;
      try {
        ok = this.#push(kind, payloads[head] as Payload, this.#rxMicros[head] as number);
      } catch (err) {
        // Only an own record larger than the ring's largest record gets here (frames were sized on entry).
        if (!(err instanceof RingRecordTooLargeError)) throw err;
        ok = true;
        this.#reportOversize(payloads[head] as Payload, err.recordBytes, this.#rxMicros[head] as number);
      }
      if (!ok) break;
      this.#queuedBytes -= this.#sizes[head] as number;
      if (kind === RECORD_KIND.frame) this.#queuedFrames--;
      payloads[head] = ""; // release the string or buffer now
      head++;
    }
    this.#queueHead = head;
    if (head === payloads.length && this.#closing && this.#pendingLoss) {
      // Drops while closing: their marker must reach the ring before it closes.
      this.#clearQueue();
      this.#queuePendingLoss();
      this.#pump();
      return;
    }
    if (head === payloads.length) {
      this.#clearQueue();
      this.#endEpisode();
      if (this.#closing && !this.#ringClosed) this.#closeRing([]);
      return;
    }
    if (head > 1024 && head * 2 > payloads.length) {
      payloads.splice(0, head);
      this.#kinds.splice(0, head);
      this.#rxMicros.splice(0, head);
      this.#sizes.splice(0, head);
      this.#queueHead = 0;
    }
    this.#armRetry();
  }

  #clearQueue(): void {
    this.#payloads = [];
    this.#kinds = [];
    this.#rxMicros = [];
    this.#sizes = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#queuedFrames = 0;
    this.#cancelRetry();
  }

  #armRetry(): void {
    if (this.#retryTimer !== undefined || this.#holding) return;
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
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
    this.#pendingLoss = mergeLoss(this.#pendingLoss, { firstRxMicros: rxMicros, lastRxMicros: rxMicros, frames: 1, bytes });
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

  #reportOversize(frame: Payload, bytes: number, rxMicros: number): void {
    this.#oversizeFrames++;
    const preview = typeof frame === "string" ? frame.slice(0, PREVIEW_CHARS) : new TextDecoder().decode(frame.subarray(0, PREVIEW_CHARS * 4)).slice(0, PREVIEW_CHARS);
    this.#onOversize({ rxMicros, frameBytes: bytes, maxPayloadBytes: this.#producer.maxPayloadBytes, preview, frame, totalOversizeFrames: this.#oversizeFrames });
  }

  /** The deadline passed with records still queued: frames are lost, records are handed back. */
  #closeOnDeadline(): void {
    this.#deadlineTimer = undefined;
    if (this.#ringClosed) return;
    const leftovers: QueueRecord[] = [];
    let loss: LossRun | undefined;
    for (let i = this.#queueHead; i < this.#payloads.length; i++) {
      const kind = this.#kinds[i] as number;
      const rxMicros = this.#rxMicros[i] as number;
      if (kind === RECORD_KIND.frame) {
        this.#lose(this.#sizes[i] as number, rxMicros);
      } else if (kind === RECORD_KIND.loss) {
        const marker = decodeLoss(this.#payloads[i] as Uint8Array);
        if (marker) loss = mergeLoss(loss, marker);
      } else {
        leftovers.push({ kind, rxMicros, payload: this.#payloads[i] as Payload });
      }
    }
    if (this.#pendingLoss) loss = mergeLoss(loss, this.#pendingLoss);
    this.#pendingLoss = undefined;
    if (loss) leftovers.push({ kind: RECORD_KIND.loss, rxMicros: loss.lastRxMicros, payload: encodeLoss(loss) });
    this.#clearQueue();
    this.#endEpisode();
    this.#closeRing(leftovers);
  }

  #closeRing(leftovers: QueueRecord[]): void {
    this.#ringClosed = true;
    if (this.#deadlineTimer !== undefined) this.#timers.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#producer.close();
    this.#finishClose?.({ leftovers });
  }
}

function frameBytes(frame: Payload): number {
  return typeof frame === "string" ? utf8ByteLength(frame) : frame.length;
}
