/**
 * Runs the capture's pipeline stages in one thread (the pipeline Worker): the journal stage first,
 * then, once its new segment exists (every older segment is then finished), the upload stage reading
 * the journal; or the upload stage alone, reading the ring (--no-journal). One Worker, so one
 * JavaScript heap and one copy of the modules for both stages. Web standards; the Worker entry
 * (src/cli/pipeline.worker.ts) only wires messages.
 */
import { JournalStage } from "../journal/journal-stage.ts";
import type { PipelineControl, PipelineInit, PipelineMessage } from "./pipeline-protocol.ts";
import { UploadStage } from "./upload-stage.ts";

/** Starts the stages; returns the function that takes the main thread's control messages. */
export function hostPipeline(init: PipelineInit, post: (message: PipelineMessage) => void, beforeDiskIo?: () => void): (control: PipelineControl) => void {
  const upload = init.upload ? new UploadStage(init.upload, (message) => post({ stage: "upload", message })) : undefined;
  let uploadStarted = false;
  const startUpload = () => {
    if (!upload || uploadStarted) return;
    uploadStarted = true;
    void upload.run();
  };
  const journal = init.journal
    ? new JournalStage(
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
