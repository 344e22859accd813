/**
 * Writes packed windows (packed-window.ts) so that any number of writers (a retry, a replay, a second
 * capture box, a reconnect's late frames) end with one window holding the union of their events,
 * never losing one and never holding one twice.
 *
 * One window, by one writer holding the events S:
 * 1. its overflow chunks are written first (keyed by the digest of S: they change nothing a reader
 *    sees until a head names that digest);
 * 2. the head is put on condition `attribute_not_exists(pk) OR dg = :digest(S)`: a new window, or the
 *    very same content again;
 * 3. the condition failed: another content is there (E). DynamoDB returns it with the failure
 *    (ReturnValuesOnConditionCheckFailure); its chunks are read (consistent), and the writer packs the
 *    union of E and S. When the union is E, S was already stored: done. Otherwise back to 1 with the
 *    union, the head's condition now `dg = :digest(E)`: it replaces exactly what was read, and a
 *    writer that lost the race reads again and unions again. Each round adds the winner's events, so
 *    the rounds end when no other writer is adding.
 * 4. chunks no head names any more (the digest replaced, a lost round's) are deleted, best effort:
 *    readers ignore them anyway.
 * Retryable errors (throttling, 5xx, network) are retried without end with full-jitter backoff, as the
 * capture's BatchWriter does; anything else rejects with its ObcapError.
 *
 * Write units are reported to a WriteMeter as DynamoDB bills them: a replaced head and a failed
 * condition on the larger of the old and the new item.
 */
import {
  BatchWriteItemCommand, DeleteItemCommand, PutItemCommand, QueryCommand,
  type AttributeValue, type DynamoDBClient, type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, backoffDelayMs } from "../../base/backoff.ts";
import { describeError, isObcapError, obcapError } from "../../base/errors.ts";
import { classifyAwsError } from "../dynamodb/aws-errors.ts";
import { clientTarget } from "../dynamodb/client.ts";
import type { Item } from "../dynamodb/item.ts";
import { itemSizeBytes } from "../dynamodb/item-limits.ts";
import { itemKey } from "../dynamodb/item-identity.ts";
import type { WriteMeter } from "../dynamodb/write-meter.ts";
import { headKey, headOf, overflowPrefix, packWindow, storedWindows, unpackWindow, windowId, type PackedWindowItems, type WindowKey } from "./packed-window.ts";

export interface PackedWriterOptions {
  client: DynamoDBClient;
  table: string;
  packMs: number;
  meter?: WriteMeter;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** A retry or a merge round is about to happen (for the log at --verbose). */
  onRetry?: (message: string) => void;
}

export interface PackedWriterStats {
  /** Windows stored (each call of write that resolved). */
  windows: number;
  /** Of those, windows that were there already with other content and got merged. */
  merged: number;
  /** Windows whose events were all stored already (nothing written but a failed condition). */
  alreadyStored: number;
  /** Head puts sent (first tries, merge rounds and retries). */
  headPuts: number;
  /** Conditions that failed (another content was there). */
  conditionFailures: number;
  /** Overflow chunks written, and stale ones deleted. */
  chunksWritten: number;
  chunksDeleted: number;
  /** Retries after throttling, 5xx or network errors. */
  retries: number;
}

/** What one write stored. */
export interface WindowWriteResult {
  /** Events in the window after the write (the union). */
  events: number;
  /** The window held other content first and now holds the union. */
  merged: boolean;
  /** Every event given was stored already: nothing was written. */
  alreadyStored: boolean;
}

const CONDITION_FAILED = "ConditionalCheckFailedException";
const BATCH_MAX = 25;

