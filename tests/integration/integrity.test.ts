/**
 * Every frame stored, journaled, or counted and covered by a gap record; every hole recorded: the
 * compiled binary under faults (issue "Close the loss and hang windows"). The exchange is the local
 * Bitstamp-protocol server, the table DynamoDB Local; a stalled disk is the journal stage's test hook
 * (OBCAP_TEST_DISK_STALL_FILE: while the file exists every segment write and fsync blocks, as on a
 * disk that stopped answering), a stalled table the fault proxy's hold().
 *
 * The invariant checked after each run: the summary's figures add up (received = journaled + oversize
 * + lost), the journal holds exactly the journaled frames, and every frame the exchange sent that is
 * not journaled lies inside a gap record of its channel (its receive time is between those of its
 * journaled neighbours, so a gap must overlap that span).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { FrameGenerator, generateFrames } from "../support/frame-generator.ts";
import { exchangeMicros, playPaced } from "../support/paced-play.ts";
import { runObcap, scanEvents, startObcap, testClient, type RunningObcap } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { expectExactlyOnce, gapsOfTable, journaledGaps, journalLines, journalRecords, quarantineRecords, storedFrames, type Gap } from "../support/journal-harness.ts";
import { createTestTable } from "../support/test-table.ts";
import { hostileFrames } from "../support/hostile-frames.ts";
import { isGapItem } from "../../src/store/dynamodb/gap-item.ts";
import { decodeItem } from "../../src/store/dynamodb/item-decoder.ts";
import { EXIT } from "../../src/base/errors.ts";

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];
/** A process exits a moment after its shutdown bound: the lock, the metrics endpoint, the runtime. */
const EXIT_SLACK_MS = 1_500;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

function captureArgs(fake: FakeExchange, extra: string[]): string[] {
  return ["--pair", PAIR, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1", ...extra];
}

interface Summary {
  received: number;
  kept: number;
  oversize: number;
  lost: number;
}

/** The summary line's first clause: `received N frames = journaled J + oversize O + lost L`. */
function summaryOf(obcap: RunningObcap): Summary {
  const m = /summary: received (\d+) frames = (?:journaled|settled) (\d+) \+ oversize (\d+) \+ lost (\d+);/.exec(obcap.stderr());
  if (!m) throw new Error(`no summary line in the log:\n${obcap.stderr()}`);
  return { received: Number(m[1]), kept: Number(m[2]), oversize: Number(m[3]), lost: Number(m[4]) };
}

const channelOf = (frame: string) => /"channel":"([^"]+)"/.exec(frame)![1]!;

/**
 * Every frame of `sent` (in the order the exchange sent them, which is the order received on one
 * connection) that is not journaled must be covered by a gap of its channel overlapping the span
 * between the receive times of its journaled neighbours (before and after it in `sent`). Returns the
 * number of missing frames.
 */
function expectMissingCovered(sent: readonly string[], journal: string, gaps: readonly Gap[], reasons: readonly string[]): number {
  const rxOf = new Map<string, number>();
  for (const r of journalRecords(journal)) if (r.kind === "journal") rxOf.set(r.frame, r.rxMicros);
  let missing = 0;
  const uncovered: string[] = [];
  let prevRx = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sent.length; i++) {
    const frame = sent[i]!;
    const rx = rxOf.get(frame);
    if (rx !== undefined) {
      prevRx = rx;
      continue;
    }
    missing++;
    let nextRx = Number.POSITIVE_INFINITY;
    for (let k = i + 1; k < sent.length; k++) {
      const r = rxOf.get(sent[k]!);
      if (r !== undefined) {
        nextRx = r;
        break;
      }
    }
    const channel = channelOf(frame);
    // Between two journaled neighbours, a gap must overlap the span of their receive times. With none
    // after it, its receive time is only known to be later than prevRx: a gap must end after that, and a
    // restart gap (which starts at the last record journaled) must start no later.
    const covered = gaps.some(
      (g) => g.channel === channel && reasons.includes(g.reason) && g.end >= prevRx &&
        (nextRx === Number.POSITIVE_INFINITY ? g.reason !== "restart" || g.start <= prevRx : g.start <= nextRx),
    );
    if (!covered) uncovered.push(`#${i} on ${channel} between rx ${prevRx} and ${nextRx}`);
  }
  expect({ uncovered: uncovered.slice(0, 3), count: uncovered.length }).toEqual({ uncovered: [], count: 0 });
  return missing;
}

