/**
 * The upload stage's source with --no-journal: records straight from the ring (frames, obcap's own
 * records, loss markers, which become "overflow" gap records of every channel), then the records
 * the ring could not take before it closed (`leftovers`, from the main thread's finish message).
 * Positions count frames: an own record takes the position of the frame before it, so the
 * acknowledged position is the number of frames settled. There is no checkpoint and no quarantine:
 * a crash loses what is queued, and a frame that cannot be stored is counted and logged.
 *
 * Order book snapshots come in messages (too large for the ring: journal-protocol.ts), as own records
 * read before the next ring records ({@link RingSource.addOwn}).
 */
import { RingConsumer } from "../queue/ring.ts";
import { decodeLoss, RECORD_KIND, type QueueRecord } from "../queue/frame-publisher.ts";
import { gapRecord } from "../model/gap-record.ts";
import type { SourceEntry, UploadSource } from "./upload-source.ts";

const LENIENT_UTF8 = new TextDecoder();
const ENCODER = new TextEncoder();

export class RingSource implements UploadSource<number> {
  readonly name = "the queue";
  private readonly consumer: RingConsumer;
  private frames = 0;
  private leftovers: QueueRecord[] | undefined;
  private leftoversTaken = false;
  private waiting: Promise<void> | undefined;
  private readonly finished = Promise.withResolvers<void>();
  /** Own records that came in messages (snapshots), read before the next ring records. */
  private own: Array<{ record: string; rxMicros: number }> = [];
  private ownArrived: (() => void) | undefined;

  constructor(ring: SharedArrayBuffer, private readonly channels: readonly string[]) {
    this.consumer = new RingConsumer(ring);
  }

  /** The main thread's finish: what did not fit in the ring before it closed. */
  finish(leftovers: QueueRecord[]): void {
    this.leftovers ??= leftovers;
    this.finished.resolve();
  }

  /** An own record (a snapshot record) to read next. */
  addOwn(record: string, rxMicros: number): void {
    this.own.push({ record, rxMicros });
    this.ownArrived?.();
  }

  read(max: number, _final: boolean, take: (entry: SourceEntry, position: number) => void): number {
    if (this.own.length > 0) {
      const own = this.own;
      this.own = [];
      for (const { record, rxMicros } of own) take({ recorded: { kind: "own", rxMicros, record }, raw: ENCODER.encode(record.slice(0, 200)), text: record }, this.frames);
      return own.length;
    }
    const onRecord = (bytes: Uint8Array, rxMicros: number, kind: number) => this.takeRecord(bytes, rxMicros, kind, take);
    const taken = this.consumer.drain(onRecord, max);
    if (taken > 0 || this.leftovers === undefined || this.leftoversTaken || !this.consumer.isClosedAndEmpty()) return taken;
    this.leftoversTaken = true;
    for (const record of this.leftovers) {
      onRecord(typeof record.payload === "string" ? ENCODER.encode(record.payload) : record.payload, record.rxMicros, record.kind);
    }
    return this.leftovers.length;
  }

  isDone(): boolean {
    return this.leftoversTaken && this.consumer.isClosedAndEmpty() && this.own.length === 0;
  }

  waitForData(): Promise<unknown> | undefined {
    if (this.own.length > 0) return undefined;
    const ownArrived = new Promise<void>((resolve) => (this.ownArrived = resolve));
    if (this.consumer.isClosedAndEmpty()) return Promise.race([this.finished.promise, ownArrived]); // only the finish message (or a snapshot) now
    this.waiting ??= this.consumer.waitForData().finally(() => (this.waiting = undefined));
    return Promise.race([this.waiting, ownArrived]);
  }

  housekeeping(): void {}

  end(): void {}

  private takeRecord(bytes: Uint8Array, rxMicros: number, kind: number, take: (entry: SourceEntry, position: number) => void): void {
    if (kind === RECORD_KIND.frame) {
      // The decoder checks UTF-8 strictly (E_FRAME_UTF8), as it does for a journal's b64 line.
      take({ recorded: { kind: "binary", rxMicros, bytes }, raw: bytes }, ++this.frames);
      return;
    }
    if (kind === RECORD_KIND.own) {
      const record = LENIENT_UTF8.decode(bytes);
      take({ recorded: { kind: "own", rxMicros, record }, raw: bytes, text: record }, this.frames);
      return;
    }
    // A loss marker: frames dropped before the ring, an "overflow" gap of every channel.
    const loss = decodeLoss(bytes);
    if (!loss) return;
    const record = gapRecord({ channels: this.channels, startMicros: loss.firstRxMicros, endMicros: loss.lastRxMicros, reason: "overflow" });
    take({ recorded: { kind: "own", rxMicros: Math.trunc(loss.lastRxMicros), record }, raw: bytes, text: record }, this.frames);
  }
}
