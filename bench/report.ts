/**
 * Renders BENCHMARKS.md from the figures the benchmarks printed (their last-line JSON objects).
 * Nothing here is a measurement: every number comes from `outcomes`; only targets are constants
 * (they are the issue's). A benchmark that failed shows its error instead of its table.
 */

export interface MachineInfo {
  nproc: string;
  cpuModel: string;
  ramGiB: number;
  kernel: string;
  bun: string;
  java: string;
  dynamoDbLocal: string;
  date: string;
  command: string;
  loadAtStart: [number, number, number];
  loadAtEnd: [number, number, number];
  totalSeconds: number;
}

export interface BenchOutcome {
  name: string;
  file: string;
  ok: boolean;
  seconds: number;
  loadBefore: [number, number, number];
  figures?: Record<string, unknown>;
  /** The benchmark's stdout before its JSON line. */
  humanLines?: string[];
  error?: string;
}

// Shapes of the JSON lines (see each bench file).
interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  runsP99: number[];
  samplesPerRun: number;
}
interface ReceiveMode {
  framesPerSec: number;
  runsFramesPerSec: number[];
  wallMicrosPerFrame: number;
  meanFrameBytes: number;
  handlerMicros: Percentiles;
  handlerMicrosAfterWrap: Percentiles;
  handlerMicrosFirstPass: Percentiles;
}
interface ReceiveFigures {
  framesPerRun: number;
  channels: number;
  repeats: number;
  ringBytes: number;
  baseline: ReceiveMode;
  ring: ReceiveMode & { highWaterBytes: number; overflowedFrames: number; lostFrames: number };
  ringOverBaseline: number;
}
interface RingFigures {
  frameBytes: number;
  ringBytes: number;
  ringRecordsPerSec: number;
  ringMBPerSec: number;
  ringRunsRecordsPerSec: number[];
  postMessageRecordsPerSec: number;
  postMessageRunsRecordsPerSec: number[];
  ringOverPostMessage: number;
  pushNsConcurrent: { p50: number; p99: number; max: number; batchesLeftOut: number };
  pushNsSingleThread: { p50: number; p99: number; max: number };
}
interface PipelineVariant {
  endToEndPerSec: number;
  runsEndToEndPerSec: number[];
  steadyPerSec: number;
  runsSteadyPerSec: number[];
  warmPerSec?: number;
  runsWarmPerSec?: number[];
  runsSeconds: number[];
  receivedAllWithinSeconds: number;
  ringHighKiB: number;
  uploadBacklogMiB: number;
  lostFrames: number;
  inFlightMedian: number;
  /** Median of the limit in effect at the progress lines (adaptive; absent in figures from before it). */
  limitMedian?: number;
  /** Highest limit reached by any run, and per run: highest, final, number of changes (`write concurrency A -> B`). */
  concurrencyHighest?: number;
  runsConcurrencyHighest?: number[];
  runsConcurrencyFinal?: number[];
  runsConcurrencyChanges?: number[];
  obcapCores: number;
  dynamoDbCores: number;
  summary: string;
}
interface PipelineFigures {
  events: number;
  repeats: number;
  maxInFlight: number;
  queueMiB: number;
  ringKiB: number;
  cpus: number;
  journal: PipelineVariant;
  direct: PipelineVariant;
  rawItemsPerSec: number;
  rawRunsItemsPerSec: number[];
  benchCoresInRaw: number;
  dynamoDbCoresInRaw: number;
  rawInWorkerItemsPerSec: number;
  rawInWorkerRunsItemsPerSec: number[];
  rawInWorkerOverRaw: number;
  journalEndToEndOverRaw: number;
  journalSteadyOverRaw: number;
  directEndToEndOverRaw: number;
  directSteadyOverRaw: number;
  directSteadyOverRawInWorker: number;
  /** `journal` and `direct` adapt their requests in flight (the default, up to this); `journalFixed8` is pinned at maxInFlight. */
  adaptiveMaxInFlight?: number;
  journalFixed8?: PipelineVariant;
  /** The raw ceiling measured right before the first and right after the last capture; the higher is kept. */
  rawCeilingBeforeItemsPerSec?: number;
  rawCeilingAfterItemsPerSec?: number;
  rawCeilingItemsPerSec?: number;
  targetShareOfCeiling?: number;
  journalEndToEndOverCeiling?: number;
  journalSteadyOverCeiling?: number;
  journalWarmOverCeiling?: number;
  warmAfterMs?: number;
  journalFixed8EndToEndOverCeiling?: number;
  journalFixed8SteadyOverCeiling?: number;
  directEndToEndOverCeiling?: number;
  directSteadyOverCeiling?: number;
  journalAdaptiveOverFixed8EndToEnd?: number;
  /** The default capture again with DynamoDB Local pinned to its own CPU (bench/harness.ts pinCpus). */
  pinned?: { skipped: string } | { rawCeilingBeforeItemsPerSec: number; rawCeilingAfterItemsPerSec: number; rawCeilingItemsPerSec: number; journal: PipelineVariant; journalEndToEndOverCeiling: number };
}
interface ReplayInFlightMode {
  linesPerSec: number;
  runsLinesPerSec: number[];
  concurrencyHighest: number;
  runsConcurrencyHighest: number[];
  runsConcurrencyFinal: number[];
}
/** One group of direct replays (CPUs shared, or DynamoDB Local pinned apart) with its raw ceiling. */
interface ReplayDirectGroup {
  rawCeilingBeforeItemsPerSec: number;
  rawCeilingAfterItemsPerSec: number;
  rawCeilingItemsPerSec: number;
  adaptive: ReplayInFlightMode;
  fixed8: ReplayInFlightMode;
  adaptiveOverCeiling: number;
  fixed8OverCeiling: number;
  adaptiveOverFixed8: number;
}
/** bench/replay.bench.ts, part 5: requests in flight, adaptive vs `--in-flight 8`. */
interface ReplayInFlightFigures {
  lines: number;
  items: number;
  repeats: number;
  fixedInFlight: number;
  adaptiveMaxInFlight: number;
  proxyLatencyMs: number;
  targetShareOfCeiling: number;
  warmUpItemsPerSec: number;
  direct: ReplayDirectGroup;
  directPinned: ReplayDirectGroup | { skipped: string } | undefined;
  proxied: { adaptive: ReplayInFlightMode; fixed8: ReplayInFlightMode };
  proxiedAdaptiveOverFixed8: number;
  proxiedAdaptiveOverDirectAdaptive: number;
  seconds: number;
}
function pinnedGroup(r: ReplayInFlightFigures): ReplayDirectGroup | undefined {
  return r.directPinned && "adaptive" in r.directPinned ? r.directPinned : undefined;
}
/** bench/book.bench.ts: the order-book engine in memory. */
interface BookFigures {
  eventsPerRun: number;
  restingOrders: number;
  applyPerSec: number;
  applyTargetPerSec: number;
  applyWithDepth20EveryEventPerSec: number;
  applyWithDepth20Every1000PerSec: number;
  exactPathApplyPerSec: number;
}
/** bench/book-at.bench.ts: `obcap book --at` on a 6-hour capture in DynamoDB Local. */
interface BookAtCadence {
  snapshotEverySec: number;
  meanEventsApplied: number;
  inProcessMs: { p50: number; p95: number; max: number };
  binaryMs: { p50: number; p95: number; max: number };
}
/** bench/api.bench.ts: the REST API (`obcap serve`) and the Lambda handler on DynamoDB Local. */
interface ApiFigures {
  orderEvents: number;
  minutes: number;
  samples: number;
  bookMs: { p50: number; p95: number };
  meanEventsApplied: number;
  ndjsonEventsPerSec: number;
  /** The same journal in a packed table. */
  packed?: { bookMs: { p50: number; p95: number }; meanEventsApplied: number; ndjsonEventsPerSec: number; packMs: number };
  clients: number;
  pagesPerSec: number;
  pageMs: { p50: number; p95: number };
  lambdaZipBytes: number;
  lambdaColdStartMs: number;
  lambdaImportMs: number;
  lambdaWarmBookMs: number;
}
/** bench/packed.bench.ts: the packed layout against the event layout (write units, bytes, export). */
interface PackedLayoutRun {
  events: number;
  writeUnits: number;
  writeUnitsPer1000: number;
  itemBytesPerEvent: number;
  storedBytesPerEvent: number;
  exportEventsPerSec: number;
  exportStreamingPerSec: number;
}
interface PackedFigures {
  packMs: number;
  prices: { wruUsdPerMillion: number; storageUsdPerGbMonth: number; region: string; since: string };
  datasets: Record<string, { event: PackedLayoutRun; packed: PackedLayoutRun; perPairRate?: number }>;
  cost: Record<"at200PerSec" | "at2000PerSec", { event: { writeUsd: number; storageGbPerMonth: number }; packed: { writeUsd: number; storageGbPerMonth: number }; basis: string }>;
}
interface BookAtFigures {
  cadences?: BookAtCadence[];
  hours: number;
  framesPerSec: number;
  snapshotEverySec: number;
  samples: number;
  meanEventsApplied: number;
  inProcessMs: { p50: number; p95: number; max: number };
  binarySamples: number;
  binaryMs: { p50: number; p95: number; max: number };
  targetP95Ms: number;
}
interface ReplayFigures {
  inFlight?: ReplayInFlightFigures;
}
interface RssMode {
  peakMiB: number;
  steadyMiB: number;
  firstSampleMiB: number;
  traceMiB: number[];
  samples: number;
  receivedPerSec: number;
  writtenPerSec: number;
  queueKiBAtEnd: number;
  ringHighKiB: number;
  uploadBacklogMiBAtEnd?: number;
  lost: number;
  endMiB?: { rss: number; anon: number; file: number; shmem: number };
}
interface RssFigures {
  ratePerSec: number;
  durationSeconds: number;
  sampleMs: number;
  traceEverySeconds: number;
  idle?: RssMode;
  dynamodb: RssMode;
  journal: RssMode;
  direct?: RssMode;
  journalSmallRing: RssMode;
}
interface StartupFigures {
  binaryBytes: number;
  binaryMiB: number;
  runs: number;
  channels: number;
  spawnToSubscribedMs: { median: number; min: number; max: number; all: number[] };
  inProcessSubscribedMs: { median: number; min: number; all: number[] };
  sigintToExitMs: { median: number; max: number };
}
interface DecodePath {
  frames: number;
  meanFrameBytes: number;
  decodePerSec: number;
  decodeEncodeItemPerSec: number;
  decodeItemPerSec: number;
}
interface DecodeFigures {
  fastPath: DecodePath;
  exactPath: DecodePath;
}