/** Frames of the journal (frames only), and the summary: they must add up. */
function expectFiguresAddUp(obcap: RunningObcap, journal: string, sentCount: number): Summary {
  const s = summaryOf(obcap);
  expect(s.received).toBe(sentCount);
  expect(s.kept + s.oversize + s.lost).toBe(s.received);
  expect(journalRecords(journal).filter((r) => r.kind === "journal").length).toBe(s.kept);
  return s;
}

async function exitWithin(obcap: RunningObcap, ms: number): Promise<{ code: number; ms: number }> {
  const started = performance.now();
  const timer = setTimeout(() => obcap.child.kill("SIGKILL"), ms + 10_000);
  const code = await obcap.exited;
  clearTimeout(timer);
  return { code, ms: performance.now() - started };
}

/**
 * A capture whose disk the test can stall (a 1 MiB ring and overflow, so a stall overflows quickly).
 * `stall()` makes every segment write and fsync wait, `unstall()` lets them go on.
 */
function startStallableCapture(fake: FakeExchange, journal: string, extra: string[]) {
  const file = join(testTempDir("stall"), "stall");
  const obcap = startObcap(
    "binary",
    captureArgs(fake, ["--journal", journal, "--queue-mb", "1", "--overflow-mb", "1", ...extra]),
    { OBCAP_TEST_DISK_STALL_FILE: file },
  );
  return { obcap, stall: () => writeFileSync(file, ""), unstall: () => rmSync(file, { force: true }) };
}

