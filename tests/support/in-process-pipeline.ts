/**
 * A stand-in for the capture's pipeline Worker (src/cli/pipeline.worker.ts) that runs the same
 * `hostPipeline` (src/pipeline/pipeline-host.ts) on the test's own thread: the journal and upload
 * stages are the real ones, only the thread is not. It behaves like the Worker entry for the main
 * thread: messages both ways are structured-cloned and delivered in order in a later task, control
 * messages that arrive while the stages load are handed over once they run, and after `terminate()`
 * nothing more reaches the main thread.
 *
 * A test can also speak for the Worker: `inject()` posts a message as if a stage had sent it (e.g. a
 * fatal), `crash()` fires `onerror`. `terminate()` cannot kill stages running on this thread: a normal
 * end has given them their finish, after which they end on their own; after an injected fatal or a
 * crash they would wait for it forever. `reap()` hands every stage still running its finish (or
 * abort) directly and waits until each has ended, so a test leaves nothing running behind it.
 * Runtime-neutral.
 *
 *   const pipeline = inProcessPipeline();
 *   // runtime.createPipelineWorker = pipeline.createWorker; after the run (the ring is closed):
 *   await pipeline.worker()?.reap(10_000);
 */
import { hostPipeline } from "../../src/pipeline/pipeline-host.ts";
import type { JournalStageMessage } from "../../src/journal/journal-protocol.ts";
import type { PipelineControl, PipelineInit, PipelineMessage } from "../../src/pipeline/pipeline-protocol.ts";
import type { UploaderMessage } from "../../src/pipeline/upload-protocol.ts";
import { waitFor } from "./wait.ts";

/** In order, in a later task, each a structured clone (as `postMessage` delivers). */
class Mailbox<T> {
  private readonly queue: T[] = [];
  private scheduled = false;
  closed = false;

  constructor(private readonly deliver: (message: T) => void) {}

  send(message: T): void {
    if (this.closed) return;
    this.queue.push(structuredClone(message));
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      for (const next of this.queue.splice(0)) if (!this.closed) this.deliver(next);
    }, 0);
  }
}

export class InProcessPipelineWorker {
  onmessage: ((ev: MessageEvent<PipelineMessage>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  /** Every message the stages posted, terminated or not, in order (injected ones are not here). */
  readonly stageMessages: PipelineMessage[] = [];
  /** The init message, once the main thread sent it. */
  init: PipelineInit | undefined;
  terminated = false;
  private control: ((control: PipelineControl) => void) | undefined;
  private readonly early: PipelineControl[] = [];
  private readonly toMain = new Mailbox<PipelineMessage>((message) => this.onmessage?.({ data: message } as MessageEvent<PipelineMessage>));
  private readonly toStages = new Mailbox<PipelineControl>((message) => {
    if (this.control) this.control(message);
    else this.early.push(message);
  });
  private readonly checks = new Set<() => void>();

  postMessage(message: PipelineInit | PipelineControl): void {
    if (this.terminated) return;
    if ("type" in message && message.type === "init") {
      // Shared buffers are shared, not copied: the init goes over as it is.
      this.init = message;
      void hostPipeline(message, (posted) => this.fromStage(posted)).then((control) => {
        this.control = control;
        for (const queued of this.early.splice(0)) control(queued);
      });
      return;
    }
    this.toStages.send(message as PipelineControl);
  }

  terminate(): void {
    this.terminated = true;
    this.toMain.closed = true;
    this.toStages.closed = true;
  }

  /** Posts `message` to the main thread as if a stage had sent it. */
  inject(message: PipelineMessage): void {
    this.toMain.send(message);
  }

  /** The Worker fails as a whole (an uncaught error in it): `onerror`, as a real Worker reports it. */
  crash(message: string): void {
    setTimeout(() => {
      if (!this.terminated) this.onerror?.({ message } as ErrorEvent);
    }, 0);
  }

  /** The journal stage's messages, in order. */
  journalMessages(): JournalStageMessage[] {
    return this.stageMessages.flatMap((m) => (m.stage === "journal" ? [m.message] : []));
  }

  /** The upload stage's messages, in order. */
  uploadMessages(): UploaderMessage[] {
    return this.stageMessages.flatMap((m) => (m.stage === "upload" ? [m.message] : []));
  }

  /**
   * After the run (the ring closed): hands each stage that has not ended a finish (journal) or an abort
   * (upload), bypassing a terminated Worker's closed mailbox, then resolves once every stage has
   * posted done or fatal.
   */
  async reap(timeoutMs: number): Promise<void> {
    if (this.init === undefined) return;
    await waitFor(() => this.control, { timeoutMs, what: "the in-process stages to start" });
    if (this.init.journal && !this.stageEnded("journal")) this.control!({ stage: "journal", message: { type: "finish", leftovers: [] } });
    if (this.init.upload && !this.stageEnded("upload")) this.control!({ stage: "upload", message: { type: "abort" } });
    await this.stagesEnded(timeoutMs);
  }

  /** Posted done or fatal; an upload stage that never started (its journal stage never got ready) counts as ended. */
  private stageEnded(stage: PipelineMessage["stage"]): boolean {
    if (stage === "upload" && this.init?.journal && !this.journalMessages().some((m) => m.type === "ready")) return this.stageEnded("journal");
    const messages: Array<{ type: string }> = stage === "journal" ? this.journalMessages() : this.uploadMessages();
    return messages.some((m) => m.type === "done" || m.type === "fatal");
  }

  /** Resolves once every stage the init started has posted done or fatal. */
  stagesEnded(timeoutMs: number): Promise<void> {
    const ended = (stage: PipelineMessage["stage"]) => this.stageEnded(stage);
    return waitFor(
      () => this.init !== undefined && (!this.init.journal || ended("journal")) && (!this.init.upload || ended("upload")),
      {
        timeoutMs,
        what: () => `the in-process pipeline stages to end; they posted: ${this.stageMessages.map((m) => `${m.stage}:${m.message.type}`).join(", ")}`,
        subscribe: (recheck) => {
          this.checks.add(recheck);
          return () => this.checks.delete(recheck);
        },
      },
    ).then(() => undefined);
  }

  private fromStage(message: PipelineMessage): void {
    this.stageMessages.push(message);
    this.toMain.send(message);
    for (const check of [...this.checks]) check();
  }
}

/** A `createPipelineWorker` that hands out in-process Workers, and the ones it made. */
export function inProcessPipeline(): { createWorker: () => Worker; workers: InProcessPipelineWorker[]; worker(): InProcessPipelineWorker | undefined } {
  const workers: InProcessPipelineWorker[] = [];
  return {
    createWorker: () => {
      const worker = new InProcessPipelineWorker();
      workers.push(worker);
      return worker as unknown as Worker;
    },
    workers,
    worker: () => workers.at(-1),
  };
}