// Targets of the issue.
const TARGET_HANDLER_P99_MICROS = 50;
const TARGET_RING_PER_SEC = 1_000_000;
const TARGET_RSS_MIB = 96;
const TARGET_RSS_RATE = 5_000;
/** "DynamoDB Local is the only bottleneck": the pipeline reaches this share of the raw write ceiling. */
const BOTTLENECK_SHARE = 0.9;
/** Adaptive requests in flight: capture and replay store at least this share of the raw ceiling (the benches also print it). */
const TARGET_SHARE_OF_CEILING = 0.95;

type Row = [figure: string, value: string, target: string, verdict: string];

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "n/a");
const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const runs = (values: number[]) => values.map(int).join(" / ");
const verdict = (ok: boolean) => (ok ? "meets" : "**misses**");
const NONE = "—";

function table(rows: Row[]): string {
  return ["| Figure | Value | Target | Verdict |", "|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function figuresOf<T>(outcomes: BenchOutcome[], name: string): T | undefined {
  const o = outcomes.find((x) => x.name === name);
  return o?.ok ? (o.figures as T) : undefined;
}

function header(outcome: BenchOutcome | undefined, title: string): string {
  if (!outcome) return `## ${title}\n\nNot run.`;
  const meta = `\`${outcome.file}\`, ${outcome.seconds} s, load average before: ${outcome.loadBefore.join(" ")}`;
  if (!outcome.ok) return `## ${title}\n\n${meta}\n\n**FAILED**:\n\n\`\`\`\n${(outcome.error ?? "").trim()}\n\`\`\``;
  return `## ${title}\n\n${meta}`;
}

/** Sections of this file's own benchmarks; any other outcome gets a generic section. */
const KNOWN_BENCHES = new Set(["ring", "decode", "receive", "pipeline", "rss", "startup"]);

export function renderReport(machine: MachineInfo, outcomes: BenchOutcome[], notRun: readonly string[] = []): string {
  const get = (name: string) => outcomes.find((o) => o.name === name);
  const ring = figuresOf<RingFigures>(outcomes, "ring");
  const receive = figuresOf<ReceiveFigures>(outcomes, "receive");
  const pipeline = figuresOf<PipelineFigures>(outcomes, "pipeline");
  const rss = figuresOf<RssFigures>(outcomes, "rss");
  const startup = figuresOf<StartupFigures>(outcomes, "startup");
  const decode = figuresOf<DecodeFigures>(outcomes, "decode");
  const replayInFlight = figuresOf<ReplayFigures>(outcomes, "replay")?.inFlight;
  const book = figuresOf<BookFigures>(outcomes, "book");
  const bookAt = figuresOf<BookAtFigures>(outcomes, "book-at");
  const api = figuresOf<ApiFigures>(outcomes, "api");
  const packed = figuresOf<PackedFigures>(outcomes, "packed");
  /** Both measures of a variant must reach the share, with every slot busy and nothing lost. */
  const bottleneck = (v: PipelineVariant, endToEndOverRaw: number, steadyOverRaw: number) =>
    Math.min(endToEndOverRaw, steadyOverRaw) >= BOTTLENECK_SHARE && v.lostFrames === 0 && pipeline !== undefined && slotsFull(v, pipeline);
  const ceilingTarget = (share: number | undefined, target: number | undefined) => share !== undefined && share >= (target ?? TARGET_SHARE_OF_CEILING);

  const out: string[] = [];
  out.push(
    "# obcap benchmarks",
    "",
    `Generated by \`${COMMAND_LINE}\` on ${machine.date}. Every figure below was measured in this one run on this one machine; ` +
      "nothing is copied from elsewhere. Do not edit by hand: run the command again.",
    "",
    "## Machine",
    "",
    "| | |",
    "|---|---|",
    `| CPUs (\`nproc\`) | ${machine.nproc} |`,
    `| CPU model (/proc/cpuinfo) | ${machine.cpuModel} |`,
    `| RAM | ${machine.ramGiB} GiB |`,
    `| Kernel | ${machine.kernel} |`,
    `| Bun | ${machine.bun} |`,
    `| DynamoDB Local | ${machine.dynamoDbLocal}; ${machine.java} |`,
    `| Date | ${machine.date} |`,
    `| Command | ${machine.command} |`,
    `| Load average at start / end (/proc/loadavg, 1 5 15 min) | ${machine.loadAtStart.join(" ")} / ${machine.loadAtEnd.join(" ")} |`,
    `| Duration of the whole run | ${machine.totalSeconds} s |`,
    "",
    "The machine is shared and noisy (other jobs run on it; see the load averages): each throughput figure is the median of 3 runs, " +
      "and the single runs are listed beside it. Treat differences of 10-20% between two runs of `make bench` as noise.",
    "",
    "## The figures the issue asks for",
    "",
  );
  const targetRows: Row[] = [];
  if (receive) {
    targetRows.push([
      "(a) Messages/s from the test server at max rate into the ring, no-op consumer",
      `${int(receive.ring.framesPerSec)}/s (ceiling with a no-op handler ${int(receive.baseline.framesPerSec)}/s)`,
      NONE,
      NONE,
    ]);
  }
  if (pipeline) {
    targetRows.push([
      "(b) Messages/s of the full pipeline into DynamoDB Local, end to end",
      `${int(pipeline.journal.endToEndPerSec)}/s as by default (journal, then upload); ${int(pipeline.direct.endToEndPerSec)}/s with --no-journal`,
      NONE,
      NONE,
    ]);
  }
  if (ring) {
    targetRows.push([`Ring vs plain postMessage (${ring.frameBytes}-byte records to a Worker)`, `${fixed(ring.ringOverPostMessage, 2)}x`, NONE, NONE]);
    targetRows.push([`Ring throughput, ${ring.frameBytes}-byte records`, `${int(ring.ringRecordsPerSec)} records/s`, `>= ${int(TARGET_RING_PER_SEC)}/s`, verdict(ring.ringRecordsPerSec >= TARGET_RING_PER_SEC)]);
  }
  if (receive) {
    const h = receive.ring.handlerMicros;
    targetRows.push([
      "Main-thread time per frame (receive path into the ring): p50 / p99 / max",
      `${fixed(h.p50, 2)} / ${fixed(h.p99, 2)} / ${fixed(h.max, 0)} µs`,
      `p99 < ${TARGET_HANDLER_P99_MICROS} µs`,
      verdict(h.p99 < TARGET_HANDLER_P99_MICROS),
    ]);
  }
  if (rss) {
    for (const [mode, label] of [["dynamodb", "journal + upload to DynamoDB Local"], ["journal", "journal only (no --table)"], ["direct", "--no-journal into DynamoDB Local"]] as const) {
      const m = rss[mode];
      if (!m) continue;
      targetRows.push([`Peak RSS of dist/obcap at ${int(rss.ratePerSec)} msgs/s, ${label}`, `${fixed(m.peakMiB, 1)} MiB`, `< ${TARGET_RSS_MIB} MiB`, verdict(m.peakMiB < TARGET_RSS_MIB)]);
    }
  }
  if (startup) {
    targetRows.push(["Binary size of dist/obcap", `${fixed(startup.binaryMiB, 1)} MiB`, NONE, NONE]);
    targetRows.push([
      `Time from start to first subscription (spawn to all ${startup.channels} channels acknowledged), median`,
      `${startup.spawnToSubscribedMs.median} ms (in-process part ${startup.inProcessSubscribedMs.median} ms)`,
      NONE,
      NONE,
    ]);
  }
  if (pipeline) {
    const variants = [
      ["default capture (journal, then upload)", pipeline.journal, pipeline.journalEndToEndOverRaw, pipeline.journalSteadyOverRaw],
      ["--no-journal", pipeline.direct, pipeline.directEndToEndOverRaw, pipeline.directSteadyOverRaw],
    ] as const;
    for (const [label, v, e2e, steady] of variants) {
      targetRows.push([
        `DynamoDB Local is the only bottleneck in (b), ${label}: pipeline / raw BatchWriteItem ceiling`,
        `${fixed(e2e, 2)} end to end, ${fixed(steady, 2)} steady; in flight ${inFlightOf(v, pipeline)}; lost ${v.lostFrames}`,
        `>= ${BOTTLENECK_SHARE}, all in flight, 0 lost`,
        verdict(bottleneck(v, e2e, steady)),
      ]);
    }
    if (pipeline.rawCeilingItemsPerSec !== undefined && pipeline.journalFixed8) {
      const target = pipeline.targetShareOfCeiling ?? TARGET_SHARE_OF_CEILING;
      targetRows.push([
        "Capture stored/s / raw ceiling (higher of before and after the captures), default capture (journal), adaptive in flight",
        `${fixed(pipeline.journalEndToEndOverCeiling ?? NaN, 2)} end to end (${int(pipeline.journal.endToEndPerSec)} events/s vs ${int(pipeline.rawCeilingItemsPerSec)} items/s), ` +
          `${fixed(pipeline.journalSteadyOverCeiling ?? NaN, 2)} steady; fixed ${pipeline.maxInFlight}: ${fixed(pipeline.journalFixed8EndToEndOverCeiling ?? NaN, 2)} end to end; ` +
          `highest concurrency ${pipeline.journal.concurrencyHighest ?? "n/a"}`,
        `>= ${target} (adaptive, end to end)`,
        verdict(ceilingTarget(pipeline.journalEndToEndOverCeiling, target)),
      ]);
      if (pipeline.journalWarmOverCeiling !== undefined && pipeline.journal.warmPerSec !== undefined) {
        targetRows.push([
          `  the same capture once warm: written/s from ${(pipeline.warmAfterMs ?? 4000) / 1000} s after its start to its last progress line (the burst received and journaled, the JIT warm, the concurrency settled; the raw writer runs warm too)`,
          `${fixed(pipeline.journalWarmOverCeiling, 2)} (${int(pipeline.journal.warmPerSec)} events/s; runs ${(pipeline.journal.runsWarmPerSec ?? []).map(int).join(", ")})`,
          "— (shown to split the gap: start-up vs running)",
          "—",
        ]);
      }
      const pin = pipeline.pinned;
      if (pin && "journal" in pin) {
        targetRows.push([
          "Capture stored/s / raw ceiling, default capture (journal), adaptive, DynamoDB Local pinned to its own CPU (as on AWS), the capture and the exchange on the other",
          `${fixed(pin.journalEndToEndOverCeiling, 2)} end to end (${int(pin.journal.endToEndPerSec)} events/s vs ${int(pin.rawCeilingItemsPerSec)} items/s, the higher of ${int(pin.rawCeilingBeforeItemsPerSec)} before and ${int(pin.rawCeilingAfterItemsPerSec)} after)`,
          `>= ${target}`,
          verdict(ceilingTarget(pin.journalEndToEndOverCeiling, target)),
        ]);
      }
    }
  }
  if (book) {
    targetRows.push(
      [
        `Book engine: order events applied in memory (${int(book.eventsPerRun)} a run, ~${int(book.restingOrders)} resting orders), median`,
        `${int(book.applyPerSec)}/s; with a depth-20 read after every event ${int(book.applyWithDepth20EveryEventPerSec)}/s; exact path (19-digit ids, 12-decimal amounts) ${int(book.exactPathApplyPerSec)}/s`,
        `>= ${int(book.applyTargetPerSec)}/s`,
        verdict(book.applyPerSec >= book.applyTargetPerSec),
      ],
    );
  }
  if (bookAt) {
    targetRows.push(
      [
        `\`obcap book --at\` a random T of a ${bookAt.hours} h capture (${bookAt.framesPerSec} frames/s, a snapshot every ${bookAt.snapshotEverySec / 60} min: the default) in DynamoDB Local: whole process, p50 / p95 (${bookAt.binarySamples} runs)`,
        `${int(bookAt.binaryMs.p50)} / ${int(bookAt.binaryMs.p95)} ms; in process (warm, ${bookAt.samples} T): ${int(bookAt.inProcessMs.p50)} / ${int(bookAt.inProcessMs.p95)} ms, ${int(bookAt.meanEventsApplied)} events applied on average`,
        `p95 <= ${int(bookAt.targetP95Ms)} ms`,
        verdict(bookAt.binaryMs.p95 <= bookAt.targetP95Ms),
      ],
      ...(bookAt.cadences ?? []).slice(1).map((c): Row => [
        `  the same with a snapshot every ${c.snapshotEverySec / 60} min (\`--snapshot-every ${c.snapshotEverySec / 60}m\`)`,
        `${int(c.binaryMs.p50)} / ${int(c.binaryMs.p95)} ms; in process ${int(c.inProcessMs.p50)} / ${int(c.inProcessMs.p95)} ms, ${int(c.meanEventsApplied)} events applied on average`,
        `p95 <= ${int(bookAt.targetP95Ms)} ms`,
        verdict(c.binaryMs.p95 <= bookAt.targetP95Ms),
      ]),
    );
  }
  if (api) {
    targetRows.push(
      [
        `\`GET /v1/book\` over HTTP (\`obcap serve\`), a random T of a ${api.minutes} min capture at 50 events/s with a snapshot every 15 min, p50 / p95 (${api.samples} requests)`,
        `${api.bookMs.p50} / ${api.bookMs.p95} ms, ${int(api.meanEventsApplied)} events applied on average`,
        "p95 <= 1,000 ms (as \`book --at\`)",
        verdict(api.bookMs.p95 <= 1000),
      ],
      [`\`GET /v1/events\` as NDJSON, a whole hour streamed from DynamoDB Local`, `${int(api.ndjsonEventsPerSec)} events/s (${int(api.orderEvents)} events)`, "—", "—"],
      ...(api.packed
        ? [
            <Row>[
              `  the same on a packed table (${api.packed.packMs} ms windows): \`GET /v1/book\` p50 / p95; NDJSON`,
              `${api.packed.bookMs.p50} / ${api.packed.bookMs.p95} ms; ${int(api.packed.ndjsonEventsPerSec)} events/s`,
              "p95 <= 1,000 ms",
              verdict(api.packed.bookMs.p95 <= 1000),
            ],
          ]
        : []),
      [`\`GET /v1/events?limit=10\` (a minute's first page) from ${api.clients} clients at once`, `${int(api.pagesPerSec)} requests/s; p50 ${api.pageMs.p50} ms, p95 ${api.pageMs.p95} ms`, "—", "—"],
      [
        "Lambda handler (`make lambda`) under Node.js: zip size; cold start (import + first request, which opens the table), median of 5 fresh processes",
        `${(api.lambdaZipBytes / 1024).toFixed(0)} KiB; ${api.lambdaColdStartMs} ms (import ${api.lambdaImportMs} ms); then \`/v1/book\` ${api.lambdaWarmBookMs} ms`,
        "—",
        "—",
      ],
    );
  }
  if (packed) {
    const low = packed.datasets["20/s"]!;
    const high = packed.datasets["500/s"]!;
    const c = packed.cost;
    targetRows.push(
      [
        `Packed layout (${packed.packMs} ms windows), write units per 1,000 events, billed per request as DynamoDB bills (coverage and gap items included): ${low.perPairRate} events/s per pair (event layout: ${low.event.writeUnitsPer1000})`,
        `${low.packed.writeUnitsPer1000}`,
        "<= 100",
        verdict(low.packed.writeUnitsPer1000 <= 100),
      ],
      [`  the same at ${high.perPairRate} events/s per pair (event layout: ${high.event.writeUnitsPer1000})`, `${high.packed.writeUnitsPer1000}`, "<= 40", verdict(high.packed.writeUnitsPer1000 <= 40)],
      [
        `  stored bytes per event (DynamoDB item sizes, and with its 100 B per item), at ${low.perPairRate} / ${high.perPairRate} events/s per pair (event layout: ${low.event.itemBytesPerEvent} / ${high.event.itemBytesPerEvent})`,
        `${low.packed.itemBytesPerEvent} (${low.packed.storedBytesPerEvent}) / ${high.packed.itemBytesPerEvent} (${high.packed.storedBytesPerEvent})`,
        "<= 40",
        verdict(Math.max(low.packed.storedBytesPerEvent, high.packed.storedBytesPerEvent) <= 40),
      ],
      [
        `  \`obcap export\` from DynamoDB Local, ${int(high.packed.events)} events (the export's own rate; whole process in brackets); event layout: ${int(high.event.exportStreamingPerSec)} (${int(high.event.exportEventsPerSec)})`,
        `${int(high.packed.exportStreamingPerSec)} events/s (${int(high.packed.exportEventsPerSec)})`,
        ">= 100,000 events/s",
        verdict(high.packed.exportStreamingPerSec >= 100_000),
      ],
      [
        `  on-demand writes a month (us-east-1, $${packed.prices.wruUsdPerMillion} per million write units, prices since ${packed.prices.since}): 200 events/s (${c.at200PerSec.basis}); 2,000 events/s (${c.at2000PerSec.basis})`,
        `event $${c.at200PerSec.event.writeUsd}, packed $${c.at200PerSec.packed.writeUsd}; event $${c.at2000PerSec.event.writeUsd}, packed $${c.at2000PerSec.packed.writeUsd}`,
        "—",
        "—",
      ],
    );
  }
  if (replayInFlight) {
    const r = replayInFlight;
    targetRows.push(
      [
        "Replay stored/s / raw ceiling (higher of before and after the replays), into DynamoDB Local sharing the 2 CPUs, adaptive in flight",
        `${fixed(r.direct.adaptiveOverCeiling, 2)} (${int(r.direct.adaptive.linesPerSec)} lines/s vs ${int(r.direct.rawCeilingItemsPerSec)} items/s); fixed ${r.fixedInFlight}: ${fixed(r.direct.fixed8OverCeiling, 2)}; ` +
          `highest concurrency ${r.direct.adaptive.concurrencyHighest}`,
        `>= ${r.targetShareOfCeiling}`,
        verdict(ceilingTarget(r.direct.adaptiveOverCeiling, r.targetShareOfCeiling)),
      ],
      ...(pinnedGroup(r)
        ? [<Row>[
            "Replay stored/s / raw ceiling, DynamoDB Local pinned to its own CPU (as on AWS: not sharing obcap's CPU), adaptive in flight",
            `${fixed(pinnedGroup(r)!.adaptiveOverCeiling, 2)} (${int(pinnedGroup(r)!.adaptive.linesPerSec)} lines/s vs ${int(pinnedGroup(r)!.rawCeilingItemsPerSec)} items/s); fixed ${r.fixedInFlight}: ${fixed(pinnedGroup(r)!.fixed8OverCeiling, 2)}`,
            `>= ${r.targetShareOfCeiling}`,
            verdict(ceilingTarget(pinnedGroup(r)!.adaptiveOverCeiling, r.targetShareOfCeiling)),
          ]]
        : []),
      [
        `Replay lines/s through a proxy adding ${r.proxyLatencyMs} ms to every BatchWriteItem: adaptive / fixed ${r.fixedInFlight}`,
        `${int(r.proxied.adaptive.linesPerSec)} / ${int(r.proxied.fixed8.linesPerSec)} lines/s (${fixed(r.proxiedAdaptiveOverFixed8, 2)}x); highest concurrency ${r.proxied.adaptive.concurrencyHighest}`,
        NONE,
        NONE,
      ],
    );
  }
  out.push(targetRows.length ? table(targetRows) : "No target figure was measured (see the failures below).", "");

  out.push("## Ratios side by side", "", "| Ratio | Value | What it compares |", "|---|---|---|");
  if (ring) out.push(`| ring / plain postMessage | ${fixed(ring.ringOverPostMessage, 2)}x | ${int(ring.ringRecordsPerSec)} vs ${int(ring.postMessageRecordsPerSec)} records/s of ${ring.frameBytes} B to a Worker that only counts |`);
  if (receive) out.push(`| receive into the ring / receive with a no-op handler | ${fixed(receive.ringOverBaseline, 2)} | ${int(receive.ring.framesPerSec)} vs ${int(receive.baseline.framesPerSec)} frames/s from the test server at max rate |`);
  if (pipeline) {
    const j = pipeline.journal;
    const d = pipeline.direct;
    out.push(
      `| pipeline (b), default (journal) / raw BatchWriteItem, end to end | ${fixed(pipeline.journalEndToEndOverRaw, 2)} | ${int(j.endToEndPerSec)} events/s vs ${int(pipeline.rawItemsPerSec)} items/s into the same DynamoDB Local |`,
      `| pipeline (b), --no-journal / raw BatchWriteItem, end to end | ${fixed(pipeline.directEndToEndOverRaw, 2)} | ${int(d.endToEndPerSec)} vs ${int(pipeline.rawItemsPerSec)} |`,
      `| pipeline (b) with journal / without, end to end | ${fixed(j.endToEndPerSec / d.endToEndPerSec, 2)} | ${int(j.endToEndPerSec)} vs ${int(d.endToEndPerSec)} events/s: the journal's way against the direct one at max rate |`,
      `| raw BatchWriteItem from a Worker / from the main thread | ${fixed(pipeline.rawInWorkerOverRaw, 2)} | ${int(pipeline.rawInWorkerItemsPerSec)} vs ${int(pipeline.rawItemsPerSec)} items/s (obcap writes from a Worker) |`,
      `| pipeline (b), --no-journal, steady / raw from a Worker | ${fixed(pipeline.directSteadyOverRawInWorker, 2)} | ${int(d.steadyPerSec)} vs ${int(pipeline.rawInWorkerItemsPerSec)} items/s: what decoding and batching add |`,
    );
    const f8 = pipeline.journalFixed8;
    if (f8 && pipeline.rawCeilingItemsPerSec !== undefined) {
      const ceiling = `${int(pipeline.rawCeilingItemsPerSec)} items/s, the higher of the raw runs before (${int(pipeline.rawCeilingBeforeItemsPerSec ?? NaN)}) and after (${int(pipeline.rawCeilingAfterItemsPerSec ?? NaN)}) the captures`;
      out.push(
        `| capture (b), default (journal), adaptive / raw ceiling, end to end | ${fixed(pipeline.journalEndToEndOverCeiling ?? NaN, 2)} | ${int(j.endToEndPerSec)} events/s vs ${ceiling} |`,
        `| capture (b), default (journal), fixed ${pipeline.maxInFlight} / raw ceiling, end to end | ${fixed(pipeline.journalFixed8EndToEndOverCeiling ?? NaN, 2)} | ${int(f8.endToEndPerSec)} vs ${int(pipeline.rawCeilingItemsPerSec)} |`,
        `| capture (b), --no-journal, adaptive / raw ceiling, end to end | ${fixed(pipeline.directEndToEndOverCeiling ?? NaN, 2)} | ${int(d.endToEndPerSec)} vs ${int(pipeline.rawCeilingItemsPerSec)} |`,
        `| capture (b), default (journal): adaptive / fixed ${pipeline.maxInFlight}, end to end | ${fixed(pipeline.journalAdaptiveOverFixed8EndToEnd ?? NaN, 2)} | ${int(j.endToEndPerSec)} vs ${int(f8.endToEndPerSec)} events/s (adaptive reached ${j.concurrencyHighest ?? "n/a"} in flight at most) |`,
      );
    }
  }
  if (replayInFlight) {
    const r = replayInFlight;
    out.push(
      `| replay into DynamoDB Local (CPUs shared), adaptive / raw ceiling | ${fixed(r.direct.adaptiveOverCeiling, 2)} | ${int(r.direct.adaptive.linesPerSec)} lines/s (${fixed(r.items / r.lines, 2)} items a line) vs ${int(r.direct.rawCeilingItemsPerSec)} items/s, the higher of the raw runs before and after the replays |`,
      `| replay into DynamoDB Local (CPUs shared), fixed ${r.fixedInFlight} / raw ceiling | ${fixed(r.direct.fixed8OverCeiling, 2)} | ${int(r.direct.fixed8.linesPerSec)} vs ${int(r.direct.rawCeilingItemsPerSec)} |`,
      ...(pinnedGroup(r)
        ? [
            `| replay into DynamoDB Local pinned to its own CPU, adaptive / raw ceiling | ${fixed(pinnedGroup(r)!.adaptiveOverCeiling, 2)} | ${int(pinnedGroup(r)!.adaptive.linesPerSec)} vs ${int(pinnedGroup(r)!.rawCeilingItemsPerSec)} (the ceiling measured pinned the same way) |`,
            `| replay into DynamoDB Local pinned to its own CPU, fixed ${r.fixedInFlight} / raw ceiling | ${fixed(pinnedGroup(r)!.fixed8OverCeiling, 2)} | ${int(pinnedGroup(r)!.fixed8.linesPerSec)} vs ${int(pinnedGroup(r)!.rawCeilingItemsPerSec)} |`,
          ]
        : []),
      `| replay through +${r.proxyLatencyMs} ms per request: adaptive / fixed ${r.fixedInFlight} | ${fixed(r.proxiedAdaptiveOverFixed8, 2)} | ${int(r.proxied.adaptive.linesPerSec)} vs ${int(r.proxied.fixed8.linesPerSec)} lines/s (adaptive reached ${r.proxied.adaptive.concurrencyHighest} in flight at most) |`,
    );
  }
  if (decode && pipeline) {
    out.push(
      `| decode + encodeItem (the upload stage's per-frame work) / pipeline (b) default | ${fixed(decode.fastPath.decodeEncodeItemPerSec / pipeline.journal.endToEndPerSec, 1)}x | ` +
        `${int(decode.fastPath.decodeEncodeItemPerSec)} frames/s of CPU work on one thread vs ${int(pipeline.journal.endToEndPerSec)} events/s stored |`,
    );
  }
  out.push("");

  // (a) receive
  out.push(header(get("receive"), "1. Receive from the test server at max rate (a)"), "");
  if (receive) {
    const r = receive.ring;
    const b = receive.baseline;
    out.push(
      `The fake exchange (\`tests/support/fake-exchange-main.ts\`, its own process, no permessage-deflate) plays ${int(receive.framesPerRun)} generated frames ` +
        `(mean ${r.meanFrameBytes} B, ${receive.channels} channels of 2 pairs) as fast as the socket drains. This process runs the real receive path: ` +
        "Bun WebSocket (`createBunSocket`) -> connection of `startFeedSupervisor` (the capture's heartbeat and watchdog defaults) -> `FramePublisher` -> `RingProducer` (16 MiB, the default) -> a Worker that only drains " +
        "(`bench/ring-noop.worker.ts`). Baseline: the same socket and supervisor with a handler that only counts, i.e. what the test server and Bun's client " +
        "deliver with nothing behind them. Main-thread time per frame = performance.now() around the connection's whole `onmessage` (clock read, control check, " +
        "publish into the ring), one sample per frame in a preallocated Float64Array; Bun's own frame parsing before the event is not in it, the wall time per frame is.",
      "",
      table([
        ["Frames/s into the ring, no-op consumer (median)", `${int(r.framesPerSec)}`, NONE, NONE],
        ["  runs", runs(r.runsFramesPerSec), NONE, NONE],
        ["Frames/s with a no-op handler: the receive ceiling (median)", `${int(b.framesPerSec)}`, NONE, NONE],
        ["  runs", runs(b.runsFramesPerSec), NONE, NONE],
        ["Ring path / ceiling", fixed(receive.ringOverBaseline, 2), NONE, NONE],
        ["Main-thread time per frame, ring path: p50 / p90", `${fixed(r.handlerMicros.p50, 2)} / ${fixed(r.handlerMicros.p90, 2)} µs`, NONE, NONE],
        ["Main-thread time per frame, ring path: p99", `${fixed(r.handlerMicros.p99, 2)} µs (runs ${r.handlerMicros.runsP99.join(" / ")})`, `< ${TARGET_HANDLER_P99_MICROS} µs`, verdict(r.handlerMicros.p99 < TARGET_HANDLER_P99_MICROS)],
        ["Main-thread time per frame, ring path: p99.9 / max", `${fixed(r.handlerMicros.p999, 2)} / ${fixed(r.handlerMicros.max, 0)} µs`, NONE, NONE],
        [
          `  first pass over the fresh ring (${int(r.handlerMicrosFirstPass.samplesPerRun)} frames a run): p90 / p99`,
          `${fixed(r.handlerMicrosFirstPass.p90, 2)} / ${fixed(r.handlerMicrosFirstPass.p99, 2)} µs`,
          NONE,
          NONE,
        ],
        [
          `  after the ring wrapped (${int(r.handlerMicrosAfterWrap.samplesPerRun)} frames a run): p90 / p99`,
          `${fixed(r.handlerMicrosAfterWrap.p90, 2)} / ${fixed(r.handlerMicrosAfterWrap.p99, 2)} µs`,
          NONE,
          NONE,
        ],
        ["Same with the no-op handler: p50 / p99 / max", `${fixed(b.handlerMicros.p50, 2)} / ${fixed(b.handlerMicros.p99, 2)} / ${fixed(b.handlerMicros.max, 0)} µs`, NONE, NONE],
        ["Wall time per frame (1 / rate), ring path / no-op", `${fixed(r.wallMicrosPerFrame, 2)} / ${fixed(b.wallMicrosPerFrame, 2)} µs`, NONE, NONE],
        ["Ring high-water mark / frames overflowed / lost", `${int(r.highWaterBytes / 1024)} KiB of ${int(receive.ringBytes / 1024)} KiB / ${int(r.overflowedFrames)} / ${int(r.lostFrames)}`, NONE, NONE],
      ]),
      "",
      "p50/p90/p99/p99.9 are medians over the runs; max is the worst single frame of all runs (it includes garbage collection and the " +
        `scheduler: ${machine.nproc} CPUs hold the test server, the main thread and the consumer Worker).`,
      "",
    );
  }

  // ring vs postMessage
  out.push(header(get("ring"), "2. Ring vs plain postMessage"), "");
  if (ring) {
    out.push(
      `\`bench/ring.bench.ts\`: ${ring.frameBytes}-byte text frames pushed with \`tryPushText\` into a ${int(ring.ringBytes / 1024 / 1024)} MiB ring and drained by a Worker that only counts, ` +
        "against the same frames sent with `postMessage` to a Worker that only counts.",
      "",
      table([
        [`Ring, ${ring.frameBytes}-byte records (median)`, `${int(ring.ringRecordsPerSec)} records/s (${int(ring.ringMBPerSec)} MB/s)`, `>= ${int(TARGET_RING_PER_SEC)}/s`, verdict(ring.ringRecordsPerSec >= TARGET_RING_PER_SEC)],
        ["  runs", runs(ring.ringRunsRecordsPerSec), NONE, NONE],
        ["postMessage (median)", `${int(ring.postMessageRecordsPerSec)} records/s`, NONE, NONE],
        ["  runs", runs(ring.postMessageRunsRecordsPerSec), NONE, NONE],
        ["Ring / postMessage", `${fixed(ring.ringOverPostMessage, 2)}x`, NONE, NONE],
        ["tryPushText with a Worker draining: p50 / p99 / max per push", `${ring.pushNsConcurrent.p50} / ${ring.pushNsConcurrent.p99} / ${ring.pushNsConcurrent.max} ns`, NONE, NONE],
        ["tryPushText in one thread: p50 / p99 / max per push", `${ring.pushNsSingleThread.p50} / ${ring.pushNsSingleThread.p99} / ${ring.pushNsSingleThread.max} ns`, NONE, NONE],
      ]),
      "",
    );
  }

  // (b) pipeline
  out.push(header(get("pipeline"), "3. Full pipeline into DynamoDB Local (b)"), "");
  if (pipeline) {
    const j = pipeline.journal;
    const d = pipeline.direct;
    const both = (f: (v: PipelineVariant) => string) => `${f(j)} / ${f(d)}`;
    out.push(
      `The fake exchange process plays ${int(pipeline.events)} events (2 pairs, orders and trades) at max rate to \`dist/obcap --table ... ` +
        `--queue-mb ${pipeline.queueMiB} --progress-s 1 --verbose\` (the larger ring holds the whole burst, so nothing goes through the overflow), as it runs by default ` +
        "(journal in a fresh temporary directory, uploaded from there) and with `--no-journal` (ring -> pipeline Worker, upload stage -> DynamoDB). " +
        (pipeline.journalFixed8
          ? `Both adapt their requests in flight (the default: from ${pipeline.maxInFlight} up to ${pipeline.adaptiveMaxInFlight ?? 64}); the default way also runs pinned with \`--in-flight ${pipeline.maxInFlight}\` ("fixed ${pipeline.maxInFlight}"). ` +
            "The highest and final limits come from the `write concurrency A -> B` lines of `--verbose`. "
          : `Requests in flight: \`--in-flight ${pipeline.maxInFlight}\`. `) +
        "Once a progress line shows every frame received and the rest due before the next line, obcap gets SIGINT: it stops reading, drains the ring and logs its " +
        "summary only after the last acknowledgement. End to end = events / (time from the \"capturing\" log line to the summary line); the progress lines " +
        "come once a second with a count up to 500 ms old, too coarse to time runs of a few seconds. Steady = slope of \"written\" between the progress lines " +
        "strictly inside the run. Raw ceiling = the same events, decoded and encoded beforehand, written by `BatchWriter` alone (batches of 25, " +
        `${pipeline.maxInFlight} in flight) into a fresh table of the same DynamoDB Local, in the same run, alternating with the pipeline runs` +
        (pipeline.rawCeilingItemsPerSec !== undefined
          ? `; for the ${pipeline.targetShareOfCeiling ?? TARGET_SHARE_OF_CEILING} target it is measured once more right before the first and right after the last capture, and the higher of the two is kept. `
          : ". ") +
        "Cells with two values read: default (journal) / --no-journal.",
      "",
      table([
        ["Pipeline, end to end (median): journal / --no-journal", `${both((v) => int(v.endToEndPerSec))} events/s`, NONE, NONE],
        ["  runs, journal (seconds)", `${runs(j.runsEndToEndPerSec)} (${j.runsSeconds.join(" / ")} s)`, NONE, NONE],
        ["  runs, --no-journal (seconds)", `${runs(d.runsEndToEndPerSec)} (${d.runsSeconds.join(" / ")} s)`, NONE, NONE],
        ["Pipeline, steady (median): journal / --no-journal", `${both((v) => int(v.steadyPerSec))} events/s`, NONE, NONE],
        ["Raw BatchWriteItem ceiling, main thread (median)", `${int(pipeline.rawItemsPerSec)} items/s`, NONE, NONE],
        ["  runs", runs(pipeline.rawRunsItemsPerSec), NONE, NONE],
        ["Raw BatchWriteItem ceiling from a Worker (median)", `${int(pipeline.rawInWorkerItemsPerSec)} items/s`, NONE, NONE],
        ["  runs", runs(pipeline.rawInWorkerRunsItemsPerSec), NONE, NONE],
        [
          "Pipeline / raw ceiling, journal",
          `${fixed(pipeline.journalEndToEndOverRaw, 2)} end to end, ${fixed(pipeline.journalSteadyOverRaw, 2)} steady`,
          `>= ${BOTTLENECK_SHARE}`,
          verdict(Math.min(pipeline.journalEndToEndOverRaw, pipeline.journalSteadyOverRaw) >= BOTTLENECK_SHARE),
        ],
        [
          "Pipeline / raw ceiling, --no-journal",
          `${fixed(pipeline.directEndToEndOverRaw, 2)} end to end, ${fixed(pipeline.directSteadyOverRaw, 2)} steady (${fixed(pipeline.directSteadyOverRawInWorker, 2)} of the Worker ceiling)`,
          `>= ${BOTTLENECK_SHARE}`,
          verdict(Math.min(pipeline.directEndToEndOverRaw, pipeline.directSteadyOverRaw) >= BOTTLENECK_SHARE),
        ],
        [
          "Requests in flight during the run (median of progress lines) of the limit in effect",
          both((v) => inFlightOf(v, pipeline)),
          "all slots busy",
          verdict(slotsFull(j, pipeline) && slotsFull(d, pipeline)),
        ],
        ...adaptiveRows(pipeline),
        ["Every frame received within (s of subscribing)", both((v) => fixed(v.receivedAllWithinSeconds, 1)), NONE, NONE],
        ["Ring high-water mark (obcap log)", `${both((v) => int(v.ringHighKiB))} KiB of ${int(pipeline.ringKiB)} KiB`, NONE, NONE],
        ["Upload backlog high-water mark (journal, obcap log)", `${fixed(j.uploadBacklogMiB, 1)} MiB`, NONE, NONE],
        ["Frames lost", both((v) => int(v.lostFrames)), "0", verdict(j.lostFrames === 0 && d.lostFrames === 0)],
        [`CPU cores used (of ${pipeline.cpus}), obcap + DynamoDB Local: journal / --no-journal`, both((v) => `${fixed(v.obcapCores, 2)} + ${fixed(v.dynamoDbCores, 2)}`), NONE, NONE],
        ["CPU cores used during raw runs, bench process + DynamoDB Local", `${fixed(pipeline.benchCoresInRaw, 2)} + ${fixed(pipeline.dynamoDbCoresInRaw, 2)}`, NONE, NONE],
      ]),
      "",
      `obcap's own summary of the last run with the journal: \`${j.summary}\`.`,
      "",
      `Reading it: ${pipelineReading(pipeline, machine.nproc)}`,
      "",
    );
  }

  // RSS
  out.push(header(get("rss"), `4. Memory of the compiled binary at ${rss ? int(rss.ratePerSec) : int(TARGET_RSS_RATE)} msgs/s`), "");
  if (rss) {
    out.push(
      `\`dist/obcap\` with its defaults (8 MiB ring, 16 MiB overflow, journal in a fresh temporary directory) captures a steady ${int(rss.ratePerSec)} frames/s (fake exchange \`--rate ${rss.ratePerSec} --loop\`, 2 pairs) ` +
        `for ${rss.durationSeconds} s. VmRSS is read from /proc/<pid>/status every ${rss.sampleMs} ms from the "capturing" line on; peak = VmHWM read at the end ` +
        "(before the stop signal); steady = median VmRSS over the last third of the window.",
      "",
    );
    const rows: Row[] = [];
    const modes = [
      ["dynamodb", "journal + upload to DynamoDB Local"],
      ["journal", "journal only (no --table)"],
      ["direct", "--no-journal into DynamoDB Local"],
      ["journalSmallRing", "journal only, --queue-mb 1 (not the default)"],
    ] as const;
    for (const [mode, label] of modes) {
      const m = rss[mode];
      if (!m) continue;
      const sustained = m.writtenPerSec >= 0.95 * rss.ratePerSec && m.queueKiBAtEnd < 1024 && (m.uploadBacklogMiBAtEnd ?? 0) < 1;
      rows.push(
        [`Peak RSS (VmHWM), ${label}`, `${fixed(m.peakMiB, 1)} MiB`, `< ${TARGET_RSS_MIB} MiB`, verdict(m.peakMiB < TARGET_RSS_MIB)],
        [`Steady RSS, ${label}`, `${fixed(m.steadyMiB, 1)} MiB (${fixed(m.firstSampleMiB, 1)} MiB right after subscribing)`, NONE, NONE],
        [`  VmRSS every ${rss.traceEverySeconds} s`, `${m.traceMiB.join(", ")} MiB`, NONE, NONE],
        [`  received / written per s`, `${int(m.receivedPerSec)} / ${int(m.writtenPerSec)}${sustained ? " (sustained)" : " (NOT sustained)"}`, NONE, NONE],
        [
          `  ring at the end (high-water)${m.uploadBacklogMiBAtEnd === undefined ? "" : " / upload backlog at the end"} / lost`,
          `${int(m.queueKiBAtEnd)} KiB (${int(m.ringHighKiB)} KiB)${m.uploadBacklogMiBAtEnd === undefined ? "" : ` / ${fixed(m.uploadBacklogMiBAtEnd, 1)} MiB`} / ${int(m.lost)}`,
          NONE,
          NONE,
        ],
      );
    }
    out.push(table(rows), "");
    const idle = rss.idle;
    if (idle?.endMiB && rss.journal.endMiB && rss.dynamodb.endMiB) {
      const part = (m: RssMode) => m.endMiB!;
      const j = part(rss.journal);
      const d = part(rss.dynamodb);
      const small = rss.journalSmallRing.endMiB;
      out.push(
        "Where it goes (VmRSS at the end of each window, split by the kernel into anonymous pages: JavaScript heaps, malloc, " +
          "buffers, and the ring: a SharedArrayBuffer is private anonymous memory here; file pages: the binary's code as it is touched; shared pages: shmem). " +
          "Each row is the difference between two runs of this one `make bench`:",
        "",
      );
      const breakdown: Row[] = [
        ["The process at rest (1 frame/s, journal only): Bun, the code touched, the main thread and the pipeline Worker", `${fixed(part(idle).rss, 1)} MiB (anon ${fixed(part(idle).anon, 1)}, file ${fixed(part(idle).file, 1)}, shared ${fixed(part(idle).shmem, 1)})`, NONE, NONE],
        ["+ the journal stage at full rate (journal only minus at rest)", `${fixed(j.rss - part(idle).rss, 1)} MiB (anon ${fixed(j.anon - part(idle).anon, 1)}, shared ${fixed(j.shmem - part(idle).shmem, 1)})`, NONE, NONE],
        ...(small ? [["  of which the default ring once touched (journal only minus --queue-mb 1)", `${fixed(j.rss - small.rss, 1)} MiB`, NONE, NONE] as Row] : []),
        ["+ the upload stage: AWS SDK, requests, items (journal + upload minus journal only)", `${fixed(d.rss - j.rss, 1)} MiB (anon ${fixed(d.anon - j.anon, 1)}, file ${fixed(d.file - j.file, 1)})`, NONE, NONE],
      ];
      out.push(table(breakdown), "");
    }
    const d = rss.dynamodb;
    if (d.writtenPerSec < 0.95 * rss.ratePerSec || (d.uploadBacklogMiBAtEnd ?? 0) >= 1) {
      out.push(
        `DynamoDB Local did not sustain ${int(rss.ratePerSec)}/s in this run: ${int(d.writtenPerSec)} items/s were written; the rest waited in the journal ` +
          `(upload backlog ${fixed(d.uploadBacklogMiBAtEnd ?? NaN, 1)} MiB at the end of the window). The RSS figures above are from that run.`,
        "",
      );
    }
    out.push("The target is the issue \"one pipeline\"'s: at most 96 MiB peak with the journal and the upload to DynamoDB Local.", "");
  }

  // size and start-up
  out.push(header(get("startup"), "5. Binary size and time to first subscription"), "");
  if (startup) {
    out.push(
      `\`dist/obcap\` (as \`make build\` makes it) started ${startup.runs} times in journal-only mode (no --table, a fresh journal directory each time) against the fake exchange process (${startup.channels} channels). ` +
        "Measured from the spawn() call to the arrival of the `capturing ... subscribed in N ms` log line: process start, pair list over REST, journal opened and the pipeline Worker " +
        "ready, WebSocket open, every subscription acknowledged. N is the in-process part, from the start of the capture.",
      "",
      table([
        ["Binary size", `${fixed(startup.binaryMiB, 1)} MiB (${int(startup.binaryBytes)} bytes)`, NONE, NONE],
        ["Spawn to all subscriptions acknowledged: median / min / max", `${startup.spawnToSubscribedMs.median} / ${startup.spawnToSubscribedMs.min} / ${startup.spawnToSubscribedMs.max} ms`, NONE, NONE],
        ["  runs", `${startup.spawnToSubscribedMs.all.join(" / ")} ms`, NONE, NONE],
        ["In-process figure of the log line: median / min", `${startup.inProcessSubscribedMs.median} / ${startup.inProcessSubscribedMs.min} ms`, NONE, NONE],
        ["SIGINT to exit (nothing to drain): median / max", `${startup.sigintToExitMs.median} / ${startup.sigintToExitMs.max} ms`, NONE, NONE],
      ]),
      "",
    );
  }

  // decode
  out.push(header(get("decode"), "6. Writer CPU work per frame (decode, item encoding)"), "");
  if (decode) {
    const rows: Row[] = [];
    for (const [key, label] of [["fastPath", "fast path (16-digit ids)"], ["exactPath", "exact path (ids above 2^53, exponent numbers)"]] as const) {
      const d = decode[key];
      rows.push([
        `${label}, ${int(d.frames)} frames of ~${d.meanFrameBytes} B: decode / decode + encodeItem / decodeItem`,
        `${int(d.decodePerSec)} / ${int(d.decodeEncodeItemPerSec)} / ${int(d.decodeItemPerSec)} per s`,
        NONE,
        NONE,
      ]);
    }
    out.push("`bench/decode.bench.ts`, one thread, median of 5 runs.", "", table(rows), "");
  }

  // Other benchmarks (bun bench/run.ts --all): their own words and figures.
  let section = 7;
  for (const o of outcomes.filter((x) => !KNOWN_BENCHES.has(x.name))) {
    out.push(header(o, `${section++}. ${o.name}`), "");
    if (o.ok) out.push("Its own output (figures and verdicts as the benchmark prints them):", "", "```", ...(o.humanLines ?? []).slice(-60), "```", "");
    if (o.ok && o.name === "replay" && replayInFlight) out.push(...replayInFlightTable(replayInFlight));
  }
  if (notRun.length) {
    out.push(
      "## Not run by `make bench`",
      "",
      `${notRun.map((f) => `\`${f}\``).join(", ")}: each takes minutes, so they run with \`bun bench/run.ts --all\` (or alone).`,
      "",
    );
  }

  out.push(
    "## How to reproduce",
    "",
    `\`${COMMAND_LINE}\` from the project root (builds dist/obcap, needs java for DynamoDB Local; ${fixed(machine.totalSeconds / 60, 1)} min in this run). ` +
      "Each benchmark also runs alone, e.g. `bun bench/receive.bench.ts`; its last output line is the JSON object this file is made from.",
    "",
    "<details><summary>Raw figures (the JSON line of each benchmark)</summary>",
    "",
    ...outcomes.map((o) => `- ${o.name}: \`${o.ok ? JSON.stringify(o.figures) : "failed"}\``),
    "",
    "</details>",
    "",
  );
  return out.join("\n");
}