describe("a disk too slow for the feed: the queue overflows", () => {
  test("the overflow is recorded as a gap of every channel in the journal and the table, and the run ends with exit 5", async () => {
    const table = await createTestTable(client, "int-overflow");
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const { obcap, stall, unstall } = startStallableCapture(fake, journal, ["--table", table, "--endpoint", endpoint, "--shutdown-ms", "10000"]);
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 30_000, seed: 70 });
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await fake.play(frames.slice(0, 1000));
      await waitFor(() => journalRecords(journal).filter((r) => r.kind === "journal").length === 1000, { timeoutMs: 20_000, what: () => "the first frames journaled" });
      stall();
      await fake.play(frames.slice(1000));
      await obcap.waitForLog("QUEUE FULL", 30_000);
      unstall();
      await obcap.waitForLog("queue recovered", 30_000);
      await uploadCaughtUp(obcap);
      obcap.child.kill("SIGTERM");
      expect((await exitWithin(obcap, 10_000)).code).toBe(EXIT.dataLoss);
    } finally {
      unstall();
      obcap.child.kill("SIGKILL");
    }
    const s = expectFiguresAddUp(obcap, journal, frames.length);
    expect(s.lost).toBeGreaterThan(0);
    const journalGaps = journaledGaps(journal);
    const overflow = journalGaps.filter((g) => g.reason === "overflow");
    expect(new Set(overflow.map((g) => g.channel))).toEqual(new Set(CHANNELS));
    expect(expectMissingCovered(frames, journal, journalGaps, ["overflow"])).toBe(s.lost);
    // The table: exactly the journaled frames, and the same gap records.
    const items = await scanEvents(client, table);
    const tableGaps = gapsOfTable(items);
    for (const g of overflow) expect(tableGaps).toContainEqual({ channel: g.channel, start: g.start, end: g.end, reason: "overflow" });
    expectExactlyOnce(items.filter((i) => !isGapItem(i)).map(decodeItem), journalRecords(journal).flatMap((r) => (r.kind === "journal" ? [r.frame] : [])));
  }, 180_000);

  test("stopped while losing frames on a stalled disk: exit 5 within --shutdown-ms, the rest recorded as a shutdown gap", async () => {
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const shutdownMs = 6_000;
    const { obcap, stall, unstall } = startStallableCapture(fake, journal, ["--shutdown-ms", String(shutdownMs)]);
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 20_000, seed: 71 });
    let exit: { code: number; ms: number };
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      stall();
      await fake.play(frames);
      await obcap.waitForLog("QUEUE FULL", 30_000);
      await obcap_waitAll(obcap, frames.length);
      obcap.child.kill("SIGTERM");
      const exited = exitWithin(obcap, shutdownMs);
      // The disk answers again once the capture has given up on writing the frames left in the queue.
      await obcap.waitForLog("still writing at the shutdown deadline", shutdownMs + EXIT_SLACK_MS);
      unstall();
      exit = await exited;
    } finally {
      unstall();
      obcap.child.kill("SIGKILL");
    }
    expect(exit.code).toBe(EXIT.dataLoss);
    expect(exit.ms).toBeLessThan(shutdownMs + EXIT_SLACK_MS);
    const s = expectFiguresAddUp(obcap, journal, frames.length);
    const gaps = journaledGaps(journal);
    expect(gaps.filter((g) => g.reason === "shutdown").map((g) => g.channel).sort()).toEqual([...CHANNELS].sort());
    expect(gaps.filter((g) => g.reason === "overflow").length).toBeGreaterThan(0);
    expect(expectMissingCovered(frames, journal, gaps, ["overflow", "shutdown"])).toBe(s.lost);
  }, 120_000);

  test("stopped while the disk never answers: exit 5 within --shutdown-ms, the figures add up, and the next start's restart gap covers what was lost", async () => {
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const shutdownMs = 3_000;
    const { obcap: first, stall, unstall } = startStallableCapture(fake, journal, ["--shutdown-ms", String(shutdownMs)]);
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 10_000, seed: 72 });
    let exit: { code: number; ms: number };
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await fake.play(frames.slice(0, 500));
      await waitFor(() => journalRecords(journal).filter((r) => r.kind === "journal").length === 500, { timeoutMs: 20_000, what: () => "the first frames journaled" });
      stall();
      await fake.play(frames.slice(500));
      await obcap_waitAll(first, frames.length);
      first.child.kill("SIGTERM");
      exit = await exitWithin(first, shutdownMs);
    } finally {
      first.child.kill("SIGKILL");
      unstall();
    }
    expect(exit.code).toBe(EXIT.dataLoss);
    expect(exit.ms).toBeLessThan(shutdownMs + EXIT_SLACK_MS);
    expect(first.stderr()).toContain("does not answer");
    const s = expectFiguresAddUp(first, journal, frames.length);
    expect(s.lost).toBeGreaterThan(0);

    const stoppedAtMicros = Date.now() * 1000;
    const second = startObcap("binary", captureArgs(fake, ["--journal", journal]));
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await second.waitForLog("the gap since the previous run", 30_000);
    } finally {
      second.child.kill("SIGINT");
    }
    expect(await second.exited).toBe(EXIT.ok);
    const restarts = journaledGaps(journal).filter((g) => g.reason === "restart");
    expect(restarts.map((g) => g.channel).sort()).toEqual([...CHANNELS].sort());
    for (const g of restarts) expect(g.end).toBeGreaterThanOrEqual(stoppedAtMicros);
    expect(expectMissingCovered(frames, journal, journaledGaps(journal), ["overflow", "shutdown", "restart"])).toBe(s.lost);
  }, 120_000);
});

/** Waits until the last progress line shows no upload backlog. */
async function uploadCaughtUp(obcap: RunningObcap): Promise<void> {
  const lastProgress = () => obcap.stderr().split("\n").filter((l) => l.includes("upload backlog")).at(-1) ?? "";
  await waitFor(() => /upload backlog 0\.0 MiB/.test(lastProgress()), { timeoutMs: 90_000, what: () => `the upload to catch up; last progress: ${lastProgress()}` });
}

/** Waits until two progress lines in a row report the same received count, at least `atLeast`. */
async function receivedSettles(obcap: RunningObcap, atLeast: number): Promise<void> {
  const counts = () => [...obcap.stderr().matchAll(/received (\d+) frames, written/g)].map((m) => Number(m[1]));
  await waitFor(() => {
    const c = counts();
    return c.length >= 2 && c.at(-1) === c.at(-2) && c.at(-1)! >= atLeast;
  }, { timeoutMs: 30_000, what: () => `a settled received count of at least ${atLeast}; counts ${counts().slice(-3).join(", ")}` });
}

