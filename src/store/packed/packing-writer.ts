/**
 * The write side of a packed table, behind the same contract as BatchWriter (ItemWriter), so capture,
 * replay and migration keep their one upload path (pipeline/uploader.ts: positions, checkpoints):
 * - event items are held in their window (packed-window.ts) until it closes, then written by
 *   PackedWriter (conditional, merging with what is stored);
 * - every other item (gap records, snapshot chunks, coverage records) goes through the BatchWriter
 *   as in the event layout.
 * A batch counts as written (its `onWritten`) once its other items are acknowledged and every window
 * holding one of its events is stored: the checkpoint never passes an event still in an open window,
 * so after a crash the journal gives it back (and the window merges).
 *
 * A window closes when its channel's exchange time has passed its end by CLOSE_GRACE_MS, exchange
 * time being the channel's latest microtimestamp given (replay and a catching-up upload close windows
 * as fast as they read; a migration that reads one channel's hour, then the next's, does not close
 * the second's windows early),
 * or CLOSE_GRACE_MS after its end by the wall clock since it opened (a quiet feed), or at flush.
 * So a live window is visible within `--pack-ms` + CLOSE_GRACE_MS + its write. An event of a window
 * already closed (a late frame, a reconnect's overlap, the journal after a restart) opens it again;
 * PackedWriter merges the two contents.
 *
 * `submit` resolves once the batch is taken (it waits while `maxWindowsInFlight` windows are being
 * written, and for the BatchWriter's own slots): open windows never hold the uploader back.
 */
import { describeError, isObcapError, obcapError, type ObcapError } from "../../base/errors.ts";
import type { BatchWriterStats, ItemWriter } from "../dynamodb/batch-writer.ts";
import type { Item } from "../dynamodb/item.ts";
import { itemSizeBytes } from "../dynamodb/item-limits.ts";
import { parsePartitionKey } from "../dynamodb/keys.ts";
import { PACKED_EVENT_MAX_BYTES, windowId, windowKeyOfItem, type WindowKey } from "./packed-window.ts";
import { PackedWriter, type PackedWriterStats } from "./packed-writer.ts";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TableLayout } from "../dynamodb/table-metadata.ts";
import type { WriteMeter } from "../dynamodb/write-meter.ts";

/** How far exchange time (or the wall clock) must pass a window's end before it is written. */
export const CLOSE_GRACE_MS = 250;

export interface PackingWriterOptions {
  /** Takes every item that is not an event (gap records, snapshot chunks, coverage records). */
  inner: ItemWriter;
  packed: PackedWriter;
  packMs: number;
  /** Windows being written at once. */
  maxWindowsInFlight: number;
  /** An event too large to pack: it counts as done; keep it somewhere (as BatchWriter's onRefused). */
  onRefused?: (item: Item, reason: string) => void;
  nowMs?: () => number;
}

interface OpenWindow {
  key: WindowKey;
  events: Item[];
  /** Wall clock (ms) when its first event came. */
  openedAtMs: number;
  /** One callback per batch with events here: that batch's share of this window. */
  done: Array<() => void>;
}

export class PackingWriter implements ItemWriter {
  private readonly open = new Map<string, OpenWindow>();
  private readonly nowMs: () => number;
  /** Latest microtimestamp given, per `<pair>#<stream>`: each channel's exchange time. */
  private readonly exchangeMicros = new Map<string, number>();
  private writing = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private fatalError: ObcapError | undefined;
  private eventsWritten = 0;
  private eventsPending = 0;
  private refused = 0;

  constructor(private readonly options: PackingWriterOptions) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  async submit(items: Item[], onWritten?: () => void): Promise<void> {
    if (this.fatalError) throw this.fatalError;
    if (items.length === 0) return;
    const others: Item[] = [];
    const touched = new Map<OpenWindow, number>();
    for (const item of items) {
      if (!isEventItem(item)) {
        others.push(item);
        continue;
      }
      const size = itemSizeBytes(item);
      if (size > PACKED_EVENT_MAX_BYTES) {
        this.refused++;
        this.options.onRefused?.(item, `the event item is ${size} bytes; a packed table holds events of at most ${PACKED_EVENT_MAX_BYTES}`);
        continue;
      }
      const key = windowKeyOfItem(item, this.options.packMs);
      const id = windowId(key);
      let window = this.open.get(id);
      if (window === undefined) {
        window = { key, events: [], openedAtMs: this.nowMs(), done: [] };
        this.open.set(id, window);
      }
      window.events.push(item);
      touched.set(window, (touched.get(window) ?? 0) + 1);
      this.eventsPending++;
      const micros = Number(item.sk!.S!.slice(0, 16));
      const channel = `${key.pair}#${key.stream}`;
      if (micros > (this.exchangeMicros.get(channel) ?? 0)) this.exchangeMicros.set(channel, micros);
    }
    let parts = touched.size + (others.length > 0 ? 1 : 0);
    const partDone = () => {
      if (--parts === 0) onWritten?.();
    };
    if (parts === 0) onWritten?.();
    for (const window of touched.keys()) window.done.push(partDone);
    if (others.length > 0) await this.options.inner.submit(others, partDone);
    await this.closeDue(false);
  }

