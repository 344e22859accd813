/**
 * One connection against a scripted socket: subscription checks, the hot path, the heartbeat and the
 * watchdog (which must use terminate(), since close() on a dead peer waits 33 s in Bun), how each end
 * is classified, and drain().
 */
import { describe, expect, test } from "bun:test";
import { nowMicros } from "../../../../src/base/clock.ts";
import { openConnection, type ConnectionEnd, type ConnectionHandlers } from "../../../../src/exchange/bitstamp/connection.ts";
import type { FeedSocket } from "../../../../src/runtime/ports.ts";

const CHANNELS = ["live_orders_btcusd", "live_trades_btcusd"];
const ack = (channel: string) => `{"event":"bts:subscription_succeeded","channel":"${channel}","data":{}}`;
const HEARTBEAT_REPLY = `{"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}`;
const TRADE = '{"data":{"id":1,"amount":1,"amount_str":"1","price":2,"price_str":"2","type":0,"timestamp":"1","microtimestamp":"1000000","buy_order_id":3,"sell_order_id":4},"channel":"live_trades_btcusd","event":"trade"}';

/** A socket the test plays the server side of. `terminate` can be left out, like a standard WebSocket. */
class ScriptedSocket implements FeedSocket {
  binaryType: FeedSocket["binaryType"] = "blob";
  readyState = 0;
  onopen: FeedSocket["onopen"] = null;
  onmessage: FeedSocket["onmessage"] = null;
  onclose: FeedSocket["onclose"] = null;
  onerror: FeedSocket["onerror"] = null;
  readonly sent: string[] = [];
  readonly calls: string[] = [];
  terminate?: () => void;

