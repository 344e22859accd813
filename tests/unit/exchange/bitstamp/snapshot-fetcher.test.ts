/**
 * The order book snapshot fetcher (src/exchange/bitstamp/snapshot-fetcher.ts) with a fake fetch and
 * timers the test fires: the URL (group=2, cache-buster), retries with backoff on network errors,
 * timeouts, 429 and 5xx, a 404 given up at once, bounded attempts, superseded fetches dropped, the
 * period, one fetch per pair and a bound over all pairs. No assertion depends on the wall clock.
 */
import { describe, expect, test } from "bun:test";
import { SnapshotFetcher, type FetchedSnapshot, type FetcherTimers, type SnapshotFetcherOptions } from "../../../../src/exchange/bitstamp/snapshot-fetcher.ts";
import { waitFor } from "../../../support/wait.ts";

const BODY = '{"timestamp": "1788551766", "microtimestamp": "1788551766754717", "bids": [["79715.38", "0.06272315", "2046839968690178"]], "asks": []}';
const PERIOD_MS = 900_000;
const TIMEOUT_MS = 30_000;

/** Timers of at least `manualFromMs` wait for the test's `fire`; shorter ones (backoff) run for real. */
class TestTimers implements FetcherTimers {
  private readonly manual = new Map<number, { callback: () => void; delayMs: number }>();
  private nextId = 1;
  constructor(private readonly manualFromMs = 10_000) {}
  setTimeout(callback: () => void, delayMs: number): unknown {
    if (delayMs < this.manualFromMs) return { real: setTimeout(callback, delayMs) };
    const id = this.nextId++;
    this.manual.set(id, { callback, delayMs });
    return { id };
  }
  clearTimeout(handle: unknown): void {
    const h = handle as { real?: ReturnType<typeof setTimeout>; id?: number };
    if (h.real !== undefined) clearTimeout(h.real);
    if (h.id !== undefined) this.manual.delete(h.id);
  }
  /** Runs every pending manual timer of `delayMs`; returns how many. */
  fire(delayMs: number): number {
    const due = [...this.manual].filter(([, t]) => t.delayMs === delayMs);
    for (const [id, t] of due) {
      this.manual.delete(id);
      t.callback();
    }
    return due.length;
  }
  pending(delayMs: number): number {
    return [...this.manual.values()].filter((t) => t.delayMs === delayMs).length;
  }
}

type Answer = Response | Error | "hang" | "hang-ignoring-abort";

/** A fetch that answers each call from a script (or a function); records URLs and signals. */
class FakeFetch {
  readonly calls: Array<{ url: string; signal: AbortSignal; release: (response: Response) => void }> = [];
  constructor(private readonly answer: (call: number, url: string) => Answer) {}
  readonly fetch = (url: string, init: { signal: AbortSignal }): Promise<Response> => {
    const answer = this.answer(this.calls.length, url);
    const { promise, resolve, reject } = Promise.withResolvers<Response>();
    this.calls.push({ url, signal: init.signal, release: resolve });
    if (answer instanceof Response) resolve(answer);
    else if (answer instanceof Error) reject(answer);
    else if (answer === "hang") {
      init.signal.addEventListener("abort", () => reject(init.signal.reason ?? new Error("aborted")), { once: true });
    }
    return promise;
  };
}

const ok = (body = BODY, headers: Record<string, string> = {}) => new Response(body, { status: 200, headers });
const status = (code: number, headers: Record<string, string> = {}) => new Response(code === 404 ? "<html>404 Not Found</html>" : "busy", { status: code, headers });

