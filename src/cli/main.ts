/**
 * obcap's entry: wires the citty commands, and is the only place that exits the process, mapping
 * error kinds to the exit codes documented in README.md (src/base/errors.ts `EXIT`).
 */
import { defineCommand, runCommand, showUsage, type CommandDef } from "citty";
import { EXIT, describeError, isObcapError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { captureCommand } from "./capture.ts";
import { exportCommand } from "./export.ts";
import { replayCommand } from "./replay.ts";
import { tableCommand } from "./table.ts";
import { statusCommand } from "./status.ts";
import { VERSION } from "../base/version.ts";


const subCommands = {
  capture: captureCommand,
  table: tableCommand,
  status: statusCommand,
  replay: replayCommand,
  export: exportCommand,
} as const;

const mainCommand = defineCommand({
  meta: {
    name: "obcap",
    version: VERSION,
    description:
      "Capture Bitstamp's order-level (L3) feed into DynamoDB, losing nothing. Without a command, runs 'capture': obcap --pair btcusd --table Orders",
  },
  subCommands,
});

/** Runs the CLI and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args = argv;
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
    process.stdout.write(`obcap ${VERSION}\n`);
    return EXIT.ok;
  }
  // The default command is capture: `obcap --pair btcusd` means `obcap capture --pair btcusd`.
  const first = args[0];
  const isHelp = (a: string) => a === "--help" || a === "-h";
  if (first !== undefined && first.startsWith("-") && !(args.length === 1 && isHelp(first))) args = ["capture", ...args];
  try {
    if (args.length === 0 || args.some(isHelp)) {
      const [command, parent] = resolveCommand(args);
      await showUsage(command, parent);
      return EXIT.ok;
    }
    await runCommand(mainCommand, { rawArgs: args });
    return EXIT.ok;
  } catch (err) {
    if (isObcapError(err)) {
      log.error(`${err.message} [${err.code}]`);
      if (err.cause) log.debug(`cause: ${describeError(err.cause)}`);
      return err.exitCode;
    }
    if (err instanceof Error && err.name === "CLIError") {
      log.error(`${err.message}; see 'obcap --help'`);
      return EXIT.usage;
    }
    log.error(`internal error: ${describeError(err)}`);
    if (err instanceof Error && err.stack) log.debug(err.stack);
    return EXIT.internal;
  }
}

/** The command a `--help` refers to, walking sub-command names. */
function resolveCommand(args: string[]): [CommandDef, CommandDef | undefined] {
  let command: CommandDef = mainCommand as CommandDef;
  let parent: CommandDef | undefined;
  for (const arg of args) {
    if (arg.startsWith("-")) break;
    const subs = command.subCommands as Record<string, CommandDef> | undefined;
    const next = subs?.[arg];
    if (!next) break;
    parent = command;
    command = next;
  }
  return [command, parent];
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Let stderr/stdout drain before exiting (a pipe may be slow).
  process.exitCode = code;
  process.exit(code);
}
