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

self.onmessage = (ev: MessageEvent<PipelineInit>) => {
  if (ev.data?.type !== "init") return;
  // Control messages that arrive while the stages' modules load are handed over once they run.
  const early: PipelineControl[] = [];
  self.onmessage = (message: MessageEvent<PipelineControl>) => void early.push(message.data);
  // Bun's full collection for the upload's thread (pipeline-host.ts says when it runs).
  void hostPipeline(ev.data, (message: PipelineMessage) => self.postMessage(message), { beforeDiskIo: diskStallFromEnv(process.env), collectGarbage }).then((control) => {
    self.onmessage = (message: MessageEvent<PipelineControl>) => control(message.data);
    for (const message of early) control(message);
  });
};
