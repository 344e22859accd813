/**
 * Worker entry of the journal writer (ring -> segment files). Lives beside main.ts: `bun build
 * --compile` bundles it as an extra entrypoint (Makefile) and it is opened with
 * `new URL("./journal.worker.ts", import.meta.url)` (BUN-NOTES).
 */
import { runJournalWriter } from "../journal/journal-writer.ts";
import type { JournalWriterInit, JournalWriterMessage } from "../pipeline/journal-protocol.ts";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<JournalWriterInit>) => {
  if (ev.data?.type !== "init") return;
  self.onmessage = null;
  void runJournalWriter(ev.data, (message: JournalWriterMessage) => self.postMessage(message));
};
