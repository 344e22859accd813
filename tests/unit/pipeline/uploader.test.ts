/**
 * ItemUploader's acknowledged position. The invariant under test: a source position is acknowledged
 * only when every item taken from it (and from every position before it) is acknowledged by DynamoDB.
 * The writer here is a stand-in that lets the test finish batches in any order (the real BatchWriter
 * against DynamoDB Local is covered in tests/integration/).
 */
import { describe, expect, test } from "bun:test";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { ItemUploader } from "../../../src/pipeline/uploader.ts";
import type { BatchWriter } from "../../../src/store/dynamodb/batch-writer.ts";

type Item = Record<string, AttributeValue>;

interface HeldBatch {
  items: Item[];
  /** Items added to the uploader when this batch was submitted (the model's clock). */
  submittedAfter: number;
  finished: boolean;
  finish: () => void;
}

/** Holds each submitted batch until the test finishes it. */
class ManualWriter {
  batches: HeldBatch[] = [];
  addedSoFar = 0;
  submit(items: Item[], onWritten?: () => void): Promise<void> {
    const batch: HeldBatch = {
      items,
      submittedAfter: this.addedSoFar,
      finished: false,
      finish: () => {
        batch.finished = true;
        onWritten?.();
      },
    };
    this.batches.push(batch);
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  fatal(): undefined {
    return undefined;
  }
}

const item = (key: string): Item => ({ pk: { S: "btcusd#orders#2026112700#0" }, sk: { S: key } });

function setup() {
  const writer = new ManualWriter();
  const uploader = new ItemUploader<number>(writer as unknown as BatchWriter);
  return { writer, uploader };
}

describe("ItemUploader", () => {
  test("acknowledges a frame without items at once when nothing is in flight", () => {
    const { uploader } = setup();
    expect(uploader.acknowledged()).toBeUndefined();
    uploader.take([], 1);
    expect(uploader.acknowledged()).toBe(1);
  });

  test("a batch finishing before an earlier one does not move the position past the earlier one", async () => {
    const { writer, uploader } = setup();
    for (let n = 1; n <= 50; n++) uploader.take([item(`k${n}`)], n); // two full batches: 1-25, 26-50
    uploader.take([], 51);
    await uploader.pump();
    expect(writer.batches.length).toBe(2);
    writer.batches[1]!.finish();
    expect(uploader.acknowledged()).toBeUndefined();
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(51);
  });

  test("frames without items between batches wait for the batches before them", async () => {
    const { writer, uploader } = setup();
    for (let n = 1; n <= 25; n++) uploader.take([item(`k${n}`)], n);
    uploader.take([], 26);
    uploader.take([], 27);
    await uploader.pump();
    expect(uploader.acknowledged()).toBeUndefined();
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(27);
  });

  test("a frame without items inside an open batch is acknowledged with that batch", async () => {
    const { writer, uploader } = setup();
    uploader.take([item("k1")], 1);
    uploader.take([], 2);
    uploader.take([item("k3")], 3);
    await uploader.lingerFlush(Date.now() + 1_000, 0);
    expect(writer.batches.length).toBe(1);
    expect(uploader.acknowledged()).toBeUndefined();
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(3);
  });

  // The review's case: a chain-gap item and its event from one journal line, the gap the 25th item of
  // a batch and the event the first of the next. Acknowledging the first batch must not pass the line.
  test("a frame whose items straddle two batches is acknowledged only when both are", async () => {
    const { writer, uploader } = setup();
    for (let n = 1; n <= 24; n++) uploader.take([item(`k${n}`)], n);
    uploader.take([item("gap25"), item("event25")], 25);
    await uploader.pump();
    expect(writer.batches.length).toBe(1);
    expect(writer.batches[0]!.items.map((i) => i.sk!.S)).toContain("gap25");
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(24);
    await uploader.lingerFlush(Date.now() + 1_000, 0);
    writer.batches[1]!.finish();
    expect(uploader.acknowledged()).toBe(25);
  });

  test("an item replaced in the open batch by a later copy is acknowledged with the copy's batch", async () => {
    const { writer, uploader } = setup();
    uploader.take([item("same")], 1);
    uploader.take([item("other")], 2);
    uploader.take([item("same")], 3);
    await uploader.lingerFlush(Date.now() + 1_000, 0);
    expect(writer.batches.length).toBe(1);
    expect(writer.batches[0]!.items.length).toBe(2);
    expect(uploader.duplicatesDropped).toBe(1);
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(3);
  });

  describe("against a model: positions with 0, 1 and several items, random batch boundaries, random acknowledgement order", () => {
    /**
     * The model knows nothing of the uploader's batching: an item added as the n-th item is stored once a
     * finished batch holds its key and was submitted after it was added (the same key later in the same
     * open batch replaces it; an earlier batch with its key does not count). A position is stored when
     * all its items are; the model's acknowledged position is the longest stored prefix.
     */
    async function runScenario(seed: number, duplicateShare: number) {
      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const { writer, uploader } = setup();
      const recentKeys: string[] = [];
      let added = 0;
      let positions = 0;
      let violations = 0;
      let mismatches = 0;
      let checks = 0;

      // Items by key, marked stored as finished batches cover them; the prefix only grows.
      const byKey = new Map<string, Array<{ addedAs: number; stored: boolean }>>();
      const unstoredOf: number[] = [0]; // index = position: items not yet stored
      const positionOf = new Map<{ addedAs: number; stored: boolean }, number>();
      let prefix = 0;
      const markFinished = (batch: HeldBatch) => {
        for (const it of batch.items) {
          for (const entry of byKey.get(it.sk!.S!) ?? []) {
            if (entry.stored || entry.addedAs > batch.submittedAfter) continue;
            entry.stored = true;
            unstoredOf[positionOf.get(entry)!]!--;
          }
        }
      };
      const storedPrefix = (): number => {
        while (prefix < positions && unstoredOf[prefix + 1] === 0) prefix++;
        return prefix;
      };
      const check = () => {
        checks++;
        const acked = uploader.acknowledged() ?? 0;
        const model = storedPrefix();
        if (acked > model) violations++;
        if (acked !== model) mismatches++;
      };

      for (let step = 0; step < 600; step++) {
        positions++;
        const draw = random();
        const count = draw < 0.3 ? 0 : draw < 0.8 ? 1 : draw < 0.9 ? 2 : 3 + Math.floor(random() * 40);
        const items: Item[] = [];
        const entries: Array<{ key: string; addedAs: number }> = [];
        for (let i = 0; i < count; i++) {
          const reuse = recentKeys.length > 0 && random() < duplicateShare;
          const key = reuse ? recentKeys[Math.floor(random() * recentKeys.length)]! : `p${positions}i${i}`;
          // The same key twice inside one position would make the model's "added as" ambiguous.
          if (entries.some((e) => e.key === key)) continue;
          added++;
          entries.push({ key, addedAs: added });
          items.push(item(key));
          recentKeys.push(key);
          if (recentKeys.length > 60) recentKeys.shift();
        }
        unstoredOf.push(entries.length);
        for (const e of entries) {
          const entry = { addedAs: e.addedAs, stored: false };
          positionOf.set(entry, positions);
          byKey.set(e.key, [...(byKey.get(e.key) ?? []), entry]);
        }
        uploader.take(items, positions);
        writer.addedSoFar = added;
        await uploader.pump();
        if (random() < 0.15) await uploader.lingerFlush(Number.MAX_SAFE_INTEGER, 0);
        check();
        // Finish some submitted batches, in random order.
        while (random() < 0.4) {
          const open = writer.batches.filter((b) => !b.finished);
          if (open.length === 0) break;
          const batch = open[Math.floor(random() * open.length)]!;
          batch.finish();
          markFinished(batch);
          check();
        }
      }
      await uploader.finish();
      for (const batch of writer.batches.filter((b) => !b.finished).sort(() => random() - 0.5)) {
        batch.finish();
        markFinished(batch);
        check();
      }
      return { violations, mismatches, checks, finalAck: uploader.acknowledged(), positions, batches: writer.batches.length };
    }

    test("never acknowledges a position with an item still unacknowledged, and acknowledges exactly the stored prefix", async () => {
      for (let seed = 1; seed <= 40; seed++) {
        const run = await runScenario(seed, 0);
        expect({ seed, violations: run.violations, mismatches: run.mismatches }).toEqual({ seed, violations: 0, mismatches: 0 });
        expect(run.finalAck).toBe(run.positions);
        expect(run.batches).toBeGreaterThan(10);
      }
    });

    test("with repeated keys (overlaps, replays) it still never acknowledges ahead of the model", async () => {
      for (let seed = 100; seed < 140; seed++) {
        const run = await runScenario(seed, 0.15);
        expect({ seed, violations: run.violations }).toEqual({ seed, violations: 0 });
        expect(run.finalAck).toBe(run.positions);
      }
    });
  });
});
