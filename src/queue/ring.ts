/**
 * Lock-free single-producer/single-consumer ring of variable-size records over one SharedArrayBuffer.
 * Web standards only (SharedArrayBuffer, Atomics, TextEncoder): runs under Bun, Deno and browsers.
 *
 * The capture thread pushes each WebSocket frame with its receive time; the pipeline Worker drains them.
 * Exactly one {@link RingProducer} and one {@link RingConsumer} may use a ring at a time.
 *
 * Layout (all offsets in bytes, every record 8-byte aligned):
 * ```
 *   0   magic, capacityBytes                      written once by createRing
 *   128 HEAD: write position | CLOSED_BIT         written by the producer only
 *   256 TAIL: read position, WAITING flag         tail written by the consumer; WAITING set by the
 *                                                 consumer, cleared by whichever side sees it first
 *   384 data[capacityBytes]: records
 *       record  = int32 payloadBytes, int32 kind, float64 rxMicros, payload, padding to 8
 *       wrap    = int32 -1 where a record did not fit before the end: the reader jumps to 0
 * ```
 * HEAD and TAIL sit 128 bytes apart (two cache lines: adjacent-line prefetch) so the two threads
 * do not invalidate each other's line on every record. The ring is empty when head == tail; the
 * producer never lets head catch up with tail from behind, so at least 8 bytes always stay free.
 *
 * Memory ordering: record bytes are plain writes made before the producer's `Atomics.store(HEAD)`;
 * the consumer reads them after an `Atomics.load(HEAD)` that saw that store, and Atomics are
 * sequentially consistent, so the bytes are visible. Symmetrically the consumer publishes TAIL only
 * after its callback returned, so the producer never overwrites bytes being read.
 * Wake-up is Dekker-style: the consumer stores WAITING=1 then re-loads HEAD; the producer stores
 * HEAD then loads WAITING. Under sequential consistency at least one of them sees the other's
 * write: either the consumer sees the new head and does not sleep, or the producer sees WAITING
 * and notifies. `Atomics.waitAsync` compares HEAD with the value seen inside the same critical
 * section as `notify`, so a notify cannot fall between the check and the sleep.
 * close() is folded into the HEAD word (CLOSED_BIT) for the same reason: it changes the very word
 * the consumer sleeps on, so a close can never be missed (a separate flag word could be set just
 * after the consumer checked it and just before it went to sleep on an unchanged head).
 */
import { nextMacrotask } from "../base/next-macrotask.ts";

const RING_MAGIC = 0x4f42_5231; // "OBR1": catches a SharedArrayBuffer that is not a ring
const MAGIC_INDEX = 0;
const CAPACITY_INDEX = 1;
const HEAD_INDEX = 128 >> 2;
const TAIL_INDEX = 256 >> 2;
const WAITING_INDEX = TAIL_INDEX + 1;
const DATA_OFFSET_BYTES = 384;

/** Bit 30 of the head word; positions stay below 2^30 because capacity is at most 1 GiB. */
const CLOSED_BIT = 1 << 30;
const POSITION_MASK = CLOSED_BIT - 1;
const WRAP_MARKER = -1;

/** Bytes in front of each payload: length (int32), kind (int32), rxMicros (float64). */
export const RECORD_HEADER_BYTES = 16;
export const MIN_RING_CAPACITY_BYTES = 64 * 1024;
export const MAX_RING_CAPACITY_BYTES = 1024 * 1024 * 1024;

/** Thrown by the push methods for a record that can never fit; a full ring only returns false. */
export class RingRecordTooLargeError extends RangeError {
  readonly recordBytes: number;
  readonly maxPayloadBytes: number;

  constructor(recordBytes: number, maxPayloadBytes: number) {
    super(`ring record of ${recordBytes} bytes exceeds the maximum of ${maxPayloadBytes} bytes (a quarter of the ring); use a larger ring`);
    this.name = "RingRecordTooLargeError";
    this.recordBytes = recordBytes;
    this.maxPayloadBytes = maxPayloadBytes;
  }
}

