/**
 * Deterministic test records for the ring property tests: record `seq` of a run is a pure function
 * of (seed, seq), so the checking side regenerates what it expects instead of trusting the ring.
 * Shared by the test files and their workers.
 */

/** A record is either raw bytes (pushed with tryPushBytes) or text (pushed with tryPushText). */
export type TestRecord = { kind: "bytes"; bytes: Uint8Array; rxMicros: number } | { kind: "text"; text: string; rxMicros: number };

/** mulberry32: small, fast, good enough to pick sizes and bytes. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a byte range: the checksum carried inside byte records. */
export function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
  return hash >>> 0;
}

/** Receive times near today's epoch µs, strictly increasing, exact as Float64 (below 2^53). */
export function rxMicrosFor(seq: number): number {
  return 1_760_000_000_000_000 + seq * 1000 + (seq % 997);
}

/** Inverse of rxMicrosFor, for error messages that name the sequence number actually seen. */
export function seqFromRxMicros(rxMicros: number): number {
  return Math.floor((rxMicros - 1_760_000_000_000_000) / 1000);
}

/** Mostly frame-sized records, some empty, a few several KiB (max payload of a 64 KiB ring is 16,368). */
function pickSize(random: () => number): number {
  const r = random();
  if (r < 0.05) return 0;
  if (r < 0.85) return 1 + Math.floor(random() * 512);
  if (r < 0.98) return 513 + Math.floor(random() * 3584);
  return 4097 + Math.floor(random() * 8000);
}

// 1-, 2-, 3- and 4-byte UTF-8 sequences, so encodeInto's worst-case reservation is exercised.
const ALPHABET = ["a", "Z", "0", "{", '"', "é", "ß", "€", "中", "𝄞", "😀"];

/** Record number `seq` of the run seeded with `seed`. */
export function makeRecord(seed: number, seq: number): TestRecord {
  const random = prng((seed ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0);
  const rxMicros = rxMicrosFor(seq);
  const size = pickSize(random);
  if (random() < 0.3) {
    let text = size === 0 ? "" : `#${seq}:`;
    while (text.length < size / 2) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
    return { kind: "text", text, rxMicros };
  }
  const bytes = new Uint8Array(size);
  for (let i = 8; i < size; i++) bytes[i] = Math.floor(random() * 256);
  if (size >= 8) {
    const view = new DataView(bytes.buffer);
    view.setUint32(0, seq, true);
    view.setUint32(4, fnv1a(bytes, 8, size), true);
  } else {
    for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  }
  return { kind: "bytes", bytes, rxMicros };
}

/** The UTF-8 bytes a record must come out of the ring as. */
export function expectedBytes(record: TestRecord): Uint8Array {
  return record.kind === "bytes" ? record.bytes : new TextEncoder().encode(record.text);
}

/**
 * Checks one record taken from the ring against what record `seq` must be.
 * @returns undefined when it matches, else a description of the first difference.
 */
export function checkRecord(seed: number, seq: number, bytes: Uint8Array, rxMicros: number): string | undefined {
  if (rxMicros !== rxMicrosFor(seq)) {
    return `record ${seq}: rxMicros ${rxMicros} (that is record ${seqFromRxMicros(rxMicros)}): lost, duplicated or reordered`;
  }
  const record = makeRecord(seed, seq);
  const want = expectedBytes(record);
  if (bytes.length !== want.length) return `record ${seq}: ${bytes.length} bytes, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (bytes[i] !== want[i]) return `record ${seq}: byte ${i} is ${bytes[i]}, expected ${want[i]}`;
  }
  if (bytes.length >= 8 && record.kind === "bytes") {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== seq || view.getUint32(4, true) !== fnv1a(bytes, 8, bytes.length)) return `record ${seq}: embedded sequence or checksum wrong`;
  }
  return undefined;
}

/** Pushes one record; false when the ring is full. */
export function pushRecord(producer: { tryPushText(t: string, rx: number): boolean; tryPushBytes(b: Uint8Array, rx: number): boolean }, record: TestRecord): boolean {
  return record.kind === "text" ? producer.tryPushText(record.text, record.rxMicros) : producer.tryPushBytes(record.bytes, record.rxMicros);
}

/** The pipeline's own macrotask hop (a MessageChannel: ~µs, where setTimeout(0) costs ~1 ms). */
export { nextMacrotask } from "../../src/base/next-macrotask.ts";
