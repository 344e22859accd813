/**
 * Starts the journal and uploader Workers. This file must stay in the same folder as their entry
 * files and main.ts: the URL form below resolves under `bun run`, in the compiled binary (both are
 * extra entrypoints of `bun build --compile`, see the Makefile) and under Deno (BUN-NOTES).
 */
export function createJournalWorker(): Worker {
  return new Worker(new URL("./journal.worker.ts", import.meta.url).href, { type: "module", smol: true });
}

export function createUploaderWorker(): Worker {
  return new Worker(new URL("./uploader.worker.ts", import.meta.url).href, { type: "module", smol: true });
}
