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
 * heap grow with it. At 5,000 items/s into DynamoDB Local (Bun 1.4.4, one run each): a full
 * collection every second peaked at 163.5 MiB, every 250 ms at 125.9 MiB, for 0.4 s more CPU in
 * 20 s (about 2% of a core, on this thread, never the receive thread).
 */
const GC_EVERY_MS = 250;

self.onmessage = (ev: MessageEvent<PipelineInit>) => {
  if (ev.data?.type !== "init") return;
  // Control messages that arrive while the stages' modules load are handed over once they run.
  const early: PipelineControl[] = [];
  self.onmessage = (message: MessageEvent<PipelineControl>) => void early.push(message.data);
  void hostPipeline(ev.data, (message: PipelineMessage) => self.postMessage(message), diskStallFromEnv(process.env)).then((control) => {
    self.onmessage = (message: MessageEvent<PipelineControl>) => control(message.data);
    for (const message of early) control(message);
  });
  if (ev.data.upload) setInterval(collectGarbage, GC_EVERY_MS);
};
