/**
 * The fake exchange as a process (`make demo`, benchmarks): it must announce its URLs on stdout, play the
 * real fixture frames and then the generated ones once the client subscribes, and exit 0 on SIGTERM.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { generateFrames } from "../../support/frame-generator.ts";
import { WsTestClient } from "../../support/ws-test-client.ts";

const MAIN = new URL("../../support/fake-exchange-main.ts", import.meta.url).pathname;
const START_MS = 1_795_000_000_000;

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.split("\n")[0] ?? "";
}

test("announces its URLs, plays fixture then generated frames to the subscriber, and exits 0 on SIGTERM", async () => {
  const proc = Bun.spawn(
    [process.execPath, MAIN, "--pairs", "btcusd", "--count", "300", "--fixtures", "--start-ms", String(START_MS)],
    { stdout: "pipe", stderr: "ignore" },
  );
  try {
    const info = JSON.parse(await firstLine(proc.stdout)) as { wsUrl: string; restUrl: string; port: number };
    expect(info.wsUrl).toBe(`ws://127.0.0.1:${info.port}`);
    expect(info.restUrl).toBe(`http://127.0.0.1:${info.port}`);

    const client = await WsTestClient.open(info.wsUrl);
    client.subscribe("live_orders_btcusd");
    client.subscribe("live_trades_btcusd");
    await client.take(2);

    const generated = generateFrames({ pairs: ["btcusd"], countPerPair: 300, startMicros: START_MS * 1000 });
    const real2026 = readFileSync(new URL("../../fixtures/live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson", import.meta.url), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.replace(/,"_recv_ns":\d+\}$/, "}"));
    // Wait for the last generated frame; everything before it is fixture frames of btcusd, in file order.
    const received: string[] = [];
    while (received.at(-1) !== generated.at(-1)) received.push(await client.next(10_000));
    const fixtures = received.slice(0, received.length - generated.length);
    expect(received.slice(fixtures.length)).toEqual(generated);
    expect(fixtures.slice(-real2026.length)).toEqual(real2026);
    for (const frame of fixtures) expect(frame).toMatch(/"channel": ?"live_(orders|trades)_btcusd"/);

    // REST order book comes from the simulated book.
    const book = await fetch(`${info.restUrl}/api/v2/order_book/btcusd/?group=2`);
    expect(await book.text()).toMatch(/^\{"timestamp": "\d+", "microtimestamp": "\d+", "bids": \[\["\d+\.\d{2}", "\d+\.\d{8}", "\d+"\]/);
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
});
