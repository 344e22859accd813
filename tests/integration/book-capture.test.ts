/**
 * The order book end to end, against the test exchange that knows its true book: resting orders that
 * are never sent as events, then every order frame it sends. obcap captures with snapshots (after
 * subscribing, every second, and after a forced reconnect in the middle) into DynamoDB Local and its
 * journal; then
 * `obcap book --at T --l3 --json`, from the table and from the journal, must equal the exchange's own
 * book at T (the generator's book after the last frame at or before T), order by order, and the
 * capture's self-check must have compared the periodic snapshots with zero differences (a snapshot
 * after a reconnect starts the book again: events may be missing across the gap).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { parseOrderBookSnapshot } from "../../src/book/snapshot-schema.ts";
import { bookFromSnapshot } from "../../src/book/snapshot-book.ts";
import { truthOrders, jsonOrders, type BookJson } from "../support/book-journal.ts";
import { runObcap, startObcap, testClient } from "../support/capture-harness.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { TrueBook } from "../support/fake-exchange-book.ts";
import { FrameGenerator } from "../support/frame-generator.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { createTestTable } from "../support/test-table.ts";

setDefaultTimeout(300_000);

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];
const BATCHES = 4;
const FRAMES_PER_BATCH = 1500;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());



test("capture with snapshots and reconnects, then obcap book --at T equals the exchange's true book at T; the self-check finds nothing", async () => {
  const table = await createTestTable(endpoint, "book-capture");
  // Exchange times close to now (the journal's segments are named by receive time), 2 ms apart on average.
  const startMicros = Math.floor(Date.now() / 1000) * 1_000_000;
  const generator = new FrameGenerator({ pairs: [PAIR], countPerPair: BATCHES * FRAMES_PER_BATCH + 100, seed: 41, initialOrdersPerPair: 300, startMicros, meanGapMs: 2 });
  const initial = generator.bookSnapshot(PAIR)!;
  // The truth after every frame: its exchange time and the book then.
  const truth: { micros: number; book: string }[] = [];
  const exchangeBook = new TrueBook({ [PAIR]: initial });
  await using fake = await startFakeExchange({ trueBook: { initial: { [PAIR]: initial } }, recordSentFrames: false });
  const obcap = startObcap("source", [
    "--pair", PAIR, "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1", "--snapshot-every", "1s",
  ]);
  const journal = join(obcap.cwd, "obcap-data");
  let exitCode: number;
  let sent = 0;
  try {
    await fake.whenSubscribed(CHANNELS, 60_000);
    await obcap.waitForLog(/order book snapshot of btcusd \(after subscribing\)[^\n]*journaled/, 60_000);
    const snapshotsSoFar = () => (obcap.stderr().match(/order book snapshot of btcusd \((after subscribing|periodic)\)[^\n]*journaled/g) ?? []).length;
    for (let b = 0; b < BATCHES; b++) {
      const frames: string[] = [];
      for (let i = 0; i < FRAMES_PER_BATCH; i++) {
        const [frame] = generator.nextFrames(1);
        frames.push(frame!);
        // The exchange's book after this frame (the fake's own rule; the generator's book moves a whole step at once).
        exchangeBook.observe(frame!);
        truth.push({ micros: Number(/"microtimestamp":"(\d+)"/.exec(frame!)![1]), book: exchangeBook.body(PAIR)! });
      }
      const { notSent } = await fake.play(frames);
      expect(notSent).toBe(0);
      sent += frames.length;
      await obcap.waitForLog(`received ${sent} frames`, 120_000);
      // In the middle, a reconnect (a fresh subscription: a snapshot that starts the book again);
      // otherwise the next periodic snapshot of the true book after this batch.
      const before = snapshotsSoFar();
      if (b === 1) {
        fake.dropConnections();
        await fake.whenSubscribed(CHANNELS, 60_000);
      }
      const deadline = Date.now() + 60_000;
      while (snapshotsSoFar() === before && Date.now() < deadline) await obcap.waitForLog(/journaled/, 60_000).then(() => new Promise((r) => setTimeout(r, 50)));
    }
    obcap.child.kill("SIGINT");
    exitCode = await obcap.exited;
  } finally {
    obcap.child.kill("SIGKILL");
  }
  expect({ exitCode, log: exitCode === 0 ? "" : obcap.stderr() }).toEqual({ exitCode: 0, log: "" });
  // The capture's self-check: the first snapshot starts the book, each later one equals it.
  const compared = Number(/book self-check: (\d+) snapshots compared, 0 differ/.exec(obcap.stderr())?.[1] ?? -1);
  expect(compared).toBeGreaterThanOrEqual(BATCHES - 1);
  expect(obcap.stderr()).not.toContain("book self-check of btcusd");

  const first = truth[0]!.micros;
  const last = truth.at(-1)!.micros;
  const rand = seededRandom(9);
  const instants = [first, last, ...Array.from({ length: 4 }, () => first + Math.floor(rand() * (last - first)))];
  for (const at of instants) {
    let index = -1;
    for (let i = 0; i < truth.length; i++) if (truth[i]!.micros <= at) index = i;
    const parsed = parseOrderBookSnapshot(index < 0 ? initial : truth[index]!.book);
    if (!parsed.success) throw new Error(parsed.reason);
    const expected = truthOrders(parsed.snapshot);
    const levels = bookFromSnapshot(parsed.snapshot).depth(100_000);
    for (const target of [["--table", table, "--endpoint", endpoint], ["--journal", journal]]) {
      const run = await runObcap("source", ["book", ...target, "--pair", PAIR, "--at", String(at), "--l3", "--json", "--depth", "100000"]);
      expect({ target: target[0], code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ target: target[0], code: 0, stderr: "" });
      const doc = JSON.parse(run.stdout) as BookJson;
      expect({ target: target[0], at, orders: jsonOrders(doc) }).toEqual({ target: target[0], at, orders: expected });
      expect(doc.bids.map(({ price, amount, orders }) => ({ price, amount, orders }))).toEqual([...levels.bids]);
      expect(doc.asks.map(({ price, amount, orders }) => ({ price, amount, orders }))).toEqual([...levels.asks]);
    }
  }
});
