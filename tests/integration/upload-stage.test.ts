/**
 * The uploader on its own (in this process), against DynamoDB Local: a journal directory written by
 * the appender goes to the table, the checkpoint follows what DynamoDB acknowledged, bad lines go to
 * the quarantine, a restart resumes at the checkpoint, retention deletes what is acknowledged.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { testClient } from "../support/capture-harness.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { expectExactlyOnce, quarantineRecords, storedFrames } from "../support/journal-harness.ts";
import { createTestTable as createJournalTestTable } from "../support/test-table.ts";
import { UploadStage } from "../../src/pipeline/upload-stage.ts";
import { createJournalSignal, SIGNAL_ROTATIONS, SIGNAL_WRITES } from "../../src/journal/journal-protocol.ts";
import { type UploaderMessage } from "../../src/pipeline/upload-protocol.ts";
import { JournalAppender } from "../../src/journal/appender.ts";
import { readCheckpoint } from "../../src/journal/checkpoint.ts";
import { listSegments, segmentPath } from "../../src/journal/segments.ts";

Object.assign(process.env, TEST_AWS_ENV);

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

const encode = (s: string) => new TextEncoder().encode(s);

/** Writes frames as a finished run would have (one appender, closed), `perSegment` frames per segment. */
function writeJournal(dir: string, frames: readonly (string | Uint8Array)[], segmentBytes = 1 << 30): string[] {
  const appender = new JournalAppender({ dir, pid: 1, segmentBytes, segmentAgeMs: 1 << 30, fsyncMs: 1000, clockMicros: () => Date.now() * 1000 });
  appender.open();
  frames.forEach((f, i) => {
    appender.append(typeof f === "string" ? encode(f) : f, 1_788_000_000_000_000 + i);
    appender.flush();
  });
  appender.close();
  return listSegments(dir);
}

function startUploader(dir: string, table: string, options: { endpoint?: string; keepMs?: number; shards?: number } = {}) {
  const signal = createJournalSignal();
  const messages: UploaderMessage[] = [];
  const done = Promise.withResolvers<UploaderMessage>();
  const run = new UploadStage(
    {
      type: "init",
      source: { kind: "journal", signal, journal: { dir, fsyncMs: 200, segmentBytes: 1 << 20, segmentAgeMs: 3_600_000, keepMs: options.keepMs ?? 86_400_000, disk: { policy: "drop-oldest", gzipLevel: 0 } } },
      target: { table, endpoint: options.endpoint ?? endpoint, shards: options.shards ?? 4, inFlight: { initial: 4, max: 4, adaptive: false } },
      lingerMs: 5,
      progressEveryMs: 100,
      checkpointEveryMs: 100,
    },
    (m) => {
      messages.push(m);
      if (m.type === "done" || m.type === "fatal") done.resolve(m);
    },
  );
  const running = run.run();
  const ints = new Int32Array(signal);
  return {
    run,
    messages,
    done: done.promise,
    running,
    /** What the journal stage does after a write / a rotation. */
    notifyWritten(rotated = false) {
      if (rotated) Atomics.add(ints, SIGNAL_ROTATIONS, 1);
      Atomics.add(ints, SIGNAL_WRITES, 1);
      Atomics.notify(ints, SIGNAL_WRITES);
    },
  };
}