const COMMAND_LINE = "make bench";

/** Every request slot busy: the median in flight reached the limit in effect (adaptive), or the pinned number. */
function slotsFull(v: PipelineVariant, p: PipelineFigures): boolean {
  return v.inFlightMedian >= (v.limitMedian ?? p.maxInFlight);
}

/** `in flight X of L` of a variant: the limit in effect (adaptive) or the pinned number. */
function inFlightOf(v: PipelineVariant, p: PipelineFigures): string {
  return `${v.inFlightMedian} of ${v.limitMedian ?? p.maxInFlight}`;
}

/** What the pipeline figures say, sentence by sentence, each chosen by the figures themselves. */
function pipelineReading(p: PipelineFigures, nproc: string): string {
  const says: string[] = [];
  const j = p.journal;
  const d = p.direct;
  const lost = j.lostFrames + d.lostFrames;
  says.push(
    lost === 0 && Math.max(j.ringHighKiB, d.ringHighKiB) < p.ringKiB
      ? `the ring was not the limit: every frame arrived within ${fixed(Math.max(j.receivedAllWithinSeconds, d.receivedAllWithinSeconds), 1)} s and waited in the ring ` +
          `(without the journal, high-water ${int(d.ringHighKiB)} of ${int(p.ringKiB)} KiB) or in the journal (upload backlog up to ${fixed(j.uploadBacklogMiB, 1)} MiB), none lost.`
      : `the ring WAS a limit in these runs: high-water ${int(Math.max(j.ringHighKiB, d.ringHighKiB))} of ${int(p.ringKiB)} KiB, ${int(lost)} frames lost.`,
  );
  says.push(
    slotsFull(j, p) && slotsFull(d, p)
      ? `Both ways kept all their request slots occupied (${inFlightOf(j, p)} / ${inFlightOf(d, p)}): obcap always had requests out to DynamoDB Local (a slot is freed only once its answer has been handled on the pipeline Worker's thread, so this does not rule out a busy thread).`
        : `Request slots busy: ${inFlightOf(j, p)} (journal) and ${inFlightOf(d, p)} (--no-journal): below the limit, obcap itself, not DynamoDB Local, set the pace.`,
  );
  says.push(
    `Writing the same items from a Worker thread instead of the main thread gives ${fixed(p.rawInWorkerOverRaw, 2)} of the main-thread ceiling; without the journal ` +
      `the pipeline's steady rate is ${fixed(p.directSteadyOverRawInWorker, 2)} of that Worker ceiling` +
      (p.directSteadyOverRawInWorker < 0.95
        ? " (the rest is decoding and batching on the writer's thread, between DynamoDB's answers)"
        : " (decoding and batching cost nothing measurable next to DynamoDB Local)") +
      `, and the journal's way runs at ${fixed(j.endToEndPerSec / d.endToEndPerSec, 2)} of the direct one end to end.`,
  );
  says.push(
    `CPU: on this ${nproc}-CPU machine obcap used ${fixed(j.obcapCores, 2)} (journal) / ${fixed(d.obcapCores, 2)} (--no-journal) cores and DynamoDB Local ` +
      `${fixed(j.dynamoDbCores, 2)} / ${fixed(d.dynamoDbCores, 2)} during the pipeline runs, against ${fixed(p.benchCoresInRaw, 2)} and ${fixed(p.dynamoDbCoresInRaw, 2)} ` +
      "during the raw runs; other jobs on the machine take the rest.",
  );
  return says.join(" ");
}