export class PackedWriter {
  private readonly counts: PackedWriterStats = { windows: 0, merged: 0, alreadyStored: 0, headPuts: 0, conditionFailures: 0, chunksWritten: 0, chunksDeleted: 0, retries: 0 };
  private readonly backoff: { baseMs: number; maxMs: number; random: () => number };
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: PackedWriterOptions) {
    this.backoff = { baseMs: options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, maxMs: options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS, random: options.random ?? Math.random };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  stats(): PackedWriterStats {
    return { ...this.counts };
  }

  /** Stores `events` (event items of window `key`) so the window holds them and whatever it held. */
  async write(key: WindowKey, events: readonly Item[]): Promise<WindowWriteResult> {
    const { packMs } = this.options;
    let packed = packWindow(key, events, packMs);
    /** Digest the head must have for the next put; undefined: none or our own. */
    let replaces: { digest: string; chunks: number } | undefined;
    const stale = new Set<string>(); // overflow chunk sort keys no head will name
    let merged = false;
    for (let round = 0; ; round++) {
      await this.putChunks(packed.overflow);
      const outcome = await this.putHead(packed, replaces?.digest);
      if (outcome.kind === "stored") {
        if (replaces !== undefined && replaces.digest !== packed.digest) for (let k = 1; k < replaces.chunks; k++) stale.add(`${overflowPrefix(key, replaces.digest)}${k}`);
        for (const chunk of packed.overflow) stale.delete(chunk.sk!.S!);
        await this.deleteChunks(key, stale);
        this.counts.windows++;
        if (merged) this.counts.merged++;
        return { events: packed.events, merged, alreadyStored: false };
      }
      // Another content is there: union with it.
      for (const chunk of packed.overflow) stale.add(chunk.sk!.S!);
      const existing = outcome.existing;
      const head = headOf(existing);
      const stored = await this.readWindow(key, existing, head.digest, head.chunks);
      if (stored === undefined) {
        // Its chunks were replaced meanwhile: another writer merged; read the head again next round.
        replaces = undefined;
        packed = packWindow(key, events, packMs);
        continue;
      }
      const union = packWindow(key, [...stored, ...events], packMs);
      if (union.digest === head.digest) {
        for (let k = 1; k < head.chunks; k++) stale.delete(`${overflowPrefix(key, head.digest)}${k}`);
        await this.deleteChunks(key, stale);
        this.counts.windows++;
        this.counts.alreadyStored++;
        return { events: union.events, merged: false, alreadyStored: true };
      }
      merged = true;
      replaces = { digest: head.digest, chunks: head.chunks };
      packed = union;
      this.options.onRetry?.(`window ${windowId(key)}: held ${head.events} events of other content; writing the union of ${union.events} (round ${round + 2})`);
    }
  }

  private async putHead(packed: PackedWindowItems, replaces: string | undefined): Promise<{ kind: "stored" } | { kind: "other"; existing: Item }> {
    const size = itemSizeBytes(packed.head);
    const condition: { ConditionExpression: string; ExpressionAttributeValues: Record<string, AttributeValue> } = replaces === undefined
      ? { ConditionExpression: "attribute_not_exists(pk) OR dg = :dg", ExpressionAttributeValues: { ":dg": { S: packed.digest } } }
      : { ConditionExpression: "dg = :old", ExpressionAttributeValues: { ":old": { S: replaces } } };
    return await this.withRetry("PutItem", `PutItem of window ${packed.head.pk!.S} ${packed.head.sk!.S}`, async () => {
      this.counts.headPuts++;
      try {
        const out = await this.options.client.send(new PutItemCommand({
          TableName: this.options.table,
          Item: packed.head,
          ...condition,
          ReturnValues: "ALL_OLD",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }));
        this.options.meter?.bill(size, out.Attributes ? itemSizeBytes(out.Attributes) : 0);
        return { kind: "stored" as const };
      } catch (err) {
        if ((err as { name?: string }).name !== CONDITION_FAILED) throw err;
        const existing = (err as { Item?: Item }).Item;
        this.options.meter?.bill(size, existing ? itemSizeBytes(existing) : 0);
        this.counts.conditionFailures++;
        if (existing === undefined) {
          // DynamoDB always returns the item here when asked; a condition `dg = :old` fails on a missing item too.
          throw obcapError("E_INTERNAL", `PutItem of window ${packed.head.pk!.S} ${packed.head.sk!.S}: the condition failed and DynamoDB returned no item; the window was deleted while being merged`);
        }
        return { kind: "other" as const, existing };
      }
    });
  }

  /** The events a head names (consistent read of its chunks); undefined when its chunks are gone (a merge replaced it). */
  private async readWindow(key: WindowKey, head: Item, digest: string, chunks: number): Promise<Item[] | undefined> {
    let overflow: Item[] = [];
    if (chunks > 1) {
      const { pk } = headKey(key);
      const prefix = overflowPrefix(key, digest);
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.withRetry("Query", `Query of window ${pk} ${prefix}`, () =>
          this.options.client.send(new QueryCommand({
            TableName: this.options.table,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues: { ":pk": { S: pk }, ":prefix": { S: prefix } },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          })),
        );
        for (const item of page.Items ?? []) overflow.push(item as Item);
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      overflow = storedWindows([head, ...overflow])[0]!.chunks;
      if (overflow.length !== chunks - 1) return undefined;
    }
    return unpackWindow(head, overflow);
  }

  private async putChunks(chunks: readonly Item[]): Promise<void> {
    for (let i = 0; i < chunks.length; i += BATCH_MAX) {
      let requests: WriteRequest[] = chunks.slice(i, i + BATCH_MAX).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const sent = requests;
        const out = await this.withRetry("BatchWriteItem", `BatchWriteItem of ${sent.length} overflow chunk(s)`, () =>
          this.options.client.send(new BatchWriteItemCommand({ RequestItems: { [this.options.table]: sent } })),
        );
        const left = out.UnprocessedItems?.[this.options.table] ?? [];
        // UnprocessedItems come back as new objects: matched by key.
        const leftKeys = new Set(left.map((r) => (r.PutRequest?.Item ? itemKey(r.PutRequest.Item) : "")));
        for (const r of sent) {
          if (leftKeys.has(itemKey(r.PutRequest!.Item!))) continue;
          this.counts.chunksWritten++;
          this.options.meter?.bill(itemSizeBytes(r.PutRequest!.Item!));
        }
        requests = left;
        if (left.length > 0) {
          this.counts.retries++;
          await this.sleep(backoffDelayMs(0, this.backoff));
        }
      }
    }
  }

  /** Deletes overflow chunks no head names; a failure only leaves them (readers ignore them). */
  private async deleteChunks(key: WindowKey, sortKeys: Set<string>): Promise<void> {
    const { pk } = headKey(key);
    for (const sk of sortKeys) {
      try {
        const out = await this.options.client.send(new DeleteItemCommand({ TableName: this.options.table, Key: { pk: { S: pk }, sk: { S: sk } }, ReturnValues: "ALL_OLD" }));
        if (out.Attributes) {
          this.counts.chunksDeleted++;
          this.options.meter?.bill(itemSizeBytes(out.Attributes));
        } else this.options.meter?.bill(0);
      } catch (err) {
        this.options.onRetry?.(`window ${pk} ${sk}: stale chunk not deleted (${describeError(err)}); readers ignore it`);
      }
    }
    sortKeys.clear();
  }

  /** Runs `call` until it succeeds; retryable errors wait with full jitter, others reject as their ObcapError. */
  private async withRetry<T>(operation: string, what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (isObcapError(err)) throw err;
        const verdict = classifyAwsError(err, { ...(await clientTarget(this.options.client)), table: this.options.table, operation });
        if (verdict.kind === "fatal") throw verdict.error;
        this.counts.retries++;
        const delayMs = backoffDelayMs(attempt, this.backoff);
        this.options.onRetry?.(`${what}: retry ${attempt + 1} in ${delayMs} ms: ${verdict.reason}`);
        await this.sleep(delayMs);
      }
    }
  }
}
