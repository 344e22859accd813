/**
 * runExport over an in-memory table that answers Query like DynamoDB (key condition, sort-key order,
 * pages of `Limit` items with LastEvaluatedKey): every hour bucket and shard is read, pages are
 * followed, partitions are merged in sort-key order, [from, to) is half-open, and a bounded number of
 * queries run at once. DynamoDB Local itself is covered in tests/integration/export.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../../src/store/dynamodb/item.ts";
import { runExport, type ExportOptions, type ExportSummary } from "../../../src/export/export-run.ts";
import { bufferedOutput, OutputClosed } from "../../../src/export/line-output.ts";
import { compareDecimalText, mergeCursors } from "../../../src/export/merge.ts";
import { Limiter, PartitionCursor, type QueryFn } from "../../../src/export/partition-query.ts";
import { generateFrames } from "../../support/frame-generator.ts";

const SHARDS = 4;

function itemsOf(frames: string[], rx = true): Item[] {
  return frames.map((frame, i) => {
    const result = decodeFrame(frame, 1_000 + i);
    if (result.kind !== "event") throw new Error(`not an event: ${frame}`);
    const item = encodeItem(result.event, SHARDS);
    if (!rx) delete item.rx;
    return item;
  });
}

/** A table in memory answering Query with DynamoDB's semantics (inclusive BETWEEN, sk order, Limit pages). */
function memoryTable(items: Item[], pageItems: number) {
  const calls: string[] = [];
  const query: QueryFn = async (pk, lo, hi, startKey) => {
    calls.push(pk);
    // A query takes time, as over the network, so the run has several in flight (not an ordering sleep).
    await new Promise((resolve) => setTimeout(resolve, 1));
    const rows = items
      .filter((it) => it.pk!.S === pk && it.sk!.S! >= lo && it.sk!.S! <= hi && (startKey === undefined || it.sk!.S! > startKey.sk!.S!))
      .sort((a, b) => (a.sk!.S! < b.sk!.S! ? -1 : 1));
    const page = rows.slice(0, pageItems);
    return { items: page, lastKey: rows.length > pageItems ? { pk: page.at(-1)!.pk!, sk: page.at(-1)!.sk! } : undefined };
  };
  return { query, calls };
}

async function exportLines(options: Omit<ExportOptions, "output" | "onBadItem">): Promise<{ lines: string[]; bad: string[] }> {
  let text = "";
  const bad: string[] = [];
  const output = bufferedOutput(async (chunk) => void (text += chunk), async () => undefined, 1000);
  await runExport({ ...options, output, onBadItem: (key, reason) => bad.push(`${key}: ${reason}`) });
  await output.close();
  return { lines: text.split("\n").filter(Boolean), bad };
}

const micros = (frame: string) => Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);