/** Section 3's rows of the adaptive requests in flight against `--in-flight 8` and the ceiling of the 0.95 target (figures since December 2026). */
function adaptiveRows(p: PipelineFigures): Row[] {
  const f8 = p.journalFixed8;
  if (!f8 || p.rawCeilingItemsPerSec === undefined) return [];
  const target = p.targetShareOfCeiling ?? TARGET_SHARE_OF_CEILING;
  const j = p.journal;
  const d = p.direct;
  const concurrency = (v: PipelineVariant) =>
    `highest ${(v.runsConcurrencyHighest ?? []).join(" / ")}, final ${(v.runsConcurrencyFinal ?? []).join(" / ")} (${(v.runsConcurrencyChanges ?? []).join(" / ")} changes)`;
  return [
    [`Pipeline, journal, fixed ${p.maxInFlight} (--in-flight ${p.maxInFlight}): end to end / steady (median)`, `${int(f8.endToEndPerSec)} / ${int(f8.steadyPerSec)} events/s`, NONE, NONE],
    [`  runs, fixed ${p.maxInFlight} (seconds)`, `${runs(f8.runsEndToEndPerSec)} (${f8.runsSeconds.join(" / ")} s)`, NONE, NONE],
    [
      "Raw ceiling right before / right after the captures (the higher is kept)",
      `${int(p.rawCeilingBeforeItemsPerSec ?? NaN)} / ${int(p.rawCeilingAfterItemsPerSec ?? NaN)} items/s: ${int(p.rawCeilingItemsPerSec)}`,
      NONE,
      NONE,
    ],
    [
      "Capture / that ceiling, journal, adaptive (the default)",
      `${fixed(p.journalEndToEndOverCeiling ?? NaN, 2)} end to end, ${fixed(p.journalSteadyOverCeiling ?? NaN, 2)} steady`,
      `>= ${target}`,
      verdict((p.journalEndToEndOverCeiling ?? 0) >= target),
    ],
    [`Capture / that ceiling, journal, fixed ${p.maxInFlight}`, `${fixed(p.journalFixed8EndToEndOverCeiling ?? NaN, 2)} end to end, ${fixed(p.journalFixed8SteadyOverCeiling ?? NaN, 2)} steady`, NONE, NONE],
    ["Capture / that ceiling, --no-journal, adaptive", `${fixed(p.directEndToEndOverCeiling ?? NaN, 2)} end to end, ${fixed(p.directSteadyOverCeiling ?? NaN, 2)} steady`, NONE, NONE],
    [`Adaptive / fixed ${p.maxInFlight}, journal, end to end`, fixed(p.journalAdaptiveOverFixed8EndToEnd ?? NaN, 2), NONE, NONE],
    [`Requests allowed in flight, adaptive (up to ${p.adaptiveMaxInFlight ?? 64}), journal: per run`, concurrency(j), NONE, NONE],
    ["Requests allowed in flight, adaptive, --no-journal: per run", concurrency(d), NONE, NONE],
  ];
}

