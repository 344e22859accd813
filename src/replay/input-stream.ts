/**
 * One replay input as a stream of byte chunks (web streams + node:fs): a file read in 1 MiB chunks
 * from a byte offset, or stdin; gzip data (recognised by its magic bytes, whatever the name) is
 * decompressed with `DecompressionStream`, and offsets then count decompressed bytes. A resumed gzip
 * input cannot seek: it is decompressed from the start and the bytes before the offset are dropped
 * unparsed (documented in docs/replay-export.md).
 *
 * The reader counts the bytes taken from the file itself (compressed ones for gzip), so progress
 * can give an ETA against the file size.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { ReplayInput } from "./inputs.ts";

/** File read size: large enough that per-chunk costs vanish, small enough to keep memory flat. */
export const READ_CHUNK_BYTES = 1024 * 1024;

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** An input that cannot be read further: the message says where and why (truncated gzip, I/O error). */
export class InputProblem extends Error {
  override readonly name = "InputProblem";
}

export interface InputReader {
  /** True when the input is gzip data (decompressed on the fly). */
  readonly gzip: boolean;
  /** Bytes taken from the file (compressed bytes for gzip) since it was opened, plus the resume offset for plain files. */
  rawBytesRead(): number;
  /** Next chunk of (decompressed) bytes, from the start offset on; `undefined` at the end. Throws {@link InputProblem}. */
  read(): Promise<Uint8Array | undefined>;
  /** Releases the file (safe to call twice). */
  close(): Promise<void>;
}

/** Where stdin comes from: the process's stdin, or a stream given by a test. */
export type StdinSource = () => ReadableStream<Uint8Array>;

/** Opens `input` at `startOffset` (decompressed bytes). Throws {@link InputProblem} if the file cannot be opened. */
export async function openInput(input: ReplayInput, startOffset: number, stdin: StdinSource = processStdin): Promise<InputReader> {
  const counter = { bytes: 0 };
  let raw: ReadableStream<Uint8Array>;
  let gzip: boolean;
  let handle: FileHandle | undefined;
  if (input.path === undefined) {
    const peeked = await peekStream(stdin());
    gzip = isGzip(peeked.first);
    raw = countBytes(peeked.stream, counter);
  } else {
    try {
      handle = await open(input.path, "r");
      const magic = new Uint8Array(2);
      const { bytesRead } = await handle.read(magic, 0, 2, 0);
      gzip = bytesRead === 2 && isGzip(magic);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      throw new InputProblem(`${input.name} cannot be read (${describeFsError(err)})`);
    }
    const from = gzip ? 0 : startOffset;
    counter.bytes = from;
    raw = fileStream(handle, from, counter, input.name);
  }
  const decoded = gzip ? raw.pipeThrough(new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>) : raw;
  const reader = decoded.getReader();
  let toSkip = gzip ? startOffset : 0;
  let closed = false;
  return {
    gzip,
    rawBytesRead: () => counter.bytes,
    async read() {
      for (;;) {
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (err) {
          if (err instanceof InputProblem) throw err;
          const what = gzip ? `gzip data ends early or is corrupt (${describeFsError(err)})` : `read failed (${describeFsError(err)})`;
          throw new InputProblem(`${input.name}: ${what}`);
        }
        if (result.done) return undefined;
        let chunk = result.value;
        if (toSkip > 0) {
          if (chunk.length <= toSkip) {
            toSkip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(toSkip);
          toSkip = 0;
        }
        if (chunk.length > 0) return chunk;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await reader.cancel().catch(() => undefined);
      await handle?.close().catch(() => undefined);
    },
  };
}

function isGzip(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/** Reads a file from `position` in {@link READ_CHUNK_BYTES} chunks (a fresh buffer each: chunks are kept downstream). */
function fileStream(handle: FileHandle, position: number, counter: { bytes: number }, name: string): ReadableStream<Uint8Array> {
  let at = position;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = new Uint8Array(READ_CHUNK_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) {
          controller.close();
          return;
        }
        at += bytesRead;
        counter.bytes += bytesRead;
        controller.enqueue(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      } catch (err) {
        controller.error(new InputProblem(`${name}: read failed at byte ${at} (${describeFsError(err)})`));
      }
    },
  });
}

/** Counts the bytes flowing through (stdin's raw bytes). */
function countBytes(stream: ReadableStream<Uint8Array>, counter: { bytes: number }): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        counter.bytes += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The first bytes of a stream (at least 2, to look at the magic) and the whole stream, those bytes included. */
async function peekStream(stream: ReadableStream<Uint8Array>): Promise<{ first: Uint8Array | undefined; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < 2) {
    const next = await reader.read();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.length;
  }
  const first = head.length === 0 ? undefined : head.length === 1 ? head[0] : concat(head, headBytes);
  let pending = first;
  return {
    first,
    stream: new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pending !== undefined) {
          controller.enqueue(pending);
          pending = undefined;
          return;
        }
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }),
  };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The process's stdin as a web stream of bytes. */
function processStdin(): ReadableStream<Uint8Array> {
  const iterator = (process.stdin as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

function describeFsError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