  holdsOpenWork(): boolean {
    return this.open.size > 0;
  }

  /** Writes the windows that are due by the wall clock (the uploader's linger timer calls it). */
  async tick(): Promise<void> {
    await this.closeDue(false);
  }

  async flush(): Promise<void> {
    await this.closeDue(true);
    if (this.writing > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.options.inner.flush();
    if (this.fatalError) throw this.fatalError;
  }

  fatal(): ObcapError | undefined {
    return this.fatalError ?? this.options.inner.fatal();
  }

  /** The BatchWriter's counts with the packed events added: `written` counts events once their window is stored. */
  stats(): BatchWriterStats {
    const inner = this.options.inner.stats();
    return {
      ...inner,
      written: inner.written + this.eventsWritten,
      pendingItems: inner.pendingItems + this.eventsPending,
      refusedItems: inner.refusedItems + this.refused,
      inFlight: inner.inFlight + this.writing,
    };
  }

  packedStats(): PackedWriterStats & { openWindows: number } {
    return { ...this.options.packed.stats(), openWindows: this.open.size };
  }

  private async closeDue(all: boolean): Promise<void> {
    const graceMicros = CLOSE_GRACE_MS * 1000;
    const widthMicros = this.options.packMs * 1000;
    const now = this.nowMs();
    for (const [id, window] of this.open) {
      const endMicros = window.key.startMicros + widthMicros;
      const channelMicros = this.exchangeMicros.get(`${window.key.pair}#${window.key.stream}`) ?? 0;
      const due = all || channelMicros >= endMicros + graceMicros || now - window.openedAtMs >= this.options.packMs + CLOSE_GRACE_MS;
      if (!due) continue;
      this.open.delete(id);
      while (this.writing >= this.options.maxWindowsInFlight && !this.fatalError) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      if (this.fatalError) throw this.fatalError;
      this.writing++;
      void this.write(window);
    }
  }

  private async write(window: OpenWindow): Promise<void> {
    try {
      await this.options.packed.write(window.key, window.events);
      this.eventsWritten += window.events.length;
      this.eventsPending -= window.events.length;
      for (const done of window.done) done();
    } catch (err) {
      this.fatalError ??= isObcapError(err) ? err : obcapError("E_INTERNAL", `writing window ${windowId(window.key)} failed: ${describeError(err)}`, err);
    } finally {
      this.writing--;
      // After a fatal error every waiter wakes to see it; otherwise one takes the free slot.
      for (const waiter of this.fatalError ? this.slotWaiters.splice(0) : this.slotWaiters.splice(0, 1)) waiter();
      if (this.writing === 0) for (const waiter of this.idleWaiters.splice(0)) waiter();
    }
  }
}

/** An event item of the event layout (pk `<pair>#<stream>#<hour>#<shard>`): what packed windows hold. */
export function isEventItem(item: Item): boolean {
  return parsePartitionKey(item.pk?.S ?? "") !== undefined;
}

/**
 * The writer for a table's layout: `inner` itself for the event layout; for the packed layout a
 * PackingWriter in front of it, its windows written by a PackedWriter on `client`.
 */
export function writerForLayout(
  inner: ItemWriter,
  table: { name: string; layout: TableLayout; packMs?: number | undefined },
  options: {
    client: DynamoDBClient;
    maxWindowsInFlight: number;
    onRefused?: (item: Item, reason: string) => void;
    onRetry?: (message: string) => void;
    meter?: WriteMeter;
  },
): ItemWriter {
  if (table.layout !== "packed") return inner;
  const packMs = table.packMs!;
  return new PackingWriter({
    inner,
    packMs,
    maxWindowsInFlight: options.maxWindowsInFlight,
    packed: new PackedWriter({
      client: options.client,
      table: table.name,
      packMs,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      ...(options.meter ? { meter: options.meter } : {}),
    }),
    ...(options.onRefused ? { onRefused: options.onRefused } : {}),
  });
}
