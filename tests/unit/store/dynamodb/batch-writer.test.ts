/**
 * What BatchWriter checks before it sends anything: the batch shape (BatchWriteItem would refuse the
 * whole request) and its options. Writing, retries and refusals are tested against DynamoDB Local
 * (tests/integration/batch-writer.test.ts); the client here is real and never called.
 */
import { describe, expect, test } from "bun:test";
import { isObcapError, type ObcapError } from "../../../../src/base/errors.ts";
import { BatchWriter } from "../../../../src/store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../../../../src/store/dynamodb/client.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";

/** Nothing listens there: a request sent by mistake would fail the test instead of passing quietly. */
const client = createDynamoClient({ endpoint: "http://127.0.0.1:9", region: "eu-west-1" });

const item = (i: number): Item => ({ pk: { S: "btcusd#orders#2026080910#0" }, sk: { S: `1786269861947000#${i}` }, rx: { N: "1" } });

function writer(): BatchWriter {
  return new BatchWriter({ client, table: "Orders", sleep: () => Promise.reject(new Error("no retry expected")) });
}

async function rejection(promise: Promise<unknown>): Promise<ObcapError> {
  try {
    await promise;
  } catch (err) {
    if (isObcapError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("BatchWriter.submit, before sending", () => {
  test("more than 25 items: E_INTERNAL, nothing sent", async () => {
    const w = writer();
    const err = await rejection(w.submit(Array.from({ length: 26 }, (_, i) => item(i))));
    expect(err.code).toBe("E_INTERNAL");
    expect(err.message).toBe("a batch holds 26 items; BatchWriteItem takes at most 25");
    expect(w.stats().requests).toBe(0);
    expect(w.stats().pendingItems).toBe(0);
  });

  test("one key twice (other attributes aside): E_INTERNAL naming the key, nothing sent", async () => {
    const w = writer();
    const again: Item = { ...item(3), rx: { N: "2" } };
    const err = await rejection(w.submit([item(1), item(3), item(2), again]));
    expect(err.code).toBe("E_INTERNAL");
    expect(err.message).toBe("a batch holds the key pk=btcusd#orders#2026080910#0 sk=1786269861947000#3 twice; BatchWriteItem would reject it");
    expect(w.stats().requests).toBe(0);
  });

  test("an item without string keys: E_INTERNAL", async () => {
    const err = await rejection(writer().submit([{ pk: { S: "p" } }]));
    expect(err.code).toBe("E_INTERNAL");
  });

  test("an empty batch is ignored, and a malformed one does not stop the writer", async () => {
    const w = writer();
    await w.submit([]);
    await rejection(w.submit(Array.from({ length: 26 }, (_, i) => item(i))));
    await w.flush();
    expect(w.fatal()).toBeUndefined();
    expect(w.stats()).toEqual({
      requests: 0,
      written: 0,
      coverageWritten: 0,
      retriedItems: 0,
      retryRequests: 0,
      unprocessedItems: 0,
      throttled: 0,
      transientErrors: 0,
      inFlight: 0,
      pendingItems: 0,
      refusedItems: 0,
      concurrency: 8,
    });
  });
});

describe("BatchWriter options", () => {
  test("maxInFlight must be a positive integer", () => {
    for (const maxInFlight of [0, -1, 1.5, Number.NaN]) {
      expect(() => new BatchWriter({ client, table: "Orders", maxInFlight })).toThrow(RangeError);
    }
    expect(() => new BatchWriter({ client, table: "Orders", maxInFlight: 1 })).not.toThrow();
  });
});

describe("BatchWriter counts coverage items apart", () => {
  test("coverageWritten is the coverage items among the written ones, UnprocessedItems re-sent included", async () => {
    const coverage = (hour: string): Item => ({ pk: { S: "obcap#coverage" }, sk: { S: `btcusd#orders#${hour}` }, ev: { S: "obcap:coverage" } });
    const items = [coverage("2026080910"), item(1), coverage("2026080911"), item(2), item(3)];
    let call = 0;
    // A stand-in client: the first answer leaves one coverage item and one event unprocessed.
    const stub = {
      async send(command: { input: { RequestItems: Record<string, Array<{ PutRequest: { Item: Item } }>> } }) {
        const requests = command.input.RequestItems.Orders!;
        call++;
        if (call === 1) return { UnprocessedItems: { Orders: [requests[2]!, requests[3]!] } };
        return { UnprocessedItems: {} };
      },
    };
    const w = new BatchWriter({ client: stub as unknown as typeof client, table: "Orders", sleep: () => Promise.resolve(), random: () => 0 });
    let done = false;
    await w.submit(items, () => (done = true));
    await w.flush();
    expect(done).toBe(true);
    expect(w.stats()).toMatchObject({ requests: 2, written: 5, coverageWritten: 2, unprocessedItems: 2, pendingItems: 0 });
  });
});
