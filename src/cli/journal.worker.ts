/**
 * Worker entry of the journal writer (ring -> segment files). Lives beside main.ts: `bun build
 * --compile` bundles it as an extra entrypoint (Makefile) and it is opened with
 * `new URL("./journal.worker.ts", import.meta.url)` (BUN-NOTES).
 */
import { JournalWriterRun } from "../journal/journal-writer.ts";
import { diskStallFromEnv } from "../journal/journal-fault.ts";
import type { JournalWriterControl, JournalWriterInit, JournalWriterMessage } from "../pipeline/journal-protocol.ts";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<JournalWriterInit>) => {
  if (ev.data?.type !== "init") return;
  const run = new JournalWriterRun(ev.data, (message: JournalWriterMessage) => self.postMessage(message), diskStallFromEnv(process.env));
  self.onmessage = (control: MessageEvent<JournalWriterControl>) => run.control(control.data);
  void run.run();
};