/** Waits until the capture reports having received `count` frames. */
async function obcap_waitAll(obcap: RunningObcap, count: number): Promise<void> {
  await waitFor(() => new RegExp(`received ${count} frames`).test(obcap.stderr()), { timeoutMs: 30_000, what: () => `${count} frames received; log:\n${obcap.stderr()}` });
}

for (const layout of ["event", "packed"] as const) describe(`a restart leaves no unmarked hole (${layout} layout)`, () => {
  // Packed: the kill leaves windows open (their events unacknowledged, so before the checkpoint) and
  // others written; the restart uploads the journal from the checkpoint and its windows merge.
  test("SIGKILL, then a restart: a restart gap per channel covers the downtime, and no event is missing outside it", async () => {
    const table = await createTestTable(client, "int-restart", { layout, packMs: 1000 });
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const args = captureArgs(fake, ["--table", table, "--endpoint", endpoint, "--journal", journal]);
    // Frames on the wall clock (paced-play.ts): a frame's exchange time says when it could be sent.
    const generator = new FrameGenerator({ pairs: [PAIR], countPerPair: 6_000, seed: 73, startMicros: Math.floor(Date.now()) * 1000, meanGapMs: 1 });
    const all: string[] = [];
    const play = async (count: number) => {
      const batch = generator.nextFrames(count);
      all.push(...batch);
      await playPaced(fake, batch, { latencyMs: 20 });
    };
    const first = startObcap("binary", args);
    await fake.whenSubscribed(CHANNELS, 30_000);
    await play(1_500);
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(128 + 9);
    const killedAtMicros = Date.now() * 1000;
    await play(1_000); // the exchange goes on while nothing listens
    const second = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await second.waitForLog("the gap since the previous run", 30_000);
      await play(1_500);
      await uploadCaughtUp(second);
    } finally {
      second.child.kill("SIGINT");
    }
    expect(await second.exited).toBe(EXIT.ok);

    const items = await scanEvents(client, table);
    const gaps = gapsOfTable(items);
    const restarts = gaps.filter((g) => g.reason === "restart");
    expect(restarts.map((g) => g.channel).sort()).toEqual([...CHANNELS].sort());
    for (const g of restarts) {
      expect(g.start).toBeLessThanOrEqual(killedAtMicros);
      expect(g.end).toBeGreaterThan(killedAtMicros);
    }
    expect(gaps.filter((g) => g.reason === "start").map((g) => g.channel).sort()).toEqual([...CHANNELS].sort());
    // Every frame the exchange produced is stored exactly once, unless its exchange time lies in a gap of its channel.
    const stored = items.filter((i) => !isGapItem(i)).map(decodeItem);
    const storedSet = new Set(stored);
    const inGap = (f: string) => gaps.some((g) => g.channel === channelOf(f) && g.reason !== "start" && exchangeMicros(f) >= g.start && exchangeMicros(f) <= g.end);
    const missingOutside = all.filter((f) => !storedSet.has(f) && !inGap(f));
    expect({ count: missingOutside.length, first: missingOutside.slice(0, 1) }).toEqual({ count: 0, first: [] });
    expect(all.filter((f) => !storedSet.has(f)).length).toBeGreaterThan(0); // the downtime lost frames
    expectExactlyOnce(stored, all.filter((f) => storedSet.has(f)));
  }, 120_000);
});

describe("a slow --out reader costs nothing", () => {
  test("--out - into a pipe nobody reads for 20 s at 2,000 msg/s: no frame lost in the journal or the table; the copy skips lines, counted", async () => {
    const table = await createTestTable(client, "int-tee");
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap("binary", captureArgs(fake, ["--table", table, "--endpoint", endpoint, "--journal", journal, "--out", "-"]));
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 40_000, seed: 74 });
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      obcap.child.stdout!.pause(); // nobody reads: the pipe fills, then obcap's writes to it wait
      await fake.play(frames, { ratePerSec: 2_000 });
      await obcap.waitForLog("--out is behind", 5_000);
      obcap.child.stdout!.resume();
      await obcap_waitAll(obcap, frames.length);
      await uploadCaughtUp(obcap);
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(EXIT.ok);
    if (!obcap.child.stdout!.readableEnded) await new Promise((resolve) => obcap.child.stdout!.once("end", resolve));
    const s = expectFiguresAddUp(obcap, journal, frames.length);
    expect(s.lost).toBe(0);
    expectExactlyOnce(await storedFrames(client, table), frames);
    const skipped = Number(/--out lines written \d+, skipped (\d+)/.exec(obcap.stderr())?.[1]);
    expect(skipped).toBeGreaterThan(0);
    // The copy holds whole journal lines only, in journal order: the journal minus the skipped ones.
    const lines = journalLines(journal);
    const copy = obcap.stdout().split("\n").filter((l) => l !== "");
    expect(copy.length + skipped).toBe(lines.length);
    let at = 0;
    for (const line of copy) {
      while (at < lines.length && lines[at] !== line) at++;
      expect(at).toBeLessThan(lines.length);
      at++;
    }
  }, 120_000);
});

