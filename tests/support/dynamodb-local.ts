/**
 * Starts Amazon's DynamoDB Local (the jar shipped in the npm package `amplify-dynamodb-simulator`) on a
 * free loopback port. Used by `run-with-services.ts` (one instance per `make test`), by the demo and the
 * benchmarks. `-sharedDb` because DynamoDB Local otherwise keeps one database per access key and region.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

const JAR_DIR = resolve(import.meta.dir, "../../node_modules/amplify-dynamodb-simulator/emulator");

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Starts DynamoDB Local and resolves once it answers HTTP. `dbPath` persists to disk instead of memory. */
export async function startDynamoDbLocal(options: { port?: number; dbPath?: string } = {}): Promise<DynamoDbLocal> {
  const jar = join(JAR_DIR, "DynamoDBLocal.jar");
  if (!existsSync(jar)) {
    throw new Error(`DynamoDB Local jar not found at ${jar}: run 'npm ci' (it ships in amplify-dynamodb-simulator)`);
  }
  const port = options.port ?? (await freePort());
  const storage = options.dbPath ? ["-dbPath", options.dbPath] : ["-inMemory"];
  const child = spawn(
    "java",
    [`-Djava.library.path=${join(JAR_DIR, "DynamoDBLocal_lib")}`, "-jar", jar, ...storage, "-sharedDb", "-port", String(port)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output}`);
    try {
      const res = await fetch(endpoint, { method: "GET" });
      await res.arrayBuffer();
      break; // any HTTP answer means it is up
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    port,
    process: child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}
