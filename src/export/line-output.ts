/**
 * Where `obcap export` writes its lines: stdout or a file, through a buffer of `chunkChars`, waiting
 * for the destination when it is slow (a pipe into gzip), so memory stays flat for long ranges: at
 * most one chunk being written and one filling.
 */
import { open, type FileHandle } from "node:fs/promises";
import { obcapError } from "../base/errors.ts";

export interface LineOutput {
  /** Adds text; returns a promise when the buffer was written out (await it: backpressure). */
  write(text: string): Promise<void> | undefined;
  /** Writes what is buffered and closes a file (not stdout). */
  close(): Promise<void>;
}

const DEFAULT_CHUNK_CHARS = 256 * 1024;

/** Lines to a writable sink: `sink(chunk)` resolves once the chunk is taken. */
export function bufferedOutput(sink: (chunk: string) => Promise<void>, closeSink: () => Promise<void>, chunkChars = DEFAULT_CHUNK_CHARS): LineOutput {
  let parts: string[] = [];
  let size = 0;
  // One chunk is written while the next one fills (a file's write no longer stalls the reading); a
  // failed write is thrown by the next flush or by close.
  let writing: Promise<void> | undefined;
  const flush = async () => {
    if (parts.length === 0) return;
    const chunk = parts.join("");
    parts = [];
    size = 0;
    if (writing) await writing;
    writing = sink(chunk);
    writing.catch(() => undefined);
  };
  return {
    write(text) {
      parts.push(text);
      size += text.length;
      return size >= chunkChars ? flush() : undefined;
    },
    async close() {
      await flush();
      if (writing) await writing;
      await closeSink();
    },
  };
}

/** The reader of the output went away (EPIPE: `obcap export ... | head`): stop quietly. */
export class OutputClosed extends Error {
  override readonly name = "OutputClosed";
}

/** stdout, honouring its backpressure (`drain`). */
export function stdoutOutput(): LineOutput {
  const out = process.stdout;
  let failure: Error | undefined;
  const waiters = new Set<(err: Error) => void>();
  out.on("error", (err: Error & { code?: string }) => {
    failure = err.code === "EPIPE" ? new OutputClosed("stdout was closed by its reader") : outputError("stdout", err);
    for (const wake of waiters) wake(failure);
  });
  return bufferedOutput(
    (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        if (out.write(chunk)) return resolve();
        const onError = (err: Error) => {
          out.off("drain", onDrain);
          reject(err);
        };
        const onDrain = () => {
          waiters.delete(onError);
          resolve();
        };
        waiters.add(onError);
        out.once("drain", onDrain);
      }),
    async () => {
      if (failure) throw failure;
    },
  );
}

/** A new file at `path` (replaced if it exists). Throws E_USAGE if it cannot be created. */
export async function fileOutput(path: string): Promise<LineOutput> {
  let handle: FileHandle;
  try {
    handle = await open(path, "w");
  } catch (err) {
    throw obcapError("E_USAGE", `--out ${path} cannot be created (${(err as { code?: string }).code ?? String(err)}): choose a writable path`, err);
  }
  return bufferedOutput(
    async (chunk) => {
      try {
        await handle.write(chunk);
      } catch (err) {
        throw outputError(path, err);
      }
    },
    async () => {
      await handle.sync().catch(() => undefined);
      await handle.close();
    },
  );
}

function outputError(where: string, err: unknown) {
  const code = (err as { code?: string }).code;
  return obcapError("E_USAGE", `writing the export to ${where} failed (${code ?? String(err)})`, err);
}