describe("runExport", () => {
  // 3 hours of two pairs: meanGapMs 2000 over 6,000 frames.
  const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 3_000, seed: 9, meanGapMs: 2_000 });
  const from = micros(frames[0]!);
  const to = micros(frames.at(-1)!) + 1;

  test("rebuilds every frame of the range in exchange-time order across hours, shards, streams and pairs", async () => {
    const table = memoryTable(itemsOf(frames), 7);
    const { lines, bad } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd", "ethusd"], streams: ["orders", "trades"],
      range: { fromMicros: from, toMicros: to }, format: "frames",
    });
    expect(bad).toEqual([]);
    expect(lines.length).toBe(frames.length);
    expect([...lines].sort()).toEqual([...frames].sort());
    const times = lines.map(micros);
    expect(times.every((t, i) => i === 0 || times[i - 1]! <= t)).toBe(true);
    expect(new Set(table.calls).size).toBeGreaterThanOrEqual(3 * 2 * 2 * SHARDS);
  });

  test("includes an event at `from` and excludes one at `to`", async () => {
    const table = memoryTable(itemsOf(frames), 1000);
    const fromMicros = micros(frames[100]!);
    const toMicros = micros(frames[200]!);
    const { lines } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd", "ethusd"], streams: ["orders", "trades"],
      range: { fromMicros, toMicros }, format: "frames",
    });
    const expected = frames.filter((f) => micros(f) >= fromMicros && micros(f) < toMicros);
    expect(expected.some((f) => micros(f) === fromMicros)).toBe(true);
    expect([...lines].sort()).toEqual([...expected].sort());
  });

  test("exports one pair and one stream when asked", async () => {
    const table = memoryTable(itemsOf(frames), 50);
    const { lines } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["ethusd"], streams: ["trades"],
      range: { fromMicros: from, toMicros: to }, format: "frames",
    });
    const expected = frames.filter((f) => f.includes('"channel":"live_trades_ethusd"'));
    expect(expected.length).toBeGreaterThan(0);
    expect([...lines].sort()).toEqual([...expected].sort());
  });

  test("writes journal lines with the stored receive time, and plain frames for items without one", async () => {
    const withRx = itemsOf(frames.slice(0, 10));
    const withoutRx = itemsOf(frames.slice(10, 20), false);
    const table = memoryTable([...withRx, ...withoutRx], 1000);
    const { lines } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd", "ethusd"], streams: ["orders", "trades"],
      range: { fromMicros: from, toMicros: to }, format: "journal",
    });
    // With a receive time, the order is the order received (rx grows with the frames here).
    expect(lines.slice(0, 10)).toEqual(frames.slice(0, 10).map((f, i) => `{"rx":${1000 + i},"m":${f}}`));
    // Without one, events of one microtimestamp keep sort-key order, which need not be the generated order.
    expect([...lines.slice(10)].sort()).toEqual([...frames.slice(10, 20)].sort());
  });

  test("events of one microtimestamp come out in the order received, not in event_id order", async () => {
    // A burst of one microtimestamp: the generator's event_id counter wraps inside it, so sort-key order differs.
    const burst = frames.filter((f) => f.includes('"channel":"live_orders_') && f.includes('"event_id"')).slice(0, 400);
    const byMicros = new Map<string, string[]>();
    for (const f of burst) {
      const micros = /"microtimestamp":"(\d+)"/.exec(f)![1]!;
      byMicros.set(micros, [...(byMicros.get(micros) ?? []), f]);
    }
    const reordered = [...byMicros.values()].find((group) => {
      const sorted = [...group].sort((a, b) => (/"event_id":"([^"]+)"/.exec(a)![1]! < /"event_id":"([^"]+)"/.exec(b)![1]! ? -1 : 1));
      return group.length > 1 && sorted.some((f, i) => f !== group[i]);
    });
    expect(reordered).toBeDefined();
    const items = itemsOf(reordered!);
    const table = memoryTable(items, 1000);
    const { lines } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd", "ethusd"], streams: ["orders", "trades"],
      range: { fromMicros: from, toMicros: to }, format: "frames",
    });
    const channelOf = (f: string) => /"channel":"([^"]+)"/.exec(f)![1]!;
    for (const channel of new Set(reordered!.map(channelOf))) {
      expect(lines.filter((l) => channelOf(l) === channel)).toEqual(reordered!.filter((f) => channelOf(f) === channel));
    }
  });

  test("reports an item that is not an obcap event item and exports the others", async () => {
    const items = itemsOf(frames.slice(0, 5));
    delete items[2]!.ev;
    const table = memoryTable(items, 1000);
    const { lines, bad } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd", "ethusd"], streams: ["orders", "trades"],
      range: { fromMicros: from, toMicros: to }, format: "frames",
    });
    expect(lines.length).toBe(4);
    expect(bad).toEqual([`pk=${items[2]!.pk!.S} sk=${items[2]!.sk!.S}: item ${JSON.stringify(items[2]!.pk!.S)} / ${JSON.stringify(items[2]!.sk!.S)} is not an obcap event item (bad pk or no ev)`]);
  });
});

