/**
 * The fake exchange must answer exactly like Bitstamp's server (bitstamp-protocol.md §1.2, §1.5, §5),
 * since the capture's protocol handling is tested against it. Replies are compared byte for byte.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startFakeExchange } from "../../support/fake-exchange.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { WsTestClient } from "../../support/ws-test-client.ts";

const ACK_BTCUSD = `{"event":"bts:subscription_succeeded","channel":"live_orders_btcusd","data":{}}`;
const error = (message: string) => `{"event":"bts:error","channel":"","data":{"code":null,"message":"${message}"}}`;
const HEARTBEAT_REPLY = `{"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}`;

describe("fake exchange WebSocket protocol", () => {
  test("acknowledges a subscription with the exact bytes of the real server", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.send(`{"event":"bts:subscribe","data":{"channel":"live_orders_btcusd"}}`);
    expect(await client.next()).toBe(ACK_BTCUSD);
    expect(fake.subscriptions()).toEqual(["live_orders_btcusd"]);
  });

  test("acknowledges an unknown lower-case pair, as the real server does", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_fooxyz");
    expect(await client.next()).toBe(`{"event":"bts:subscription_succeeded","channel":"live_orders_fooxyz","data":{}}`);
  });

  test.each([["live_orders_BTCUSD"], ["live_orders_btc/usd"], ["live_orders_"], ["nonsense_btcusd"], [""]])(
    "answers the malformed channel %p with Invalid channel provided.",
    async (channel) => {
      await using fake = await startFakeExchange();
      const client = await WsTestClient.open(fake.wsUrl);
      client.send({ event: "bts:subscribe", data: { channel } });
      expect(await client.next()).toBe(error("Invalid channel provided."));
      expect(fake.subscriptions()).toEqual([]);
    },
  );

  test("answers non-JSON text with Incorrect JSON format.", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.send("subscribe me please");
    expect(await client.next()).toBe(error("Incorrect JSON format."));
  });

  test.each([
    [`{"event":"bts:ping"}`],
    [`{"event":"bts:subscribe"}`],
    [`{"event":"bts:subscribe","data":{}}`],
    [`{"event":"bts:subscribe","data":{"channel":7}}`],
    [`[1,2]`],
  ])("answers %s with Bad subscription string.", async (frame) => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.send(frame);
    expect(await client.next()).toBe(error("Bad subscription string."));
  });

  test("keeps the socket open after an error", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.send("{not json");
    expect(await client.next()).toBe(error("Incorrect JSON format."));
    client.subscribe("live_orders_btcusd");
    expect(await client.next()).toBe(ACK_BTCUSD);
  });

  test("acknowledges an unsubscribe and drops the channel from the subscriptions", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    await client.next();
    client.send(`{"event":"bts:unsubscribe","data":{"channel":"live_orders_btcusd"}}`);
    expect(await client.next()).toBe(`{"event":"bts:unsubscription_succeeded","channel":"live_orders_btcusd","data":{}}`);
    expect(fake.subscriptions()).toEqual([]);
  });

  test("answers bts:heartbeat with the captured reply, spaces included", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.send(`{"event": "bts:heartbeat"}`);
    expect(await client.next()).toBe(HEARTBEAT_REPLY);
  });

  test("accepts a 512-byte client frame and closes with 1009 on a 513-byte one", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    const heartbeat = `{"event":"bts:heartbeat","pad":""}`;
    const fits = heartbeat.replace(`""`, `"${"x".repeat(512 - heartbeat.length)}"`);
    expect(Buffer.byteLength(fits)).toBe(512);
    client.send(fits);
    expect(await client.next()).toBe(HEARTBEAT_REPLY);
    client.send(fits.replace(`"x`, `"xx`));
    expect(await client.closed).toEqual({ code: 1009, reason: "read limited at 513 bytes" });
  });

  test("records every client frame verbatim", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    const frames = [`{"event":"bts:subscribe","data":{"channel":"live_orders_btcusd"}}`, `{"event": "bts:heartbeat"}`, "garbage"];
    for (const frame of frames) client.send(frame);
    await client.take(3);
    expect(fake.clientFrames()).toEqual(frames);
  });

  test("closes the connection on the 1025th subscription", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    for (let i = 0; i < 1024; i++) client.subscribe(`live_orders_pair${i}`);
    await client.take(1024);
    client.subscribe("live_orders_onetoomany");
    expect((await client.closed).code).toBe(1006);
  });
});

describe("fake exchange misbehaviour knobs", () => {
  test("rejectChannels answers bts:error instead of an ack", async () => {
    await using fake = await startFakeExchange({ rejectChannels: ["live_orders_btcusd"] });
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    expect(await client.next()).toBe(error("Invalid channel provided."));
  });

  test("ignoreSubscribe never acknowledges, so whenSubscribed times out", async () => {
    await using fake = await startFakeExchange({ ignoreSubscribe: true });
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    client.send(`{"event":"bts:heartbeat"}`);
    // The heartbeat reply is the first message: no ack came before it.
    expect(await client.next()).toBe(HEARTBEAT_REPLY);
    await expect(fake.whenSubscribed(["live_orders_btcusd"], 50)).rejects.toThrow("live_orders_btcusd");
  });

  test("ackDelayMs still acknowledges, and whenSubscribed waits for the ack", async () => {
    await using fake = await startFakeExchange({ ackDelayMs: 30 });
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    await fake.whenSubscribed(["live_orders_btcusd"], 5_000);
    expect(await client.next()).toBe(ACK_BTCUSD);
  });

  test("ignoreHeartbeat leaves heartbeats unanswered and can be switched off", async () => {
    await using fake = await startFakeExchange({ ignoreHeartbeat: true });
    const client = await WsTestClient.open(fake.wsUrl);
    client.send(`{"event":"bts:heartbeat"}`);
    client.subscribe("live_orders_btcusd");
    expect(await client.next()).toBe(ACK_BTCUSD);
    fake.configure({ ignoreHeartbeat: false });
    client.send(`{"event":"bts:heartbeat"}`);
    expect(await client.next()).toBe(HEARTBEAT_REPLY);
  });

  test("refuseUpgrade answers WebSocket upgrades with HTTP 503", async () => {
    await using fake = await startFakeExchange({ refuseUpgrade: true });
    const res = await fetch(fake.restUrl, {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
    });
    expect(res.status).toBe(503);
    await res.arrayBuffer();
    await expect(WsTestClient.open(fake.wsUrl)).rejects.toThrow();
  });

  test("sends the scripted frames right after the ack, to that connection only", async () => {
    const script = ["frame one", `{"data":{},"channel":"live_orders_btcusd","event":"order_created"}`];
    await using fake = await startFakeExchange({ script: { live_orders_btcusd: script } });
    const other = await WsTestClient.open(fake.wsUrl);
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    expect(await client.take(3)).toEqual([ACK_BTCUSD, ...script]);
    other.send(`{"event":"bts:heartbeat"}`);
    expect(await other.next()).toBe(HEARTBEAT_REPLY);
  });
});

describe("fake exchange sending", () => {
  test("play delivers each frame only to connections subscribed to its channel and counts the rest", async () => {
    await using fake = await startFakeExchange();
    const orders = await WsTestClient.open(fake.wsUrl);
    const trades = await WsTestClient.open(fake.wsUrl);
    orders.subscribe("live_orders_btcusd");
    trades.subscribe("live_trades_btcusd");
    await fake.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 5_000);
    await orders.next();
    await trades.next();
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 200, seed: 7 });
    const result = await fake.play(frames);
    const isBtc = (channel: string) => frames.filter((f) => f.includes(`"channel":"${channel}"`));
    const btcOrders = isBtc("live_orders_btcusd");
    const btcTrades = isBtc("live_trades_btcusd");
    expect(result).toEqual({ sent: btcOrders.length + btcTrades.length, notSent: 200 });
    expect(await orders.take(btcOrders.length)).toEqual(btcOrders);
    expect(await trades.take(btcTrades.length)).toEqual(btcTrades);
    // Nothing else arrives: the next message on each is the heartbeat reply.
    for (const client of [orders, trades]) {
      client.send(`{"event":"bts:heartbeat"}`);
      expect(await client.next()).toBe(HEARTBEAT_REPLY);
    }
  });

  test("play sends 20,000 frames byte for byte and in order at full speed", async () => {
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    client.subscribe("live_trades_btcusd");
    await fake.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 5_000);
    await client.take(2);
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 20_000, hugeIds: true });
    expect(await fake.play(frames)).toEqual({ sent: 20_000, notSent: 0 });
    expect(await client.take(20_000, 30_000)).toEqual(frames);
  });

  test("play accepts an async iterable and a rate", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    client.subscribe("live_orders_btcusd");
    await client.next();
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 50, trades: false });
    async function* source() {
      yield* frames;
    }
    expect(await fake.play(source(), { ratePerSec: 5_000 })).toEqual({ sent: 50, notSent: 0 });
    expect(await client.take(50)).toEqual(frames);
    expect(fake.sentFrames()).toEqual([ACK_BTCUSD, ...frames]);
  });

  test("send reaches every connection with the text unchanged, malformed included", async () => {
    await using fake = await startFakeExchange();
    const a = await WsTestClient.open(fake.wsUrl);
    const b = await WsTestClient.open(fake.wsUrl);
    await fake.whenConnections(2, 5_000);
    expect(fake.send(`{"data":{"id":1,`)).toBe(2);
    expect(await a.next()).toBe(`{"data":{"id":1,`);
    expect(await b.next()).toBe(`{"data":{"id":1,`);
    const [first] = fake.connectionIds();
    expect(fake.sendTo(first as number, "only a")).toBe(true);
    expect(await a.next()).toBe("only a");
  });

  test("requestReconnect sends the documented frame with data null", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    await fake.whenConnections(1, 5_000);
    fake.requestReconnect();
    expect(await client.next()).toBe(`{"event": "bts:request_reconnect", "channel": "", "data": null}`);
  });

  test("dropConnections cuts TCP without a close frame", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    await fake.whenConnections(1, 5_000);
    fake.dropConnections();
    expect((await client.closed).code).toBe(1006);
    await fake.waitFor(() => fake.connections() === 0, 5_000, "disconnect");
  });

  test("closeConnections sends a close frame with the given code", async () => {
    await using fake = await startFakeExchange();
    const client = await WsTestClient.open(fake.wsUrl);
    await fake.whenConnections(1, 5_000);
    fake.closeConnections(1012, "restart");
    expect(await client.closed).toEqual({ code: 1012, reason: "restart" });
  });

  test("merges the subscriptions of all connections", async () => {
    await using fake = await startFakeExchange();
    const a = await WsTestClient.open(fake.wsUrl);
    const b = await WsTestClient.open(fake.wsUrl);
    a.subscribe("live_orders_btcusd");
    b.subscribe("live_trades_ethusd");
    b.subscribe("live_orders_btcusd");
    await fake.whenSubscribed(["live_orders_btcusd", "live_trades_ethusd"], 5_000);
    await b.take(2);
    expect(fake.subscriptions()).toEqual(["live_orders_btcusd", "live_trades_ethusd"]);
    const [idA, idB] = fake.connectionIds();
    expect(fake.subscriptionsOf(idA as number)).toEqual(["live_orders_btcusd"]);
    expect(fake.subscriptionsOf(idB as number)).toEqual(["live_orders_btcusd", "live_trades_ethusd"]);
  });
});

describe("fake exchange REST", () => {
  const fixture = readFileSync(
    new URL("../../fixtures/cryptofeed_2022-01-05_rest_trading_pairs_info.json", import.meta.url),
    "utf8",
  );

  test("serves the real trading-pairs-info body as application/json", async () => {
    await using fake = await startFakeExchange();
    const res = await fetch(`${fake.restUrl}/api/v2/trading-pairs-info/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    // The fixture file ends the body's line with a newline; the body itself is the line.
    expect(`${await res.text()}\n`).toBe(fixture);
  });

  test("serves a custom trading-pairs-info body unchanged", async () => {
    const body = `[{"trading": "Enabled", "url_symbol": "btcusd"}]`;
    await using fake = await startFakeExchange({ pairsInfoBody: body });
    expect(await (await fetch(`${fake.restUrl}/api/v2/trading-pairs-info/`)).text()).toBe(body);
  });

  test("answers an unknown path with nginx's 404 page", async () => {
    await using fake = await startFakeExchange();
    const res = await fetch(`${fake.restUrl}/api/v2/nothing/`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(await res.text()).toContain("<center>nginx</center>");
  });

  test("serves an order book for a listed pair and 404 for an unlisted one", async () => {
    await using fake = await startFakeExchange();
    const listed = await fetch(`${fake.restUrl}/api/v2/order_book/BTCUSD/?group=2`);
    expect(listed.status).toBe(200);
    const book = (await listed.json()) as { bids: unknown[]; asks: unknown[]; microtimestamp: string };
    expect(book.bids).toEqual([]);
    expect(book.microtimestamp).toMatch(/^\d{16}$/);
    const unlisted = await fetch(`${fake.restUrl}/api/v2/order_book/fooxyz/?group=2`);
    expect(unlisted.status).toBe(404);
    await unlisted.arrayBuffer();
  });

  test("takes order book bodies from orderBookBody and records the requests", async () => {
    const seen: string[] = [];
    await using fake = await startFakeExchange({
      orderBookBody: (pair, url) => {
        seen.push(`${pair} ${url.searchParams.get("group")}`);
        return `{"timestamp": "1", "microtimestamp": "1000000", "bids": [], "asks": []}`;
      },
    });
    const res = await fetch(`${fake.restUrl}/api/v2/order_book/ethusd?group=2&_=123`);
    expect(await res.text()).toBe(`{"timestamp": "1", "microtimestamp": "1000000", "bids": [], "asks": []}`);
    expect(seen).toEqual(["ethusd 2"]);
    expect(fake.restRequests()).toEqual(["GET /api/v2/order_book/ethusd?group=2&_=123"]);
  });

  test("lets a rest hook answer first", async () => {
    await using fake = await startFakeExchange({
      rest: (_request, url) => (url.pathname.includes("trading-pairs") ? new Response("busy", { status: 503 }) : undefined),
    });
    expect((await fetch(`${fake.restUrl}/api/v2/trading-pairs-info/`)).status).toBe(503);
    expect((await fetch(`${fake.restUrl}/api/v2/order_book/btcusd/`)).status).toBe(200);
  });
});
