/**
 * Messages between the capture's main thread and its one pipeline Worker, which runs up to two
 * stages in one thread (pipeline-host.ts):
 *
 *   ring -> journal stage -> segments -> upload stage -> DynamoDB      (the default, with --table)
 *   ring -> journal stage -> segments                                 (no --table: the journal is the output)
 *   ring -> journal stage -> --out stream                             (--no-journal --out)
 *   ring -> upload stage -> DynamoDB                                  (--no-journal --table)
 *
 * Each stage keeps its own messages (journal-protocol.ts, upload-protocol.ts); here they are tagged
 * with the stage they belong to. Frames never travel in messages: they go through the ring.
 */
import type { JournalStageControl, JournalStageInit, JournalStageMessage } from "../journal/journal-protocol.ts";
import type { UploaderControl, UploaderInit, UploaderMessage } from "./upload-protocol.ts";

export interface PipelineInit {
  type: "init";
  /** The journal stage: ring -> segments (or the --out stream). */
  journal?: JournalStageInit;
  /** The upload stage: segments (after the journal stage is ready) or the ring -> DynamoDB. */
  upload?: UploaderInit;
}

export type PipelineControl =
  | { stage: "journal"; message: JournalStageControl }
  | { stage: "upload"; message: UploaderControl };

export type PipelineMessage =
  | { stage: "journal"; message: JournalStageMessage }
  | { stage: "upload"; message: UploaderMessage };