/**
 * Allocates a ring with `capacityBytes` of record space (plus a 384-byte control block).
 * @throws RangeError unless capacityBytes is an integer multiple of 8 within 64 KiB..1 GiB.
 */
export function createRing(capacityBytes: number): SharedArrayBuffer {
  if (!Number.isInteger(capacityBytes) || capacityBytes < MIN_RING_CAPACITY_BYTES || capacityBytes > MAX_RING_CAPACITY_BYTES || capacityBytes % 8 !== 0) {
    throw new RangeError(`ring capacity ${capacityBytes} bytes is invalid: use a multiple of 8 between ${MIN_RING_CAPACITY_BYTES} (64 KiB) and ${MAX_RING_CAPACITY_BYTES} (1 GiB)`);
  }
  const sab = new SharedArrayBuffer(DATA_OFFSET_BYTES + capacityBytes);
  const i32 = new Int32Array(sab);
  i32[CAPACITY_INDEX] = capacityBytes;
  Atomics.store(i32, MAGIC_INDEX, RING_MAGIC);
  return sab;
}

/** Largest payload a ring of `capacityBytes` accepts. A quarter of the ring: wherever head and tail
 *  stand, a record that size fits once the consumer has caught up, so a push can never stall forever. */
export function maxPayloadBytesFor(capacityBytes: number): number {
  return Math.floor(capacityBytes / 4) - RECORD_HEADER_BYTES;
}

/** Exact UTF-8 length of `text` as TextEncoder writes it (lone surrogates become U+FFFD, 3 bytes). */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 2 units -> 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

interface RingViews {
  capacityBytes: number;
  i32: Int32Array;
  f64: Float64Array;
  u8: Uint8Array;
}

function openRing(sab: SharedArrayBuffer): RingViews {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < DATA_OFFSET_BYTES) throw new TypeError("not a ring: expected a SharedArrayBuffer from createRing()");
  const i32 = new Int32Array(sab);
  const capacityBytes = i32[CAPACITY_INDEX] ?? 0;
  if (Atomics.load(i32, MAGIC_INDEX) !== RING_MAGIC || sab.byteLength !== DATA_OFFSET_BYTES + capacityBytes) {
    throw new TypeError("not a ring: expected a SharedArrayBuffer from createRing()");
  }
  return { capacityBytes, i32, f64: new Float64Array(sab), u8: new Uint8Array(sab) };
}

function align8(bytes: number): number {
  return (bytes + 7) & ~7;
}

/** The writing side. Not thread-safe: one producer per ring. */
export class RingProducer {
  readonly capacityBytes: number;
  /** Largest payload accepted; bigger ones throw {@link RingRecordTooLargeError}. */
  readonly maxPayloadBytes: number;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  readonly #encoder = new TextEncoder();
  #head: number;
  #closed: boolean;
  #tailSeen = 0;
  #highWaterBytes = 0;

  constructor(sab: SharedArrayBuffer) {
    const ring = openRing(sab);
    this.capacityBytes = ring.capacityBytes;
    this.maxPayloadBytes = maxPayloadBytesFor(ring.capacityBytes);
    this.#i32 = ring.i32;
    this.#f64 = ring.f64;
    this.#u8 = ring.u8;
    const head = Atomics.load(ring.i32, HEAD_INDEX);
    this.#head = head & POSITION_MASK;
    this.#closed = (head & CLOSED_BIT) !== 0;
  }