function setup(answer: (call: number, url: string) => Answer, options: Partial<SnapshotFetcherOptions> = {}) {
  const fake = new FakeFetch(answer);
  const timers = new TestTimers();
  const snapshots: FetchedSnapshot[] = [];
  const logs: Array<[string, string]> = [];
  let micros = 1_788_551_766_000_000;
  const fetcher = new SnapshotFetcher({
    restUrl: "https://www.bitstamp.test/",
    everyMs: PERIOD_MS,
    clock: () => (micros += 1000),
    nowMs: () => 1_788_551_766_123,
    fetch: fake.fetch,
    timers,
    random: () => 0.5,
    backoffBaseMs: 2,
    backoffMaxMs: 50,
    attemptTimeoutMs: TIMEOUT_MS,
    onSnapshot: (s) => snapshots.push(s),
    log: { info: (m) => logs.push(["info", m]), warn: (m) => logs.push(["warn", m]), debug: (m) => logs.push(["debug", m]) },
    ...options,
  });
  const settled = (what: string, condition: () => boolean) => waitFor(condition, { timeoutMs: 5_000, what: () => `${what}; logs: ${JSON.stringify(logs)}` });
  return { fetcher, fake, timers, snapshots, logs, settled };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("a snapshot after a subscription", () => {
  test("asks for the pair's group=2 book with a cache-buster, and hands the body over exactly, with its times", async () => {
    const t = setup(() => ok());
    t.fetcher.subscribed("btcusd");
    await t.settled("one snapshot", () => t.snapshots.length === 1);
    expect(t.fake.calls.map((c) => c.url)).toEqual(["https://www.bitstamp.test/api/v2/order_book/btcusd/?group=2&_=1788551766123"]);
    const [s] = t.snapshots;
    expect(text(s!.body)).toBe(BODY);
    expect({ pair: s!.pair, trigger: s!.trigger, attempts: s!.attempts }).toEqual({ pair: "btcusd", trigger: "subscribed", attempts: 1 });
    expect(s!.receivedMicros).toBeGreaterThan(s!.requestedMicros);
    expect(t.fetcher.stats()).toMatchObject({ fetched: 1, failed: 0, retries: 0, lastFetchedMicros: { btcusd: s!.receivedMicros } });
  });

  test("retries a network error, 500, 429, 503 and a timeout with growing full-jitter backoff, then hands the body over", async () => {
    const script: Answer[] = [new TypeError("fetch failed: connection reset"), status(500), status(429), status(503), "hang", ok()];
    const t = setup((call) => script[call]!);
    t.fetcher.subscribed("btcusd");
    await t.settled("the fifth attempt", () => t.fake.calls.length === 5);
    expect(t.timers.fire(TIMEOUT_MS)).toBe(1); // the fifth attempt never answers: its bound ends it
    await t.settled("the snapshot", () => t.snapshots.length === 1);
    expect(t.snapshots[0]!.attempts).toBe(6);
    expect(text(t.snapshots[0]!.body)).toBe(BODY);
    expect(t.fetcher.stats()).toMatchObject({ fetched: 1, failed: 0, retries: 5 });
    // random() = 0.5 of min(50, 2 * 2^attempt) ms: 1, 2, 4, 8, 16.
    const retries = t.logs.filter(([, m]) => m.includes("retry")).map(([level, m]) => [level, /attempt (\d) failed \((.*)\); retry (\d) of 6 in (\d+) ms/.exec(m)?.slice(1)]);
    expect(retries).toEqual([
      ["info", ["1", "TypeError: fetch failed: connection reset", "2", "1"]],
      ["info", ["2", "HTTP 500", "3", "2"]],
      ["info", ["3", "HTTP 429 (rate limited)", "4", "4"]],
      ["info", ["4", "HTTP 503", "5", "8"]],
      ["info", ["5", `no complete answer within ${TIMEOUT_MS} ms`, "6", "16"]],
    ]);
    // Every attempt had its own cache-buster URL and was a group=2 request.
    expect(t.fake.calls.every((c) => c.url.includes("/api/v2/order_book/btcusd/?group=2&_="))).toBe(true);
  });

  test("waits at least what a 429's Retry-After asks, within the backoff cap", async () => {
    const t = setup((call) => (call === 0 ? status(429, { "retry-after": "120" }) : ok()));
    t.fetcher.subscribed("btcusd");
    await t.settled("the snapshot", () => t.snapshots.length === 1);
    expect(t.logs.some(([, m]) => m.includes("retry 2 of 6 in 50 ms"))).toBe(true);
  });

  test("gives up after maxAttempts: counted as failed, one warning, nothing handed over", async () => {
    const t = setup(() => status(502), { maxAttempts: 3 });
    t.fetcher.subscribed("ethusd");
    await t.settled("the failure", () => t.fetcher.stats().failed === 1);
    expect(t.fake.calls).toHaveLength(3);
    expect(t.snapshots).toHaveLength(0);
    const warnings = t.logs.filter(([level]) => level === "warn").map(([, m]) => m);
    expect(warnings).toEqual(["order book snapshot of ethusd given up after 3 attempts (last: HTTP 502); the next one in 15 min (--snapshot-every)"]);
  });

  test("a 404 (no such book) is one warning and no retry", async () => {
    const t = setup(() => status(404));
    t.fetcher.subscribed("nosuchpair");
    await t.settled("the failure", () => t.fetcher.stats().failed === 1);
    expect(t.fake.calls).toHaveLength(1);
    const warnings = t.logs.filter(([level]) => level === "warn").map(([, m]) => m);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("HTTP 404: the exchange has no order book for nosuchpair");
    expect(t.fetcher.stats().retries).toBe(0);
  });

  test("a body over the bound is not kept and not retried", async () => {
    const t = setup(() => ok(BODY), { maxBodyBytes: 64 });
    t.fetcher.subscribed("btcusd");
    await t.settled("the failure", () => t.fetcher.stats().failed === 1);
    expect(t.fake.calls).toHaveLength(1);
    expect(t.snapshots).toHaveLength(0);
    expect(t.logs.some(([level, m]) => level === "warn" && m.includes("larger than 64 bytes"))).toBe(true);
  });
});

describe("one snapshot per pair and connection", () => {
  test("a new subscription supersedes the fetch under way: it is aborted, and its body dropped even if it comes", async () => {
    const t = setup((call) => (call === 0 ? "hang-ignoring-abort" : ok(`${BODY} `)));
    t.fetcher.subscribed("btcusd");
    await t.settled("the first request", () => t.fake.calls.length === 1);
    t.fetcher.subscribed("btcusd"); // a reconnect
    await t.settled("the second snapshot", () => t.snapshots.length === 1);
    expect(t.fake.calls[0]!.signal.aborted).toBe(true);
    t.fake.calls[0]!.release(ok("stale book"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.snapshots.map((s) => text(s.body))).toEqual([`${BODY} `]);
    expect(t.fetcher.stats()).toMatchObject({ fetched: 1, superseded: 1 });
  });

  test("a new subscription during a backoff wait starts over at once, and the old job never fetches again", async () => {
    const t = setup((call) => (call === 0 ? status(500) : ok()), { backoffBaseMs: 20_000, backoffMaxMs: 20_000 });
    t.fetcher.subscribed("btcusd");
    await t.settled("the backoff wait", () => t.timers.pending(10_000) === 1);
    t.fetcher.subscribed("btcusd");
    await t.settled("the snapshot", () => t.snapshots.length === 1);
    expect(t.timers.pending(10_000)).toBe(0);
    expect(t.fake.calls).toHaveLength(2);
  });

  test("every --snapshot-every one more; skipped while one of the pair is under way; the period restarts at each subscription", async () => {
    const t = setup((call) => (call === 1 ? "hang" : ok()));
    t.fetcher.subscribed("btcusd");
    await t.settled("the first snapshot", () => t.snapshots.length === 1);
    expect(t.timers.pending(PERIOD_MS)).toBe(1);
    t.timers.fire(PERIOD_MS);
    await t.settled("the periodic request", () => t.fake.calls.length === 2);
    t.timers.fire(PERIOD_MS); // the periodic one hangs: this tick is skipped
    expect(t.fake.calls).toHaveLength(2);
    expect(t.fetcher.stats().skipped).toBe(1);
    t.fetcher.subscribed("btcusd"); // supersedes it; one period timer again
    await t.settled("the snapshot after subscribing", () => t.snapshots.length === 2);
    expect(t.timers.pending(PERIOD_MS)).toBe(1);
    expect(t.snapshots.map((s) => s.trigger)).toEqual(["subscribed", "subscribed"]);
    t.timers.fire(PERIOD_MS);
    await t.settled("a periodic snapshot", () => t.snapshots.length === 3);
    expect(t.snapshots[2]!.trigger).toBe("periodic");
  });

  test("--snapshot-every 0: only after subscriptions", async () => {
    const t = setup(() => ok(), { everyMs: 0 });
    t.fetcher.subscribed("btcusd");
    await t.settled("the snapshot", () => t.snapshots.length === 1);
    expect(t.timers.pending(PERIOD_MS)).toBe(0);
  });

  test("at most maxConcurrent fetches at once over all pairs; the others wait their turn", async () => {
    const t = setup(() => "hang-ignoring-abort", { maxConcurrent: 2 });
    for (const pair of ["btcusd", "ethusd", "xrpusd"]) t.fetcher.subscribed(pair);
    await t.settled("two requests", () => t.fake.calls.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.fake.calls).toHaveLength(2);
    t.fake.calls[0]!.release(ok());
    await t.settled("the third request", () => t.fake.calls.length === 3);
    expect(t.fake.calls.map((c) => /order_book\/(\w+)\//.exec(c.url)![1])).toEqual(["btcusd", "ethusd", "xrpusd"]);
  });

  test("close aborts what is under way, clears the period, and hands nothing over from then on", async () => {
    const t = setup((call) => (call === 0 ? "hang" : ok()));
    t.fetcher.subscribed("btcusd");
    await t.settled("the request", () => t.fake.calls.length === 1);
    t.fetcher.close();
    expect(t.fake.calls[0]!.signal.aborted).toBe(true);
    expect(t.timers.pending(PERIOD_MS)).toBe(0);
    t.fetcher.subscribed("btcusd");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.fake.calls).toHaveLength(1);
    expect(t.snapshots).toHaveLength(0);
  });
});