describe("runExport with the hours listed from coverage records", () => {
  // Two hours of data, a year apart.
  const early = generateFrames({ pairs: ["btcusd"], countPerPair: 40, seed: 21, meanGapMs: 1_000, startMicros: Date.UTC(2021, 5, 1, 12) * 1000 });
  const late = generateFrames({ pairs: ["btcusd"], countPerPair: 40, seed: 22, meanGapMs: 1_000, startMicros: Date.UTC(2022, 5, 1, 12) * 1000 });
  const frames = [...early, ...late];
  const hourOf = (item: Item) => item.pk!.S!.split("#")[2]!;
  const channelOf = (item: Item) => item.pk!.S!.split("#").slice(0, 2).join("#");

  test("reads only the listed hours of each pair and stream, and returns exactly the frames", async () => {
    const items = itemsOf(frames);
    const table = memoryTable(items, 1000);
    const listed: string[] = [];
    const listHours = async (pair: string, stream: string) => {
      listed.push(`${pair}#${stream}`);
      return [...new Set(items.filter((i) => channelOf(i) === `${pair}#${stream}`).map(hourOf))].sort();
    };
    let summary: ExportSummary | undefined;
    const { lines } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd", "ethusd"], streams: ["orders", "trades"],
      range: { fromMicros: Date.UTC(2020, 0, 1) * 1000, toMicros: Date.UTC(2027, 0, 1) * 1000 }, format: "frames", listHours,
      onHour: (_hour, s) => void (summary = s),
    });
    expect([...lines].sort()).toEqual([...frames].sort());
    expect(listed.sort()).toEqual(["btcusd#orders", "btcusd#trades", "ethusd#orders", "ethusd#trades"]);
    // Only the partitions of the (pair, stream, hour)s that hold data were queried: no probing of the seven years.
    const held = new Set(items.map((i) => `${channelOf(i)}#${hourOf(i)}`));
    expect(new Set(table.calls.map((pk) => pk.replace(/#\d+$/, "")))).toEqual(held);
    expect(table.calls.length).toBe(held.size * SHARDS);
    expect(summary).toMatchObject({ hours: new Set(items.map(hourOf)).size, partitions: held.size * SHARDS });
  });

  test("nothing listed: no partition is queried, nothing exported", async () => {
    const table = memoryTable(itemsOf(frames), 1000);
    const { lines } = await exportLines({
      query: table.query, shards: SHARDS, pairs: ["btcusd"], streams: ["orders", "trades"],
      range: { fromMicros: 0, toMicros: Date.UTC(2027, 0, 1) * 1000 }, format: "frames", listHours: async () => [],
    });
    expect(lines).toEqual([]);
    expect(table.calls).toEqual([]);
  });
});

describe("runExport when the reader goes away", () => {
  test("stops quietly at the first write after the output closed, and says so", async () => {
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 500, seed: 4 });
    const table = memoryTable(itemsOf(frames), 100);
    let writes = 0;
    const output = bufferedOutput(async () => {
      if (++writes > 1) throw new OutputClosed("stdout was closed by its reader");
    }, async () => undefined, 1000);
    const summary = await runExport({
      query: table.query, shards: SHARDS, pairs: ["btcusd"], streams: ["orders", "trades"],
      range: { fromMicros: micros(frames[0]!), toMicros: micros(frames.at(-1)!) + 1 }, format: "frames",
      output, onBadItem: () => undefined,
    });
    expect(summary.closedEarly).toBe(true);
    expect(summary.frames).toBeGreaterThan(0);
    expect(summary.frames).toBeLessThan(frames.length);
  });
});

describe("PartitionCursor and mergeCursors", () => {
  const item = (pk: string, sk: string): Item => ({ pk: { S: pk }, sk: { S: sk } });
  const pages = (pk: string, sks: string[][]) => {
    let next = 0;
    return new PartitionCursor(pk, async () => {
      const page = sks[next++]!;
      return { items: page.map((sk) => item(pk, sk)), lastKey: next < sks.length ? { pk: { S: pk } } : undefined };
    });
  };

  test("merges partitions by sort key across pages, ties broken by partition key, empty pages skipped", async () => {
    const cursors = [pages("b", [["1", "4"], [], ["9"]]), pages("a", [["1", "2"], ["3"]]), pages("c", [[]])];
    const out: string[] = [];
    await mergeCursors(cursors, (it) => void out.push(`${it.pk!.S}${it.sk!.S}`));
    expect(out).toEqual(["a1", "b1", "a2", "a3", "b4", "b9"]);
  });
});

describe("PartitionCursor reading ahead or not", () => {
  const cursorOf = (ahead: boolean) => {
    const fetched: (string | undefined)[] = [];
    const pages = [["1", "2"], ["3", "4"], ["5"]];
    const cursor = new PartitionCursor("p", async (startKey) => {
      fetched.push(startKey?.sk?.S);
      const index = startKey === undefined ? 0 : Number(startKey.sk!.S) / 2;
      const page = pages[index]!;
      return { items: page.map((sk) => ({ pk: { S: "p" }, sk: { S: sk } })), lastKey: index + 1 < pages.length ? { pk: { S: "p" }, sk: { S: page.at(-1)! } } : undefined };
    }, { ahead });
    return { cursor, fetched };
  };

  test("ahead (export): the next page is asked for as soon as a page arrives", async () => {
    const { cursor, fetched } = cursorOf(true);
    expect(await cursor.load()).toBe(true);
    expect(fetched).toEqual([undefined, "2"]);
  });

  test("not ahead (an API page): a page is asked for only when the one before is used up, and every item still comes", async () => {
    const { cursor, fetched } = cursorOf(false);
    expect(await cursor.load()).toBe(true);
    cursor.advance();
    expect(fetched).toEqual([undefined]);
    const seen: string[] = ["1"];
    for (; await cursor.load(); cursor.advance()) if (cursor.current()!.sk!.S !== "1") seen.push(cursor.current()!.sk!.S!);
    expect(seen).toEqual(["1", "2", "3", "4", "5"]);
    expect(fetched).toEqual([undefined, "2", "4"]);
  });
});

