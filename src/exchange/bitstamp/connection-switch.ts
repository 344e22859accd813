/**
 * Make-before-break on `bts:request_reconnect` (maintenance notice): a new connection subscribes
 * every channel while the old one still delivers; once all are acknowledged, the old one is drained
 * (a heartbeat answered proves everything it sent before has arrived) and closed. Frames delivered
 * by both are passed on once (overlap-merge.ts). No gap.
 *
 * One switch in progress: it routes the old connection's frames, and the new one's (open it with
 * `fromNew`), through the merge; however the switch ends, the connection that stays gets the plain
 * receiver back. The supervisor decides when it ends.
 */
import type { Connection } from "./connection.ts";
import type { DataHandler } from "./frame-receiver.ts";
import { OverlapMerge } from "./overlap-merge.ts";

export class ConnectionSwitch {
  private readonly merge: OverlapMerge;

  /** Starts merging: `old`'s frames go through the merge from now on, then on to `onData`. */
  constructor(old: Connection, private readonly onData: DataHandler) {
    this.merge = new OverlapMerge(onData);
    old.setDataHandler(this.merge.fromOld);
  }

  /** The data receiver to open the new connection with. */
  get fromNew(): DataHandler {
    return this.merge.fromNew;
  }

  /** Copies dropped so far because both connections delivered them. */
  get duplicatesDropped(): number {
    return this.merge.duplicatesDropped;
  }

  /**
   * The old connection is finished (closed, or ended by itself): what only the new one delivered is
   * passed on, and `next` (the new connection, unless the capture is stopping) gets the plain
   * receiver. Returns the copies dropped.
   */
  finish(next: Connection | undefined): number {
    this.merge.finish();
    next?.setDataHandler(this.onData);
    return this.merge.duplicatesDropped;
  }

  /** The new connection failed: its frames are forgotten, and `old` (if it is still there) gets the plain receiver. Returns the copies dropped. */
  abandon(old: Connection | undefined): number {
    this.merge.abandon();
    old?.setDataHandler(this.onData);
    return this.merge.duplicatesDropped;
  }
}
