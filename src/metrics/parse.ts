/**
 * Reads the Prometheus text format back (what `obcap status` fetches). Web standards only.
 * Handles what {@link ../metrics/registry.ts} writes and what other exporters commonly write:
 * HELP/TYPE comments, other comments, labels with escapes, optional timestamps, NaN and ±Inf.
 */
import type { Labels, MetricType } from "./registry.ts";

export interface ParsedSample {
  labels: Labels;
  value: number;
}

export interface ParsedFamily {
  type?: MetricType | "untyped" | "histogram" | "summary";
  help?: string;
  samples: ParsedSample[];
}

/** Families by metric name (samples under the name they appear with). Throws on a malformed line. */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const meta = /^#\s*(HELP|TYPE)\s+(\S+)\s?(.*)$/.exec(line);
      if (!meta) return; // an ordinary comment
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === "HELP") family(name).help = unescape(rest, false);
      else family(name).type = rest.trim() as ParsedFamily["type"];
      return;
    }
    const sample = parseSampleLine(line);
    if (!sample) throw new SyntaxError(`line ${index + 1} is not a Prometheus sample: ${line.slice(0, 120)}`);
    family(sample.name).samples.push({ labels: sample.labels, value: sample.value });
  });
  return families;
}

/** Value of `name` with exactly `labels` (or the only/first sample when none given); undefined if absent. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels?: Labels): number | undefined {
  const samples = families.get(name)?.samples ?? [];
  if (!labels) return samples[0]?.value;
  const wanted = Object.entries(labels);
  return samples.find((s) => Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v))?.value;
}

function parseSampleLine(line: string): { name: string; labels: Labels; value: number } | undefined {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return undefined;
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === "{") {
    at++;
    for (;;) {
      while (line[at] === " " || line[at] === ",") at++;
      if (line[at] === "}") {
        at++;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(at));
      if (!labelMatch) return undefined;
      at += labelMatch[0].length;
      let value = "";
      for (;;) {
        const c = line[at++];
        if (c === undefined) return undefined;
        if (c === '"') break;
        if (c === "\\") {
          const next = line[at++];
          value += next === "n" ? "\n" : next === undefined ? "" : next;
          continue;
        }
        value += c;
      }
      labels[labelMatch[1]!] = value;
    }
  }
  const [valueText] = line.slice(at).trim().split(/\s+/);
  if (valueText === undefined || valueText === "") return undefined;
  const value = parseValue(valueText);
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

function unescape(text: string, quotes: boolean): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "\\" ? "\\" : quotes && c === '"' ? '"' : `\\${c}`));
}
