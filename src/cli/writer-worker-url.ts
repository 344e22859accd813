/**
 * Starts the writer Worker. This file must stay in the same folder as writer.worker.ts and main.ts:
 * the URL form below resolves under `bun run`, in the compiled binary and under Deno (BUN-NOTES).
 */
export function createWriterWorker(): Worker {
  // smol (Bun WorkerOptions): a small JavaScriptCore heap; the writer holds little between batches.
  return new Worker(new URL("./writer.worker.ts", import.meta.url).href, { type: "module", smol: true });
}
