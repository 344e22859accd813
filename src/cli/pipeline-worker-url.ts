/**
 * Starts the pipeline Worker. This file must stay in the same folder as its entry file and main.ts:
 * the URL form below resolves under `bun run`, in the compiled binary (an extra entrypoint of
 * `bun build --compile`, see the Makefile) and under Deno (BUN-NOTES).
 */
import { startBunWorker } from "../runtime/bun/worker.ts";

export function createPipelineWorker(): Worker {
  return startBunWorker(new URL("./pipeline.worker.ts", import.meta.url));
}
