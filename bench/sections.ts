/**
 * Sections of BENCHMARKS.md that can be measured on their own: `bun bench/run.ts --only longrun`
 * (an hour) or `--only release` rewrites just its block between `<!-- bench:NAME -->` markers and
 * leaves the rest of the file as its run measured it; a whole `make bench` keeps the blocks it did not
 * run. Each block says when and under which load it was measured, since that differs from the rest.
 */
import type { Sample } from "./longrun.bench.ts";
import type { BenchOutcome } from "./report.ts";

/** Benchmarks rendered as their own blocks; `longrun` is never part of `--all` (it lasts an hour). */
export const SECTION_BENCHES = ["release", "longrun"] as const;
export const SEPARATE_ONLY = new Set(["longrun"]);

export interface SectionContext {
  date: string;
  command: string;
  nproc: string;
  cpuModel: string;
  ramGiB: number;
}

const begin = (name: string) => `<!-- bench:${name} -->`;
const end = (name: string) => `<!-- /bench:${name} -->`;

/** The marked blocks of a BENCHMARKS.md, by name. */
export function markedBlocks(doc: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const name of SECTION_BENCHES) {
    const from = doc.indexOf(begin(name));
    const to = doc.indexOf(end(name));
    if (from !== -1 && to > from) blocks.set(name, doc.slice(from, to + end(name).length));
  }
  return blocks;
}

/** Replaces each block in place, or puts it before "## How to reproduce" (the end of the file without one). */
export function spliceBlocks(doc: string, blocks: ReadonlyMap<string, string>): string {
  let out = doc;
  for (const name of SECTION_BENCHES) {
    const block = blocks.get(name);
    if (block === undefined) continue;
    const from = out.indexOf(begin(name));
    const to = out.indexOf(end(name));
    if (from !== -1 && to > from) {
      out = out.slice(0, from) + block + out.slice(to + end(name).length);
      continue;
    }
    const at = out.indexOf("## How to reproduce");
    out = at === -1 ? `${out.trimEnd()}\n\n${block}\n` : `${out.slice(0, at)}${block}\n\n${out.slice(at)}`;
  }
  return out;
}

