/**
 * Worker entry of the journal uploader (segment files -> DynamoDB, checkpoint). Lives beside main.ts:
 * `bun build --compile` bundles it as an extra entrypoint (Makefile) and it is opened with
 * `new URL("./uploader.worker.ts", import.meta.url)` (BUN-NOTES).
 */
import { JournalUploaderRun } from "../pipeline/journal-uploader.ts";
import { collectGarbage } from "../runtime/bun/gc.ts";
import type { UploaderControl, UploaderInit, UploaderMessage } from "../pipeline/journal-protocol.ts";

declare const self: Worker;

/**
 * The AWS SDK leaves a lot of short-lived garbage per request, and JavaScriptCore lets this thread's
 * heap grow with it: at 5,000 items/s a full collection every second kept the process ~20 MiB
 * smaller (measured, Bun 1.4.4), for a few ms of this thread's time (never the receive thread's).
 */
const GC_EVERY_MS = 1_000;

self.onmessage = (ev: MessageEvent<UploaderInit>) => {
  if (ev.data?.type !== "init") return;
  const run = new JournalUploaderRun(ev.data, (message: UploaderMessage) => self.postMessage(message));
  self.onmessage = (control: MessageEvent<UploaderControl>) => run.control(control.data);
  setInterval(collectGarbage, GC_EVERY_MS);
  void run.run();
};
