/**
 * Journal compression: `bun bench/journal-compress.bench.ts`. What a closed segment costs on disk at
 * each gzip level (and zstd and brotli from the runtime, for comparison), the CPU it takes at 5,000
 * msgs/s, and how many hours of journal a 2 GB budget holds at 200 and 1,000 msgs/s.
 *
 * Load: 200,000 journal lines of generated 2026 frames (btcusd + ethusd, bursts, receive times 200 µs
 * apart), compressed the way the journal stage does it (segment-compressor.ts: members of ~1 MiB of
 * whole lines), median of 3 runs per codec. Also the real SegmentCompressor end to end on a 64 MiB
 * segment file at the default level. Prints one JSON object of figures on the last line.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import * as zlib from "node:zlib";
import { gzipMember } from "../src/journal/gzip-members.ts";
import { BLOCK_BYTES, SegmentCompressor } from "../src/journal/segment-compressor.ts";
import { SEGMENTS_DIR, segmentPath } from "../src/journal/segments.ts";
import { generateFramesIter } from "../tests/support/frame-generator.ts";
import { BENCH_PAIRS, median, printResult, round } from "./harness.ts";

const FRAMES = 200_000;
const RUNS = 3;
const RATE_FOR_CPU = 5_000;
const BUDGET_BYTES = 2e9;

const lines: string[] = [];
let rx = 1_796_420_000_000_000;
for (const frame of generateFramesIter({ pairs: [...BENCH_PAIRS], countPerPair: FRAMES / BENCH_PAIRS.length, seed: 9 })) {
  rx += 200;
  lines.push(`{"rx":${rx},"m":${frame}}\n`);
}
const data = new TextEncoder().encode(lines.join(""));
const plainPerFrame = data.length / lines.length;
console.log(`journal compression bench: ${lines.length} lines, ${round(plainPerFrame, 1)} bytes per frame plain (${round(data.length / 1048576, 1)} MiB)`);

/** Members of whole lines, as segment-compressor.ts cuts them. */
function blocks(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; ) {
    let end = Math.min(data.length, at + BLOCK_BYTES);
    if (end < data.length) end = data.lastIndexOf(10, end - 1) + 1;
    out.push(data.subarray(at, end));
    at = end;
  }
  return out;
}

interface CodecFigures {
  codec: string;
  bytesPerFrame: number;
  ratio: number;
  msPerMB: number;
  /** Share of one core to compress a feed of RATE_FOR_CPU msgs/s as it arrives. */
  coreShareAt5k: number;
}

function measure(codec: string, compress: () => number): CodecFigures {
  const times: number[] = [];
  let size = 0;
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    size = compress();
    times.push(performance.now() - start);
  }
  const ms = median(times);
  const msPerMB = ms / (data.length / 1e6);
  const mbPerSecondAtRate = (plainPerFrame * RATE_FOR_CPU) / 1e6;
  const figures = {
    codec,
    bytesPerFrame: round(size / lines.length, 1),
    ratio: round(data.length / size, 1),
    msPerMB: round(msPerMB, 2),
    coreShareAt5k: round((msPerMB * mbPerSecondAtRate) / 1000, 4),
  };
  console.log(`${codec}: ${figures.bytesPerFrame} bytes/frame, ${figures.ratio}:1, ${figures.msPerMB} ms per MB, ${round(figures.coreShareAt5k * 100, 2)}% of a core at ${RATE_FOR_CPU} msgs/s`);
  return figures;
}

const members = blocks();
const codecs: CodecFigures[] = [];
for (const level of [1, 3, 6, 9]) codecs.push(measure(`gzip -${level} (members of 1 MiB)`, () => members.reduce((n, b) => n + gzipMember(b, level).length, 0)));
codecs.push(measure("gzip -6 (one stream)", () => zlib.gzipSync(data, { level: 6 }).length));
const z = zlib as unknown as { zstdCompressSync?: (d: Uint8Array, o: object) => Uint8Array; constants: Record<string, number> };
if (z.zstdCompressSync) codecs.push(measure("zstd 3 (runtime, for comparison)", () => z.zstdCompressSync!(data, { params: { [z.constants.ZSTD_c_compressionLevel!]: 3 } }).length));
codecs.push(measure("brotli 5 (runtime, for comparison)", () => zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }).length));

// The real compressor on a 64 MiB segment at the default level, blocks as the journal stage does them.
const dir = join(tmpdir(), `obcap-bench-compress-${process.pid}`);
mkdirSync(join(dir, SEGMENTS_DIR), { recursive: true });
const name = "1796420000000000-1.ndjson";
const segment = new Uint8Array(64 * 1024 * 1024);
for (let at = 0; at < segment.length; at += data.length) segment.set(data.subarray(0, Math.min(data.length, segment.length - at)), at);
writeFileSync(segmentPath(dir, name), segment);
const started = performance.now();
const compressor = new SegmentCompressor(dir, name, 6);
let result;
let steps = 0;
let longestStepMs = 0;
for (;;) {
  const stepStart = performance.now();
  result = compressor.step();
  longestStepMs = Math.max(longestStepMs, performance.now() - stepStart);
  steps++;
  if (result) break;
}
const segmentSeconds = (performance.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });
console.log(`SegmentCompressor, 64 MiB segment, gzip -6: ${round(segmentSeconds, 2)} s in ${steps} steps (longest ${round(longestStepMs, 1)} ms), ${round(result.plainBytes / result.compressedBytes, 1)}:1`);

const chosen = codecs.find((c) => c.codec.startsWith("gzip -6 (members"))!;
/** Hours a budget holds: closed segments compressed, plus one 64 MiB segment being written, plain. */
const hours = (rate: number) => round((BUDGET_BYTES - 64 * 1024 * 1024) / (chosen.bytesPerFrame * rate) / 3600, 1);
const hoursPlain = (rate: number) => round(BUDGET_BYTES / (plainPerFrame * rate) / 3600, 1);
console.log(`2 GB budget at gzip -6: ${hours(200)} h at 200 msgs/s, ${hours(1000)} h at 1,000 msgs/s (plain: ${hoursPlain(200)} h and ${hoursPlain(1000)} h)`);

printResult({
  frames: lines.length,
  plainBytesPerFrame: round(plainPerFrame, 1),
  codecs,
  segment: { megabytes: 64, seconds: round(segmentSeconds, 2), steps, longestStepMs: round(longestStepMs, 1), ratio: round(result.plainBytes / result.compressedBytes, 1) },
  budgetHours: { at200: hours(200), at1000: hours(1000), plainAt200: hoursPlain(200), plainAt1000: hoursPlain(1000) },
});
