/**
 * Loggers. Everything goes to stderr: stdout is reserved for data (`--out -` journal lines, `table`
 * results), so a pipe never mixes logs into the data. On a terminal consola's fancy output; elsewhere
 * (cron, systemd, files) one line per record with an ISO timestamp, so logs can be correlated.
 */
import { createConsola, type ConsolaInstance, type LogObject } from "consola";

const tty = process.stderr.isTTY === true;

const lineReporter = {
  log(record: LogObject) {
    const text = record.args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(" ");
    process.stderr.write(`${record.date.toISOString()} [${record.type}] ${text}\n`);
  },
};

export const log: ConsolaInstance = createConsola({
  level: process.env.OBCAP_LOG_LEVEL ? Number(process.env.OBCAP_LOG_LEVEL) : 3,
  stdout: process.stderr,
  stderr: process.stderr,
  ...(tty ? { fancy: true } : { reporters: [lineReporter] }),
  formatOptions: { colors: tty, compact: true },
} as Parameters<typeof createConsola>[0]);

/** Makes every logger more (verbose) or less (quiet) talkative. */
export function setLogLevel(level: "quiet" | "normal" | "verbose"): void {
  log.level = level === "quiet" ? 1 : level === "verbose" ? 4 : 3;
}