describe("without a journal, a table that stops answering", () => {
  test("stopped while DynamoDB holds every write and frames are lost: exit 5 within --shutdown-ms, the figures add up", async () => {
    const table = await createTestTable(client, "int-nojournal");
    await using proxy = startFaultProxy({ target: endpoint });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const shutdownMs = 3_000;
    const obcap = startObcap(
      "binary",
      captureArgs(fake, ["--no-journal", "--table", table, "--endpoint", proxy.url, "--queue-mb", "1", "--overflow-mb", "1", "--shutdown-ms", String(shutdownMs)]),
    );
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 10_000, seed: 75 });
    let exit: { code: number; ms: number };
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      proxy.hold();
      await fake.play(frames);
      await obcap.waitForLog("QUEUE FULL", 30_000);
      await obcap_waitAll(obcap, frames.length);
      obcap.child.kill("SIGTERM");
      exit = await exitWithin(obcap, shutdownMs);
    } finally {
      proxy.release();
      obcap.child.kill("SIGKILL");
    }
    expect(exit.code).toBe(EXIT.dataLoss);
    expect(exit.ms).toBeLessThan(shutdownMs + EXIT_SLACK_MS);
    const s = summaryOf(obcap);
    expect(s.received).toBe(frames.length);
    expect(s.kept + s.oversize + s.lost).toBe(s.received);
    expect(s.lost).toBeGreaterThan(0);
  }, 120_000);

  test("the overflow gap reaches the table once DynamoDB answers again", async () => {
    const table = await createTestTable(client, "int-nojournal-gap");
    await using proxy = startFaultProxy({ target: endpoint });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap(
      "binary",
      captureArgs(fake, ["--no-journal", "--table", table, "--endpoint", proxy.url, "--queue-mb", "1", "--overflow-mb", "1"]),
    );
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 10_000, seed: 76 });
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      proxy.hold();
      await fake.play(frames);
      await obcap.waitForLog("QUEUE FULL", 30_000);
      await obcap_waitAll(obcap, frames.length);
      proxy.release();
      await obcap.waitForLog("queue recovered", 30_000);
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(EXIT.dataLoss);
    const s = summaryOf(obcap);
    expect(s.kept + s.oversize + s.lost).toBe(frames.length);
    const gaps = gapsOfTable(await scanEvents(client, table));
    expect(new Set(gaps.filter((g) => g.reason === "overflow").map((g) => g.channel))).toEqual(new Set(CHANNELS));
    expect((await storedFrames(client, table)).length).toBe(s.kept);
  }, 120_000);
});

