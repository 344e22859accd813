/**
 * obcap's entry: wires the citty commands, and is the only place that exits the process, mapping
 * error kinds to the exit codes documented in README.md (src/base/errors.ts `EXIT`).
 */
import { defineCommand, runCommand, showUsage, type CommandDef } from "citty";
import { EXIT, describeError, isObcapError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { VERSION, versionLine } from "../base/version.ts";


/**
 * Each command's modules load only when it runs: `table`, `replay` and `export` bring the AWS SDK
 * (about 20 MiB of memory), which a capture keeps out of its main thread (the upload runs in the
 * pipeline Worker).
 */
const subCommands = {
  capture: () => import("./capture.ts").then((m) => m.captureCommand),
  table: () => import("./table.ts").then((m) => m.tableCommand),
  status: () => import("./status.ts").then((m) => m.statusCommand),
  replay: () => import("./replay.ts").then((m) => m.replayCommand),
  export: () => import("./export.ts").then((m) => m.exportCommand),
  book: () => import("./book.ts").then((m) => m.bookCommand),
  serve: () => import("./serve.ts").then((m) => m.serveCommand),
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
    process.stdout.write(`${versionLine()}\n`);
    return EXIT.ok;
  }
  // The default command is capture: `obcap --pair btcusd` means `obcap capture --pair btcusd`.
  const first = args[0];
  const isHelp = (a: string) => a === "--help" || a === "-h";
  if (first !== undefined && first.startsWith("-") && !(args.length === 1 && isHelp(first))) args = ["capture", ...args];
  try {
    if (args.length === 0 || args.some(isHelp)) {
      const [command, parent] = await resolveCommand(args);
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
async function resolveCommand(args: string[]): Promise<[CommandDef, CommandDef | undefined]> {
  let command: CommandDef = mainCommand as CommandDef;
  let parent: CommandDef | undefined;
  for (const arg of args) {
    if (arg.startsWith("-")) break;
    const subs = (typeof command.subCommands === "function" ? await command.subCommands() : await command.subCommands) as
      | Record<string, CommandDef | (() => Promise<CommandDef>)>
      | undefined;
    const entry = subs?.[arg];
    const next = typeof entry === "function" ? await entry() : entry;
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
