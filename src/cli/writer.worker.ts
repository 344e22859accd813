/**
 * Worker entry of the writer. Lives beside main.ts: `bun build --compile` bundles it as a second
 * entrypoint and it is opened with `new URL("./writer.worker.ts", import.meta.url)` (BUN-NOTES).
 */
import { WriterRun } from "../pipeline/writer.ts";
import type { WriterFinish, WriterInit, WriterMessage } from "../pipeline/writer-protocol.ts";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<WriterInit>) => {
  if (ev.data?.type !== "init") return;
  const run = new WriterRun(ev.data, (message: WriterMessage) => self.postMessage(message));
  self.onmessage = (control: MessageEvent<WriterFinish>) => run.control(control.data);
  void run.run();
};