type Row = [string, string, string, string];
const table = (rows: Row[]) => ["| Figure | Value | Target | Verdict |", "|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "n/a");
const fixed = (n: number, digits: number) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const verdict = (ok: boolean) => (ok ? "meets" : "**misses**");
const NONE = "—";

/** One benchmark's block, markers included. */
export function renderSection(outcome: BenchOutcome, ctx: SectionContext): string {
  const title = outcome.name === "longrun" ? "Long run: an hour of capture with journal, upload and metrics" : "Release builds: size and start-up by build flag";
  const meta =
    `\`${outcome.file}\`, measured ${ctx.date} with \`${ctx.command}\` on the machine above (${ctx.nproc} CPUs, ${ctx.cpuModel}, ${ctx.ramGiB} GiB), ` +
    `${outcome.seconds} s, load average before: ${outcome.loadBefore.join(" ")}`;
  const lines = [begin(outcome.name), `## ${title}`, "", meta, ""];
  if (!outcome.ok) lines.push("**FAILED**:", "", "```", (outcome.error ?? "").trim(), "```", "");
  else if (outcome.name === "longrun") lines.push(...longrunBody(outcome.figures as unknown as LongrunFigures));
  else if (outcome.name === "release") lines.push(...releaseBody(outcome.figures as unknown as ReleaseFigures));
  if (outcome.ok) lines.push(`Raw figures: \`${JSON.stringify(outcome.figures)}\``, "");
  lines.push(end(outcome.name));
  return lines.join("\n");
}

interface LongrunFigures {
  version: string;
  durationS: number;
  ratePerSec: number;
  pairs: string[];
  keepMin: number;
  segmentAgeMin: number;
  sampleEveryS: number;
  peakRssMiB: number;
  finalRssMiB: number;
  rssMaxFirstHalfMiB: number;
  rssMaxSecondHalfMiB: number;
  fdsMin: number;
  fdsMax: number;
  fdsFinal: number;
  fdKindsAtEnd: Record<string, number>;
  journalMaxMiB: number;
  journalMaxSettledMiB: number;
  journalFinalMiB: number;
  oldestSegmentMaxAgeMin: number;
  retentionBoundMin: number;
  series: Sample[];
  metrics: { atS: number; received: number; written: number; lost: number }[];
  summary: string;
}

function longrunBody(f: LongrunFigures): string[] {
  const minutes = f.durationS / 60;
  const rows: Row[] = [
    ["Peak RSS (VmHWM at the end, before the stop signal)", `${fixed(f.peakRssMiB, 1)} MiB`, NONE, NONE],
    ["Final RSS (VmRSS at the end)", `${fixed(f.finalRssMiB, 1)} MiB`, NONE, NONE],
    [
      "Highest VmRSS sample, first half / second half of the run",
      `${fixed(f.rssMaxFirstHalfMiB, 1)} / ${fixed(f.rssMaxSecondHalfMiB, 1)} MiB`,
      "second half <= 1.1 x first (no growth)",
      verdict(f.rssMaxSecondHalfMiB <= 1.1 * f.rssMaxFirstHalfMiB),
    ],
    [
      "Open file descriptors: lowest / highest / at the end",
      `${f.fdsMin} / ${f.fdsMax} / ${f.fdsFinal} (at the end: ${Object.entries(f.fdKindsAtEnd).map(([k, n]) => `${n} ${k}`).join(", ")})`,
      "no growth",
      verdict(f.fdsMax - f.fdsMin <= 8),
    ],
    [
      `Journal on disk: largest / largest after ${f.retentionBoundMin} min / at the end`,
      `${fixed(f.journalMaxMiB, 1)} / ${fixed(f.journalMaxSettledMiB, 1)} / ${fixed(f.journalFinalMiB, 1)} MiB`,
      NONE,
      NONE,
    ],
    [
      `Oldest journal data kept (age of the oldest segment's start), highest over the run`,
      `${fixed(f.oldestSegmentMaxAgeMin, 1)} min`,
      `<= ${f.retentionBoundMin} min (keep ${f.keepMin} + segment age ${f.segmentAgeMin} + 1 sweep)`,
      verdict(f.oldestSegmentMaxAgeMin <= f.retentionBoundMin),
    ],
    ["obcap's summary at the stop", f.summary, "0 lost", verdict(/lost 0;/.test(f.summary))],
  ];
  const series = [
    "| Minute | VmRSS MiB | VmHWM MiB | fds | journal MiB (files) | oldest segment, min |",
    "|---|---|---|---|---|---|",
    ...f.series.map((s) => `| ${fixed(s.atS / 60, 1)} | ${fixed(s.rssMiB, 1)} | ${fixed(s.hwmMiB, 1)} | ${s.fds} | ${fixed(s.journalMiB, 1)} (${s.journalFiles}) | ${fixed(s.oldestSegmentAgeMin, 1)} |`),
  ];
  const metrics = [
    "| Minute | frames received | events written | frames lost |",
    "|---|---|---|---|",
    ...f.metrics.map((m) => `| ${fixed(m.atS / 60, 1)} | ${int(m.received)} | ${int(m.written)} | ${int(m.lost)} |`),
  ];
  return [
    `\`${f.version}\` captured ${f.pairs.join(" and ")} (orders and trades) from the fake exchange process at ${int(f.ratePerSec)} frames/s in all (\`--rate ${f.ratePerSec} --loop\`) for ${fixed(minutes, 0)} min, ` +
      "as a server runs it: journal on, upload into a table made by `obcap table create` (the default, packed layout) in DynamoDB Local, `--metrics-port` on and scraped every minute, " +
      `a snapshot every 15 min (the default). Retention set short so that it must act within the hour: \`--journal-keep ${f.keepMin}m --segment-age ${f.segmentAgeMin}m\`. ` +
      `VmRSS, VmHWM, /proc/<pid>/fd and the journal directory are sampled every ${f.sampleEveryS} s (rows below: every 5 min).`,
    "",
    table(rows),
    "",
    ...series,
    "",
    "From `/metrics`:",
    "",
    ...metrics,
    "",
  ];
}

interface ReleaseVariant {
  name: string;
  flags: string;
  bytes: number;
  sideBytes: number;
  buildSeconds: number;
  versionMs: number;
  subscribedMs: number;
  hwmMiB: number;
}

interface ReleaseFigures {
  bun: string;
  variants: ReleaseVariant[];
  chosen: string;
  runs: number;
}

function releaseBody(f: ReleaseFigures): string[] {
  const base = f.variants[0] as ReleaseVariant;
  const ratio = (a: number, b: number) => fixed(a / b, 2);
  return [
    `Each variant is built for linux-x64 with \`scripts/build-binary.ts\` (Bun ${f.bun}) and started ${f.runs} times, the variants alternating; medians. ` +
      "`--version` = spawn to exit. Subscribed = spawn to the `capturing ... subscribed` line against the fake exchange (journal only, 2 pairs, 4 channels: " +
      "the pipeline Worker's start included); VmHWM read at that line. Ratios against the first row, same run.",
    "",
    "| Build flags | Binary | x | .map files beside it | `--version` | x | spawn to subscribed | x | VmHWM at subscribed |",
    "|---|---|---|---|---|---|---|---|---|",
    ...f.variants.map(
      (v) =>
        `| ${v.flags}${v.name === f.chosen ? " **(make release)**" : ""} | ${fixed(v.bytes / 1048576, 1)} MiB | ${ratio(v.bytes, base.bytes)} | ${fixed(v.sideBytes / 1024, 0)} KiB | ` +
        `${fixed(v.versionMs, 1)} ms | ${ratio(v.versionMs, base.versionMs)} | ${fixed(v.subscribedMs, 1)} ms | ${ratio(v.subscribedMs, base.subscribedMs)} | ${fixed(v.hwmMiB, 1)} MiB |`,
    ),
    "",
    ...releaseChoice(f),
  ];
}

/** Why `make release` builds what it builds, in this run's figures. */
function releaseChoice(f: ReleaseFigures): string[] {
  const by = (name: string) => f.variants.find((v) => v.name === name);
  const minify = by("minify");
  const bytecode = by("minify-bytecode");
  const chosen = by(f.chosen);
  if (!minify || !bytecode || !chosen) return [];
  const mib = (bytes: number) => fixed(bytes / 1048576, 1);
  return [
    `The choice: \`--minify\` takes ${mib(by("plain")!.bytes - minify.bytes)} MiB off; \`--bytecode\` adds ${mib(bytecode.bytes - minify.bytes)} MiB and makes ` +
      `\`--version\` ${fixed(bytecode.versionMs / minify.versionMs, 2)}x and the start to subscribed ${fixed(bytecode.subscribedMs / minify.subscribedMs, 2)}x as long (the runtime skips parsing); ` +
      `\`--sourcemap\` adds ${mib(chosen.bytes - bytecode.bytes)} MiB inside the binary (the .map files beside it are not needed at run time), and an error's stack ` +
      "then names the source file and line instead of a position in minified code (checked by hand on a compiled test file: `at t.ts:5:17` with the source line, " +
      "against `at /$bunfs/root/without:2:73` without). A cron-started capture and every `obcap status` start often, and a stack a user can read is worth 2% of the size: " +
      "`make release` uses all three.",
    "",
  ];
}