describe("one bad frame never stops a capture", () => {
  test("the hostile corpus through capture: every frame is stored or quarantined with its reason, the capture goes on, and a restart does not die on it", async () => {
    const table = await createTestTable(client, "int-hostile");
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const args = captureArgs(fake, ["--table", table, "--endpoint", endpoint, "--journal", journal]);
    const corpus = hostileFrames();
    const good = generateFrames({ pairs: [PAIR], countPerPair: 200, seed: 77 });
    const first = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      for (const [i, hostile] of corpus.entries()) {
        if (typeof hostile.frame === "string") fake.send(hostile.frame);
        else fake.sendBytes(hostile.frame);
        fake.send(good[i % good.length]!);
      }
      await fake.play(good);
      // Some corpus frames are control frames (bts:*), handled on the receive thread and not counted as
      // data: wait until the count stops moving, then until the upload caught up.
      await receivedSettles(first, corpus.length + good.length);
      await uploadCaughtUp(first);
    } finally {
      // A kill before the checkpoint moved past the hostile lines: the next start reads them again.
      first.child.kill("SIGKILL");
    }
    await first.exited;
    expect(first.stderr()).not.toMatch(/E_WORKER_FAILED|internal error/);
    const quarantinedFirst = quarantineRecords(journal).length;
    expect(quarantinedFirst).toBeGreaterThan(0);

    const second = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await uploadCaughtUp(second);
    } finally {
      second.child.kill("SIGINT");
    }
    expect(await second.exited).toBe(EXIT.ok);
    const codes = new Set(quarantineRecords(journal).map((r) => String(r.code)));
    for (const code of codes) expect(["E_FRAME_UTF8", "E_FRAME_JSON", "E_FRAME_INVALID", "E_FRAME_OVERSIZE", "E_FRAME_UNSTORABLE"]).toContain(code);
    expect(codes.has("E_FRAME_UNSTORABLE")).toBe(true);
    // Every good frame is stored once; nothing hostile made it into the table as a gap record.
    const stored = await storedFrames(client, table);
    for (const frame of new Set(good)) expect(stored).toContain(frame);
    const gaps = gapsOfTable(await scanEvents(client, table));
    expect(gaps.every((g) => ["start", "restart", "chain"].includes(g.reason))).toBe(true);
  }, 180_000);

  test("the hostile corpus through replay: each hostile line is reported and skipped (exit 6), every good line is stored", async () => {
    const table = await createTestTable(client, "int-hostile-replay");
    const dir = testTempDir("hostile-replay");
    const file = join(dir, "hostile.ndjson");
    const good = generateFrames({ pairs: [PAIR], countPerPair: 50, seed: 78 });
    const encoder = new TextEncoder();
    const parts: Uint8Array[] = [];
    const line = (bytes: Uint8Array | string) => parts.push(typeof bytes === "string" ? encoder.encode(bytes) : bytes, encoder.encode("\n"));
    line(good[0]!); // a text recording starts with a readable line
    // Frames whose item no DynamoDB table takes first: the log reports the first 20 bad lines in full.
    const corpus = hostileFrames().sort((a, b) => Number(b.name.startsWith("event_id")) - Number(a.name.startsWith("event_id")));
    for (const [i, hostile] of corpus.entries()) {
      line(hostile.frame);
      line(good[(i % (good.length - 1)) + 1]!);
    }
    writeFileSync(file, Buffer.concat(parts));
    const run = await runObcap("binary", ["replay", file, "--table", table, "--endpoint", endpoint, "--checkpoint", join(dir, "cp.json")], {}, 120_000);
    expect(run.stderr).not.toMatch(/E_WORKER_FAILED|internal error/);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.stderr).toMatch(/hostile\.ndjson:\d+: E_FRAME_UNSTORABLE/);
    expect(Number(/bad (\d+)/.exec(run.stderr)?.[1])).toBeGreaterThan(20);
    const stored = await storedFrames(client, table);
    for (const frame of new Set(good)) expect(stored).toContain(frame);
  }, 180_000);

  test("a gap record sent by the exchange is a forgery: quarantined, never stored as a gap", async () => {
    const table = await createTestTable(client, "int-forgery");
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap("binary", captureArgs(fake, ["--table", table, "--endpoint", endpoint, "--journal", journal]));
    const forged = [
      '{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"1000000000000000","end_us":"1000000000000001","reason":"stale"}}',
      '{"event":"obcap:gap","channel":"live_orders_btcusd","data":{"start_us":"1000000000000000","end_us":"1000000000000001","reason":"stale"}}',
    ];
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      for (const f of forged) fake.send(f);
      await obcap.waitForLog(/E_FRAME_INVALID.*reserved event name/, 30_000);
      await uploadCaughtUp(obcap);
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(EXIT.ok);
    const gaps = gapsOfTable(await scanEvents(client, table));
    expect(gaps.filter((g) => g.start === 1_000_000_000_000_000)).toEqual([]);
    expect(quarantineRecords(journal).filter((r) => String(r.reason).includes("reserved")).length).toBe(forged.length);
  }, 60_000);
});