  /**
   * Encodes `text` as UTF-8 straight into ring memory with `TextEncoder.encodeInto`.
   * @returns false when there is no room now (nothing written); true once the record is visible.
   * @throws RingRecordTooLargeError when the encoded text exceeds {@link maxPayloadBytes}.
   * @throws Error after close().
   */
  tryPushText(text: string, rxMicros: number, kind = 0): boolean {
    this.#assertOpen();
    const units = text.length;
    if (units > this.maxPayloadBytes) throw new RingRecordTooLargeError(utf8ByteLength(text), this.maxPayloadBytes);
    // Fast path: reserve the worst case (3 bytes per UTF-16 unit) and skip measuring the text.
    const worstBytes = units * 3;
    if (worstBytes <= this.maxPayloadBytes) {
      const start = this.#reserve(RECORD_HEADER_BYTES + worstBytes);
      if (start >= 0) {
        const at = DATA_OFFSET_BYTES + start + RECORD_HEADER_BYTES;
        const { written } = this.#encoder.encodeInto(text, this.#u8.subarray(at, at + worstBytes));
        this.#commit(start, written, rxMicros, kind);
        return true;
      }
    }
    // Near-full ring or long text: measure exactly, then reserve only what is needed.
    const bytes = utf8ByteLength(text);
    if (bytes > this.maxPayloadBytes) throw new RingRecordTooLargeError(bytes, this.maxPayloadBytes);
    const start = this.#reserve(RECORD_HEADER_BYTES + bytes);
    if (start < 0) return false;
    const at = DATA_OFFSET_BYTES + start + RECORD_HEADER_BYTES;
    this.#encoder.encodeInto(text, this.#u8.subarray(at, at + bytes));
    this.#commit(start, bytes, rxMicros, kind);
    return true;
  }

  /** Copies `bytes` into the ring. Same results and errors as {@link tryPushText}. */
  tryPushBytes(bytes: Uint8Array, rxMicros: number, kind = 0): boolean {
    this.#assertOpen();
    if (bytes.length > this.maxPayloadBytes) throw new RingRecordTooLargeError(bytes.length, this.maxPayloadBytes);
    const start = this.#reserve(RECORD_HEADER_BYTES + bytes.length);
    if (start < 0) return false;
    this.#u8.set(bytes, DATA_OFFSET_BYTES + start + RECORD_HEADER_BYTES);
    this.#commit(start, bytes.length, rxMicros, kind);
    return true;
  }

  /** Marks the ring closed (no more records) and wakes a waiting consumer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#i32, HEAD_INDEX, this.#head | CLOSED_BIT);
    Atomics.notify(this.#i32, HEAD_INDEX);
  }

  isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes not yet freed by the consumer (records, headers, padding, skipped end space). */
  usedBytes(): number {
    return this.#used(Atomics.load(this.#i32, TAIL_INDEX));
  }

  /** Highest {@link usedBytes} observed right after a push. */
  highWaterBytes(): number {
    return this.#highWaterBytes;
  }

  #used(tail: number): number {
    const head = this.#head;
    return head >= tail ? head - tail : this.capacityBytes - tail + head;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("ring producer is closed: no record can be pushed after close()");
  }

  /** Data offset where a record of `recordBytes` (header included) can start, or -1 if no room. */
  #reserve(recordBytes: number): number {
    const size = align8(recordBytes);
    const head = this.#head;
    const tail = Atomics.load(this.#i32, TAIL_INDEX);
    this.#tailSeen = tail;
    if (head >= tail) {
      const end = head + size;
      // Ending exactly at the end moves head to 0, which must not equal the tail.
      if (end < this.capacityBytes || (end === this.capacityBytes && tail !== 0)) return head;
      return size < tail ? 0 : -1; // wrap: the record goes to 0, strictly before the tail
    }
    return head + size < tail ? head : -1;
  }

  #commit(start: number, payloadBytes: number, rxMicros: number, kind: number): void {
    const i32 = this.#i32;
    if (start !== this.#head) i32[(DATA_OFFSET_BYTES + this.#head) >> 2] = WRAP_MARKER;
    const at = DATA_OFFSET_BYTES + start;
    i32[at >> 2] = payloadBytes;
    i32[(at >> 2) + 1] = kind;
    this.#f64[(at + 8) >> 3] = rxMicros;
    let head = start + RECORD_HEADER_BYTES + align8(payloadBytes);
    if (head === this.capacityBytes) head = 0;
    this.#head = head;
    Atomics.store(i32, HEAD_INDEX, head);
    // Plain load first: the exchange (a locked RMW) only runs when the consumer sleeps.
    if (Atomics.load(i32, WAITING_INDEX) !== 0 && Atomics.exchange(i32, WAITING_INDEX, 0) !== 0) {
      Atomics.notify(i32, HEAD_INDEX);
    }
    const used = this.#used(this.#tailSeen);
    if (used > this.#highWaterBytes) this.#highWaterBytes = used;
  }
}

