/** `obcap table create|describe`: the DynamoDB table obcap writes to (key scheme in docs/data-model.md). */
import { defineCommand } from "citty";
import { obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { DEFAULT_SHARDS } from "../store/dynamodb/keys.ts";
import { createTable, openCaptureTable } from "../store/dynamodb/table.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";
import { VERSION } from "../base/version.ts";

const tableArgs = {
  table: { type: "string", description: "Table name", valueHint: "Orders" },
  ...awsArgs,
  ...verbosityArgs,
} as const;

const createArgs = {
  ...tableArgs,
  shards: {
    type: "string",
    description: `Partitions per pair, stream and hour (each takes up to 1,000 writes/s)`,
    default: String(DEFAULT_SHARDS),
  },
} as const;

function clientFor(a: { endpoint?: string; region?: string }) {
  return createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region });
}

function requireTable(name: string | undefined, command: string): string {
  if (!name) throw obcapError("E_USAGE", `--table is required: e.g. 'obcap table ${command} --table Orders'`);
  return name;
}

const create = defineCommand({
  meta: { name: "create", description: "Create the table (on-demand billing, pk/sk keys) and its metadata item; exits 0 if a compatible one exists" },
  args: createArgs,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("table create", rawArgs, createArgs);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    const table = requireTable(a.table, "create");
    const shards = intOption("shards", a.shards, DEFAULT_SHARDS, 1, 100);
    const client = clientFor(a);
    try {
      const result = await createTable({ client, table, shards, createdBy: `obcap ${VERSION}` });
      if (result.status === "created") log.success(`created table ${table} (on-demand, ${result.shards} shards)`);
      else if (result.note) log.info(`table ${table} already exists and is compatible; ${result.note}`);
      else log.info(`table ${table} already exists and is compatible (${result.shards} shards); nothing to do`);
    } finally {
      client.destroy();
    }
  },
});

const describe = defineCommand({
  meta: { name: "describe", description: "Check the table is usable by capture and print its settings as JSON" },
  args: tableArgs,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("table describe", rawArgs, tableArgs);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    const table = requireTable(a.table, "describe");
    const client = clientFor(a);
    try {
      const info = await openCaptureTable({ client, table });
      process.stdout.write(`${JSON.stringify({ table, ...info })}\n`);
    } finally {
      client.destroy();
    }
  },
});

export const tableCommand = defineCommand({
  meta: { name: "table", description: "Create or check the DynamoDB table" },
  subCommands: { create, describe },
});
