/**
 * `obcap status`: reads a running capture's metrics endpoint (`--metrics-port` of the capture) and
 * prints a short summary for a human. Exit 0 when it could read them; E_METRICS_UNREACHABLE (exit 4)
 * when nothing answers or the answer is not obcap's metrics.
 */
import { defineCommand } from "citty";
import { describeError, obcapError } from "../base/errors.ts";
import { parsePrometheusText } from "../metrics/parse.ts";
import { summarizeCaptureMetrics } from "../metrics/status-summary.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";

export const DEFAULT_METRICS_PORT = 9464;
/** A scrape on loopback answers in milliseconds; this bound only catches a hung process. */
const FETCH_TIMEOUT_MS = 5_000;

const args = {
  "metrics-url": { type: "string", description: `Metrics URL of the capture (default http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics)`, valueHint: "URL" },
  "metrics-port": { type: "string", description: "Port the capture serves metrics on (its --metrics-port), on 127.0.0.1", valueHint: "N" },
} as const;

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Summarize a running capture's metrics (start the capture with --metrics-port N)" },
  args,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("status", rawArgs, args);
    if (a["metrics-url"] && a["metrics-port"]) throw obcapError("E_USAGE", "give --metrics-url or --metrics-port, not both");
    const port = intOption("metrics-port", a["metrics-port"], DEFAULT_METRICS_PORT, 1, 65_535);
    const url = a["metrics-url"] ? httpUrlOption("metrics-url", a["metrics-url"]) : `http://127.0.0.1:${port}/metrics`;
    const text = await fetchMetrics(url, a["metrics-url"] ? "--metrics-url" : `--metrics-port ${port}`);
    let families;
    try {
      families = parsePrometheusText(text);
    } catch (err) {
      throw obcapError("E_METRICS_UNREACHABLE", `${url} does not serve Prometheus text (${describeError(err)}); is it obcap's metrics endpoint?`);
    }
    if (!families.has("obcap_up")) throw obcapError("E_METRICS_UNREACHABLE", `${url} serves metrics, but not obcap's (no obcap_up); check the port`);
    const { lines, warnings } = summarizeCaptureMetrics(families, Date.now());
    process.stdout.write(`${[...lines, ...warnings].join("\n")}\n`);
  },
});

async function fetchMetrics(url: string, given: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    throw obcapError(
      "E_METRICS_UNREACHABLE",
      `nothing answers at ${url} (${errorCodeOf(err) ?? describeError(err)}); is obcap running with ${given.replace("--metrics-url", "its --metrics-port")}?`,
      err,
    );
  }
  if (!response.ok) {
    throw obcapError("E_METRICS_UNREACHABLE", `${url} answered HTTP ${response.status}; is it obcap's metrics endpoint (path /metrics)?`);
  }
  return response.text();
}

/** `ECONNREFUSED`, `TimeoutError`...: the short reason, when the error carries one. */
function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") return code;
  return err instanceof Error && err.name === "TimeoutError" ? `no answer within ${FETCH_TIMEOUT_MS} ms` : undefined;
}