describe("journal uploader", () => {
  test("uploads old segments and the live one as it grows, then checkpoints the end", async () => {
    const table = await createJournalTestTable(client, "upl-live");
    const dir = testTempDir("upl");
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 1500, seed: 31 });
    // An earlier run left two finished segments.
    writeJournal(dir, frames.slice(0, 2000), 200_000);
    expect(listSegments(dir).length).toBeGreaterThan(1);
    // This run's live segment: written while the uploader runs.
    const live = new JournalAppender({ dir, pid: 2, segmentBytes: 1 << 30, segmentAgeMs: 1 << 30, fsyncMs: 1000, clockMicros: () => Date.now() * 1000 });
    live.open();
    const uploader = startUploader(dir, table);
    for (let i = 2000; i < frames.length; i++) {
      live.append(encode(frames[i]!), i);
      if (i % 100 === 0) {
        live.flush();
        uploader.notifyWritten();
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    live.close();
    uploader.notifyWritten();
    uploader.run.control({ type: "finish" });
    const end = await uploader.done;
    expect(end).toMatchObject({ type: "done", complete: true, stats: { events: frames.length, written: frames.length, backlogBytes: 0 } });
    expectExactlyOnce(await storedFrames(client, table), frames);
    const checkpoint = readCheckpoint(dir);
    const last = listSegments(dir).at(-1)!;
    expect(checkpoint).toMatchObject({ kind: "ok", checkpoint: { segment: last, offset: Bun.file(segmentPath(dir, last)).size, table } });
  });

  test("quarantines bad frames and a cut last line, counts them, and moves the checkpoint over them", async () => {
    const table = await createJournalTestTable(client, "upl-bad");
    const dir = testTempDir("upl");
    const [good1, good2] = generateFrames({ pairs: ["btcusd"], countPerPair: 2, seed: 32, trades: false }) as [string, string];
    const segments = writeJournal(dir, [good1, "not json{", new Uint8Array([0x7b, 0xff, 0x7d]), good2.replace(/"price_str":"[^"]*",/, ""), good2]);
    appendFileSync(segmentPath(dir, segments[0]!), '{"rx":9,"m":{"cut by a cra');
    const uploader = startUploader(dir, table);
    uploader.run.control({ type: "finish" });
    const end = await uploader.done;
    expect(end).toMatchObject({ type: "done", complete: true, stats: { written: 2, quarantined: 4, rejected: { E_FRAME_JSON: 1, E_FRAME_UTF8: 1, E_FRAME_INVALID: 1 } } });
    expectExactlyOnce(await storedFrames(client, table), [good1, good2]);
    const records = quarantineRecords(dir);
    expect(records.map((r) => r.code)).toEqual(["E_FRAME_JSON", "E_FRAME_UTF8", "E_FRAME_INVALID", "E_JOURNAL_LINE"]);
    expect(records[0]).toMatchObject({ line: `{"rx":1788000000000001,"m":not json{}`, rx: 1788000000000001, segment: segments[0] });
    expect(records[1]!.line).toMatch(/^\{"rx":1788000000000002,"b64":"/);
    expect(String(records[2]!.reason)).toContain("price_str");
    expect(records[3]).toMatchObject({ line: '{"rx":9,"m":{"cut by a cra', reason: expect.stringContaining("unterminated line") });
    const checkpoint = readCheckpoint(dir);
    expect(checkpoint.kind === "ok" && checkpoint.checkpoint.offset).toBe(Bun.file(segmentPath(dir, segments[0]!)).size);
  });

  test("a second run resumes at the checkpoint and deletes the acknowledged segments past --journal-keep", async () => {
    const table = await createJournalTestTable(client, "upl-resume");
    const dir = testTempDir("upl");
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 600, seed: 33 });
    writeJournal(dir, frames.slice(0, 400), 60_000);
    const first = startUploader(dir, table);
    first.run.control({ type: "finish" });
    expect(await first.done).toMatchObject({ stats: { events: 400 } });
    // A later run appended more; the next uploader reads only those, and retention (keep 0) drops the rest.
    const oldSegments = listSegments(dir);
    writeJournal(dir, frames.slice(400));
    const second = startUploader(dir, table, { keepMs: 0 });
    second.run.control({ type: "finish" });
    const end = await second.done;
    expect(end).toMatchObject({ type: "done", complete: true, stats: { events: 200 } });
    expect(end.type === "done" && end.stats.deletedSegments).toBe(oldSegments.length - 1);
    expect(listSegments(dir).length).toBe(2); // the last old one (it holds the first checkpoint) and the new one
    expectExactlyOnce(await storedFrames(client, table), frames);
  });

  test("an abort during a DynamoDB outage reports at once, with the checkpoint where it was", async () => {
    const table = await createJournalTestTable(client, "upl-abort");
    const dir = testTempDir("upl");
    writeJournal(dir, generateFrames({ pairs: ["btcusd"], countPerPair: 300, seed: 34 }));
    await using proxy = startFaultProxy({ target: endpoint, failAllWith: { status: 503, type: "ServiceUnavailable", message: "down (test)" } });
    const uploader = startUploader(dir, table, { endpoint: proxy.url });
    await waitFor(() => uploader.messages.some((m) => m.type === "retry"), 10_000);
    uploader.run.control({ type: "abort" });
    const end = await uploader.done;
    expect(end).toMatchObject({ type: "done", complete: false, stats: { written: 0 } });
    expect(end.type === "done" && end.stats.backlogBytes).toBeGreaterThan(0);
    expect(readCheckpoint(dir)).toEqual({ kind: "none" });
  });

  test("a table that does not exist is fatal (E_TABLE_NOT_FOUND), not retried", async () => {
    const dir = testTempDir("upl");
    writeJournal(dir, generateFrames({ pairs: ["btcusd"], countPerPair: 50, seed: 35 }));
    const uploader = startUploader(dir, "no-such-table-upl");
    const end = await uploader.done;
    expect(end).toMatchObject({ type: "fatal", code: "E_TABLE_NOT_FOUND" });
  });

  test("without a shard count (DynamoDB silent at start-up) it reads the table's metadata first", async () => {
    const table = await createJournalTestTable(client, "upl-shards");
    const dir = testTempDir("upl");
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 100, seed: 36 });
    writeJournal(dir, frames);
    const uploader = startUploader(dir, table, { shards: undefined as unknown as number });
    uploader.run.control({ type: "finish" });
    expect(await uploader.done).toMatchObject({ type: "done", complete: true });
    expectExactlyOnce(await storedFrames(client, table), frames);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
