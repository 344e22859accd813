/**
 * Worker entry of the capture's pipeline (journal and upload stages, src/pipeline/pipeline-host.ts).
 * Lives beside main.ts: `bun build --compile` bundles it as an extra entrypoint (Makefile) and it is
 * opened with `new URL("./pipeline.worker.ts", import.meta.url)` (BUN-NOTES).
 */
import { hostPipeline } from "../pipeline/pipeline-host.ts";
import { diskStallFromEnv } from "../journal/journal-fault.ts";
import { collectGarbage } from "../runtime/bun/gc.ts";
import type { PipelineControl, PipelineInit, PipelineMessage } from "../pipeline/pipeline-protocol.ts";

declare const self: Worker;

/**
 * The AWS SDK leaves a lot of short-lived garbage per request, and JavaScriptCore lets this thread's
 * heap grow with it: at 5,000 items/s a full collection every second kept the process ~20 MiB
 * smaller (measured, Bun 1.4.4), for a few ms of this thread's time (never the receive thread's).
 */
const GC_EVERY_MS = 1_000;

self.onmessage = (ev: MessageEvent<PipelineInit>) => {
  if (ev.data?.type !== "init") return;
  const control = hostPipeline(ev.data, (message: PipelineMessage) => self.postMessage(message), diskStallFromEnv(process.env));
  self.onmessage = (message: MessageEvent<PipelineControl>) => control(message.data);
  if (ev.data.upload) setInterval(collectGarbage, GC_EVERY_MS);
};