/** The replay section's table of requests in flight (bench/replay.bench.ts part 5), after its own output. */
function replayInFlightTable(r: ReplayInFlightFigures): string[] {
  const mode = (m: ReplayInFlightMode) => `${int(m.linesPerSec)} lines/s (runs ${runs(m.runsLinesPerSec)})`;
  const limits = (m: ReplayInFlightMode) => `highest ${m.runsConcurrencyHighest.join(" / ")}, final ${m.runsConcurrencyFinal.join(" / ")}`;
  const group = (g: ReplayDirectGroup, where: string): Row[] => [
    [`${where}, adaptive`, mode(g.adaptive), NONE, NONE],
    ["  requests allowed in flight per run", limits(g.adaptive), NONE, NONE],
    [`${where}, fixed ${r.fixedInFlight}`, mode(g.fixed8), NONE, NONE],
    [`${where}: raw ceiling before / after (the higher is kept)`, `${int(g.rawCeilingBeforeItemsPerSec)} / ${int(g.rawCeilingAfterItemsPerSec)} items/s: ${int(g.rawCeilingItemsPerSec)}`, NONE, NONE],
    [`${where}: replay / raw ceiling, adaptive`, fixed(g.adaptiveOverCeiling, 2), `>= ${r.targetShareOfCeiling}`, verdict(g.adaptiveOverCeiling >= r.targetShareOfCeiling)],
    [`${where}: replay / raw ceiling, fixed ${r.fixedInFlight}`, fixed(g.fixed8OverCeiling, 2), NONE, NONE],
    [`${where}: adaptive / fixed ${r.fixedInFlight}`, fixed(g.adaptiveOverFixed8, 2), NONE, NONE],
  ];
  const pinned = pinnedGroup(r);
  return [
    `Requests in flight: \`dist/obcap replay\` of ${int(r.lines)} lines (${int(r.items)} items) into a fresh table each run, adaptive (the default, from ${r.fixedInFlight} up to ${r.adaptiveMaxInFlight}) ` +
      `against \`--in-flight ${r.fixedInFlight}\`, ${r.repeats} runs each, alternating (median). First one raw run warms DynamoDB Local's JIT up (${int(r.warmUpItemsPerSec)} items/s, not a figure). ` +
      "Then three groups: (1) straight into DynamoDB Local with the 2 CPUs shared by everything (DynamoDB Local, obcap, this bench); " +
      "(2) the same with DynamoDB Local's threads pinned to CPU 1 and this bench and the obcap it starts to CPU 0 (`taskset`), as on AWS where DynamoDB does not share obcap's CPU; " +
      `(3) through \`tests/support/fault-proxy.ts\` adding ${r.proxyLatencyMs} ms to every BatchWriteItem (no faults; closer to AWS than DynamoDB Local is). ` +
      `In (1) and (2) the raw ceiling = the same items, mapped as replay maps them, written by \`BatchWriter\` alone (${r.fixedInFlight} in flight) right before the group's first and right after its last replay, under the same CPU placement; the higher is kept. ` +
      "lines/s is the rate of replay's summary line (from start-up to the last acknowledgement); highest and final limits come from its `write concurrency A -> B` lines (`--verbose`).",
    "",
    table([
      ...group(r.direct, "CPUs shared"),
      ...(pinned ? group(pinned, "DynamoDB Local pinned apart") : [<Row>["DynamoDB Local pinned apart", `skipped: ${(r.directPinned as { skipped?: string } | undefined)?.skipped ?? "not measured"}`, NONE, NONE]]),
      [`Through the proxy (+${r.proxyLatencyMs} ms), adaptive`, mode(r.proxied.adaptive), NONE, NONE],
      ["  requests allowed in flight per run", limits(r.proxied.adaptive), NONE, NONE],
      [`Through the proxy (+${r.proxyLatencyMs} ms), fixed ${r.fixedInFlight}`, mode(r.proxied.fixed8), NONE, NONE],
      [`Through the proxy: adaptive / fixed ${r.fixedInFlight}`, fixed(r.proxiedAdaptiveOverFixed8, 2), NONE, NONE],
    ]),
    "",
  ];
}