/** How often drain() publishes the tail while it runs, so a long drain frees space early. */
const TAIL_PUBLISH_EVERY_RECORDS = 64;

/** The reading side. Not thread-safe: one consumer per ring, one waitForData() pending at a time. */
export class RingConsumer {
  readonly capacityBytes: number;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  #tail: number;

  constructor(sab: SharedArrayBuffer) {
    const ring = openRing(sab);
    this.capacityBytes = ring.capacityBytes;
    this.#i32 = ring.i32;
    this.#f64 = ring.f64;
    this.#u8 = ring.u8;
    this.#tail = Atomics.load(ring.i32, TAIL_INDEX);
  }

  /**
   * Calls `onRecord(bytes, rxMicros, kind)` for the records present when drain starts, oldest first, at
   * most `maxRecords`, and frees their space. `bytes` is a view into the ring, valid only during
   * the call: copy or decode it before returning. If `onRecord` throws, that record counts as
   * consumed (it is not delivered again) and the error propagates.
   * @returns the number of records delivered.
   */
  drain(onRecord: (bytes: Uint8Array, rxMicros: number, kind: number) => void, maxRecords = Number.POSITIVE_INFINITY): number {
    const i32 = this.#i32;
    const head = Atomics.load(i32, HEAD_INDEX) & POSITION_MASK;
    let tail = this.#tail;
    let count = 0;
    try {
      while (tail !== head && count < maxRecords) {
        const at = DATA_OFFSET_BYTES + tail;
        const payloadBytes = i32[at >> 2] ?? 0;
        if (payloadBytes === WRAP_MARKER) {
          tail = 0;
          continue;
        }
        const rxMicros = this.#f64[(at + 8) >> 3] ?? 0;
        const kind = i32[(at >> 2) + 1] ?? 0;
        tail += RECORD_HEADER_BYTES + align8(payloadBytes);
        if (tail === this.capacityBytes) tail = 0;
        count++;
        onRecord(this.#u8.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + payloadBytes), rxMicros, kind);
        if (count % TAIL_PUBLISH_EVERY_RECORDS === 0) Atomics.store(i32, TAIL_INDEX, tail);
      }
    } finally {
      this.#tail = tail;
      Atomics.store(i32, TAIL_INDEX, tail);
    }
    return count;
  }

  /**
   * Resolves when a record is available or the ring is closed. It sleeps with `Atomics.waitAsync`
   * (no timeout: in Bun a timeout keeps a core busy) and, whenever it did not really sleep, resolves
   * from a fresh macrotask so that a drain/wait loop lets the thread's network I/O run.
   */
  async waitForData(): Promise<void> {
    const i32 = this.#i32;
    for (;;) {
      if (this.#ready(Atomics.load(i32, HEAD_INDEX))) break;
      Atomics.store(i32, WAITING_INDEX, 1);
      const seenHead = Atomics.load(i32, HEAD_INDEX); // re-check after raising the flag (Dekker)
      if (this.#ready(seenHead)) {
        Atomics.store(i32, WAITING_INDEX, 0);
        break;
      }
      const wait = Atomics.waitAsync(i32, HEAD_INDEX, seenHead);
      if (!wait.async) break; // "not-equal": head moved meanwhile
      await wait.value; // resolved by notify, delivered as an event-loop task
      Atomics.store(i32, WAITING_INDEX, 0);
      if (this.#ready(Atomics.load(i32, HEAD_INDEX))) return;
    }
    await nextMacrotask();
  }

  /** True once the producer has closed the ring and every record has been drained. */
  isClosedAndEmpty(): boolean {
    const head = Atomics.load(this.#i32, HEAD_INDEX);
    return (head & CLOSED_BIT) !== 0 && (head & POSITION_MASK) === this.#tail;
  }

  #ready(head: number): boolean {
    return (head & CLOSED_BIT) !== 0 || (head & POSITION_MASK) !== this.#tail;
  }
}