  constructor(withTerminate: boolean) {
    if (withTerminate) this.terminate = () => void this.calls.push("terminate");
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number): void {
    this.calls.push(`close ${code}`);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  receive(text: string): void {
    this.onmessage?.({ data: text } as MessageEvent);
  }

  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
}

function connect(socket: ScriptedSocket, handlers: Partial<ConnectionHandlers> = {}, liveness = { heartbeatMs: 0, staleMs: 0 }) {
  const data: [string, number][] = [];
  const ended = Promise.withResolvers<ConnectionEnd>();
  const connection = openConnection({
    url: "ws://test",
    channels: CHANNELS,
    createSocket: () => socket,
    clock: nowMicros,
    subscribeTimeoutMs: 5_000,
    ...liveness,
    handlers: { onData: (f, rx) => data.push([f, rx]), onBinary() {}, onEnded: (end) => ended.resolve(end), ...handlers },
  });
  return { connection, data, ended: ended.promise };
}

async function subscribed(socket: ScriptedSocket, liveness?: { heartbeatMs: number; staleMs: number }) {
  const c = connect(socket, {}, liveness);
  socket.open();
  for (const channel of CHANNELS) socket.receive(ack(channel));
  await c.connection.ready;
  return c;
}

describe("subscribing", () => {
  test("sends one subscribe per channel on open and is ready after the last acknowledgement", async () => {
    const socket = new ScriptedSocket(true);
    const acked: string[] = [];
    const { connection } = connect(socket, { onSubscribed: (channel) => acked.push(channel) });
    socket.open();
    expect(socket.sent).toEqual(CHANNELS.map((c) => `{"event":"bts:subscribe","data":{"channel":"${c}"}}`));
    socket.receive(ack(CHANNELS[0]!));
    expect(connection.subscribedAtMicros(CHANNELS[0]!)).toBeGreaterThan(0);
    expect(connection.subscribedAtMicros(CHANNELS[1]!)).toBeUndefined();
    socket.receive(ack(CHANNELS[1]!));
    await connection.ready;
    expect(acked).toEqual(CHANNELS);
  });

  test("rejects with E_SUBSCRIBE_REJECTED on bts:error and terminates the socket", async () => {
    const socket = new ScriptedSocket(true);
    const { connection } = connect(socket);
    socket.open();
    socket.receive('{"event":"bts:error","channel":"","data":{"code":null,"message":"Invalid channel provided."}}');
    const error = await connection.ready.then(() => undefined, (err: { code: string; message: string }) => err);
    expect(error?.code).toBe("E_SUBSCRIBE_REJECTED");
    expect(error?.message).toContain('"Invalid channel provided."');
    expect(socket.calls).toEqual(["terminate"]);
  });
});

describe("receiving", () => {
  test("hands data frames on untouched with their receive time, and swaps the receiver on request", async () => {
    const socket = new ScriptedSocket(true);
    const { connection, data } = await subscribed(socket);
    const before = nowMicros();
    socket.receive(TRADE);
    expect(data.map(([f]) => f)).toEqual([TRADE]);
    expect(data[0]![1]).toBeGreaterThanOrEqual(before);
    expect(connection.lastDataMicros()).toBe(data[0]![1]);
    const other: string[] = [];
    connection.setDataHandler((f) => other.push(f));
    socket.receive(TRADE);
    expect([data.length, other.length]).toEqual([1, 1]);
  });

  test("counts a heartbeat answer as a sign of life but not as data", async () => {
    const socket = new ScriptedSocket(true);
    const { connection, data } = await subscribed(socket);
    const dataBefore = connection.lastDataMicros();
    socket.receive(HEARTBEAT_REPLY);
    expect(data).toEqual([]);
    expect(connection.lastFrameMicros()).toBeGreaterThan(0);
    expect(connection.lastDataMicros()).toBe(dataBefore);
    expect(connection.heartbeats().answered).toBe(1);
  });
});

describe("ends", () => {
  test.each([
    [1006, "dropped"],
    [1001, "closed"],
    [1000, "closed"],
  ] as const)("a close with code %d after start-up is reported as %s", async (code, reason) => {
    const socket = new ScriptedSocket(true);
    const { ended } = await subscribed(socket);
    socket.serverClose(code, code === 1001 ? "going away" : "");
    const end = await ended;
    expect(end.reason).toBe(reason);
    expect(end.detail).toContain(`code ${code}`);
    expect(socket.calls).toEqual([]);
  });

  test("the watchdog terminates a connection that stays silent, and sends heartbeats meanwhile", async () => {
    const socket = new ScriptedSocket(true);
    const { ended } = await subscribed(socket, { heartbeatMs: 10, staleMs: 60 });
    const end = await ended;
    expect(end.reason).toBe("stale");
    expect(end.detail).toContain("--stale-ms 60");
    expect(socket.calls).toEqual(["terminate"]);
    expect(socket.sent.filter((f) => f === '{"event":"bts:heartbeat"}').length).toBeGreaterThan(0);
  });

  test("without terminate() the watchdog falls back to close()", async () => {
    const socket = new ScriptedSocket(false);
    const { ended } = await subscribed(socket, { heartbeatMs: 10, staleMs: 60 });
    expect((await ended).reason).toBe("stale");
    expect(socket.calls).toEqual(["close 1000"]);
  });

  test("frames arriving keep the watchdog from firing", async () => {
    const socket = new ScriptedSocket(true);
    const { connection, ended } = await subscribed(socket, { heartbeatMs: 10, staleMs: 100 });
    let endedEarly = false;
    void ended.then(() => (endedEarly = true));
    // Answer every heartbeat for several stale windows.
    const target = 40;
    while (connection.heartbeats().answered < target) {
      const { sent, answered } = connection.heartbeats();
      for (let i = answered; i < sent; i++) socket.receive(HEARTBEAT_REPLY);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(endedEarly).toBe(false);
    connection.close();
    expect(socket.calls).toEqual(["close 1000"]);
  });
});

describe("drain", () => {
  test("resolves once the heartbeat it sends is answered, after the ones sent before it", async () => {
    const socket = new ScriptedSocket(true);
    const { connection } = await subscribed(socket);
    const first = connection.drain(5_000);
    const second = connection.drain(5_000);
    let secondDone = false;
    void second.then(() => (secondDone = true));
    socket.receive(HEARTBEAT_REPLY);
    expect(await first).toBe(true);
    await Promise.resolve();
    expect(secondDone).toBe(false);
    socket.receive(HEARTBEAT_REPLY);
    expect(await second).toBe(true);
  });

  test("resolves false when the connection ends first", async () => {
    const socket = new ScriptedSocket(true);
    const { connection } = await subscribed(socket);
    const drained = connection.drain(5_000);
    socket.serverClose(1006);
    expect(await drained).toBe(false);
  });
});