describe("mergeCursors within one microtimestamp", () => {
  const MICROS = "1786269861947000";
  /** An order event of the 2023 form (no event_id): its sort key ends in #c, #u#<amount> or #d. */
  const orderItem = (event: string, id: string, amount: string, rx: number): Item => {
    const frame = `{"data":{"id":${id},"id_str":"${id}","order_type":0,"datetime":"1786269862","microtimestamp":"${MICROS}","amount":${amount},"amount_str":"${amount}","price":58356.1,"price_str":"58356.10"},"channel":"live_orders_btcusd","event":"${event}"}`;
    const result = decodeFrame(frame, rx);
    if (result.kind !== "event") throw new Error(`not an event: ${frame}`);
    return encodeItem(result.event, 1);
  };
  const merged = async (items: Item[]): Promise<string[]> => {
    const sorted = [...items].sort((a, b) => (a.sk!.S! < b.sk!.S! ? -1 : 1)); // one partition, in sort-key order
    const out: string[] = [];
    await mergeCursors([new PartitionCursor(sorted[0]!.pk!.S!, async () => ({ items: sorted, lastKey: undefined }))], (it) => void out.push(`${it.ev!.S}:${it.id!.N}:${it.a!.N ?? it.a!.S}`));
    return out;
  };

  test("one receive time (a recording stamped per ms): an order's events go created, changed, deleted, though the sort key puts d before u", async () => {
    const items = [orderItem("order_created", "7", "1.5", 500), orderItem("order_changed", "7", "0.5", 500), orderItem("order_deleted", "7", "0", 500)];
    expect(items.map((i) => i.sk!.S!.slice(17)).sort()).toEqual(["7#c", "7#d", "7#u#0.5"]);
    expect(await merged(items)).toEqual(["order_created:7:1.5", "order_changed:7:0.5", "order_deleted:7:0"]);
  });

  test("receive times from two boxes' clocks that put the delete first still give the lifecycle; other orders keep their places", async () => {
    const items = [orderItem("order_changed", "7", "0.5", 900), orderItem("order_deleted", "7", "0", 100), orderItem("order_created", "8", "2", 500)];
    // By rx: d7 (100), c8 (500), u7 (900); order 7's two places then take its lifecycle.
    expect(await merged(items)).toEqual(["order_changed:7:0.5", "order_created:8:2", "order_deleted:7:0"]);
  });

  test("several changes of one order: by receive time, and with one receive time the larger remaining amount first", async () => {
    const same = [orderItem("order_changed", "7", "0.25", 500), orderItem("order_changed", "7", "1E-8", 500), orderItem("order_changed", "7", "0.5", 500), orderItem("order_changed", "7", "10", 500)];
    expect(await merged(same)).toEqual(["order_changed:7:10", "order_changed:7:0.5", "order_changed:7:0.25", "order_changed:7:1E-8"]);
    const timed = [orderItem("order_changed", "7", "0.25", 400), orderItem("order_changed", "7", "0.5", 600)];
    expect(await merged(timed)).toEqual(["order_changed:7:0.25", "order_changed:7:0.5"]);
  });

  test("compareDecimalText is exact on plain and exponent forms", () => {
    const cases: [string, string, number][] = [["0.5", "0.50", 0], ["1E-8", "0.00000001", 0], ["1.5E+3", "1500", 0], ["10", "9.99999999", 1], ["0.1", "0.09", 1], ["0", "0.00000001", -1], ["123456789012345678.1", "123456789012345678.09", 1]];
    for (const [a, b, sign] of cases) {
      expect(Math.sign(compareDecimalText(a, b)) || 0).toBe(sign);
      expect(Math.sign(compareDecimalText(b, a)) || 0).toBe(-sign || 0);
    }
  });
});

describe("Limiter", () => {
  test("runs at most its bound at once and everything eventually", async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          // The task takes time, so the others queue for a slot (not an ordering sleep).
          await new Promise((resolve) => setTimeout(resolve, 1));
          active--;
          return i;
        }),
      ),
    );
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
  });
});
