/**
 * ItemUploader's acknowledged position: it moves only over a finished prefix of the source, whatever
 * order the batches finish in. The writer here is a stand-in that lets the test finish batches in any
 * order (the real BatchWriter against DynamoDB Local is covered in tests/integration/).
 */
import { describe, expect, test } from "bun:test";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { ItemUploader } from "../../../src/pipeline/uploader.ts";
import type { BatchWriter } from "../../../src/store/dynamodb/batch-writer.ts";

type Item = Record<string, AttributeValue>;

/** Holds each submitted batch until the test finishes it. */
class ManualWriter {
  batches: Array<{ items: Item[]; finish: () => void }> = [];
  submit(items: Item[], onWritten?: () => void): Promise<void> {
    this.batches.push({ items, finish: () => onWritten?.() });
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  fatal(): undefined {
    return undefined;
  }
}

const item = (n: number): Item => ({ pk: { S: "btcusd#orders#2026112700#0" }, sk: { S: `k${n}` } });

function setup() {
  const writer = new ManualWriter();
  const uploader = new ItemUploader<number>(writer as unknown as BatchWriter);
  return { writer, uploader };
}

describe("ItemUploader", () => {
  test("acknowledges a skipped frame at once when nothing is in flight", () => {
    const { uploader } = setup();
    expect(uploader.acknowledged()).toBeUndefined();
    uploader.skip(1);
    expect(uploader.acknowledged()).toBe(1);
  });

  test("a batch finishing before an earlier one does not move the position past the earlier one", async () => {
    const { writer, uploader } = setup();
    for (let n = 1; n <= 50; n++) uploader.add(item(n), n); // two full batches: 1-25, 26-50
    uploader.skip(51);
    await uploader.pump();
    expect(writer.batches.length).toBe(2);
    writer.batches[1]!.finish();
    expect(uploader.acknowledged()).toBeUndefined();
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(51);
  });

  test("skips between batches wait for the batches before them", async () => {
    const { writer, uploader } = setup();
    for (let n = 1; n <= 25; n++) uploader.add(item(n), n);
    uploader.skip(26);
    uploader.skip(27);
    await uploader.pump();
    expect(uploader.acknowledged()).toBeUndefined();
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(27);
  });

  test("a skip inside an open batch is carried by that batch", async () => {
    const { writer, uploader } = setup();
    uploader.add(item(1), 1);
    uploader.skip(2);
    uploader.add(item(3), 3);
    await uploader.lingerFlush(Date.now() + 1_000, 0);
    expect(writer.batches.length).toBe(1);
    expect(uploader.acknowledged()).toBeUndefined();
    writer.batches[0]!.finish();
    expect(uploader.acknowledged()).toBe(3);
  });

  test("with batches finishing in random order the position is always the longest finished prefix", async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const { writer, uploader } = setup();
    const skipped = new Set<number>();
    let position = 0;
    for (let n = 0; n < 2_000; n++) {
      position++;
      if (random() < 0.2) {
        uploader.skip(position);
        skipped.add(position);
      } else uploader.add(item(position), position);
      await uploader.pump();
    }
    await uploader.finish();
    const batchOf = new Map<number, number>();
    writer.batches.forEach((b, i) => b.items.forEach((it) => batchOf.set(Number(it.sk!.S!.slice(1)), i)));
    expect(batchOf.size + skipped.size).toBe(position);
    const finished = new Set<number>();
    const longestPrefix = () => {
      let p = 0;
      while (p < position && (skipped.has(p + 1) || finished.has(batchOf.get(p + 1)!))) p++;
      return p;
    };
    // Leading skips are acknowledged before any batch finishes.
    expect(uploader.acknowledged() ?? 0).toBe(longestPrefix());
    const order = writer.batches.map((_, i) => i).sort(() => random() - 0.5);
    for (const index of order) {
      writer.batches[index]!.finish();
      finished.add(index);
      expect(uploader.acknowledged() ?? 0).toBe(longestPrefix());
    }
    expect(uploader.acknowledged()).toBe(position);
  });
});
