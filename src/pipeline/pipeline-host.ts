/**
 * Runs the capture's pipeline stages in one thread (the pipeline Worker): the journal stage first,
 * then, once its new segment exists (every older segment is then finished), the upload stage reading
 * the journal; or the upload stage alone, reading the ring (--no-journal). One Worker, so one
 * JavaScript heap and one copy of the modules for both stages. Web standards; the Worker entry
 * (src/cli/pipeline.worker.ts) only wires messages.
 */
import type { JournalStage } from "../journal/journal-stage.ts";
import type { PipelineControl, PipelineInit, PipelineMessage } from "./pipeline-protocol.ts";
import type { UploadStage } from "./upload-stage.ts";

/**
 * How often the upload's thread collects its garbage. The AWS SDK leaves a lot of short-lived garbage
 * per request, and JavaScriptCore lets the heap grow with it. At 5,000 items/s into DynamoDB Local
 * (Bun 1.4.4, one run each): a full collection every second peaked at 163.5 MiB, every 250 ms at
 * 125.9 MiB, for 0.4 s more CPU in 20 s (about 2% of a core, on this thread, never the receive thread).
 */
export const GC_EVERY_MS = 250;

export interface HostOptions {
  /** Called before each disk write of the journal (a test hook: a stalled disk). */
  beforeDiskIo?: () => void;
  /** A full garbage collection of this thread's heap (the runtime's; none = never forced). */
  collectGarbage?: () => void;
}

/**
 * Starts the stages; resolves to the function that takes the main thread's control messages. Each
 * stage's modules are loaded only when it runs: the AWS SDK costs about 20 MiB of a thread's memory
 * (BENCHMARKS.md), which a capture without a table never pays.
 *
 * With an upload stage and `collectGarbage`, a full collection runs every GC_EVERY_MS, but only while
 * the upload keeps up: catching up on a backlog (a burst, a journal drained after an outage) it is
 * skipped, as it took about 6% of the stored rate there (100,000 events at max rate, BENCHMARKS.md).
 */
export async function hostPipeline(init: PipelineInit, post: (message: PipelineMessage) => void, options: HostOptions = {}): Promise<(control: PipelineControl) => void> {
  const { beforeDiskIo, collectGarbage } = options;
  const upload: UploadStage | undefined = init.upload
    ? new (await import("./upload-stage.ts")).UploadStage(init.upload, (message) => post({ stage: "upload", message }))
    : undefined;
  let uploadStarted = false;
  const startUpload = () => {
    if (!upload || uploadStarted) return;
    uploadStarted = true;
    void upload.run();
  };
  const journal: JournalStage | undefined = init.journal
    ? new (await import("../journal/journal-stage.ts")).JournalStage(
        init.journal,
        (message) => {
          post({ stage: "journal", message });
          if (message.type === "ready") startUpload();
        },
        beforeDiskIo,
      )
    : undefined;
  if (journal) void journal.run();
  else startUpload();
  if (upload && collectGarbage) {
    setInterval(() => {
      if (upload.caughtUpWithin(GC_EVERY_MS)) collectGarbage();
    }, GC_EVERY_MS);
  }
  return (control) => {
    if (control.stage === "journal") journal?.control(control.message);
    else if (uploadStarted) upload?.control(control.message);
  };
}
