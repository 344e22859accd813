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
 * Starts the stages; resolves to the function that takes the main thread's control messages. Each
 * stage's modules are loaded only when it runs: the AWS SDK costs about 20 MiB of a thread's memory
 * (BENCHMARKS.md), which a capture without a table never pays.
 */
export async function hostPipeline(init: PipelineInit, post: (message: PipelineMessage) => void, beforeDiskIo?: () => void): Promise<(control: PipelineControl) => void> {
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
  return (control) => {
    if (control.stage === "journal") journal?.control(control.message);
    else if (uploadStarted) upload?.control(control.message);
  };
}
