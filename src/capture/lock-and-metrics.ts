/**
 * What runs around a capture session for operators: the journal directory lock (one capture per
 * directory, so cron can start a copy every minute) and the metrics endpoint. Web standards plus
 * node:fs (the lock file); the kernel lock (`src/runtime/bun/file-lock.ts`) and the HTTP listener
 * (`src/runtime/bun/http.ts`) are passed in.
 *
 * Order matters: the lock comes first, before anything touches the directory or binds the port, so
 * a second copy started by cron leaves at once (exit 0) without side effects.
 */
import { log } from "../base/log.ts";
import type { MicrosClock } from "../base/clock.ts";
import { describeError, obcapError } from "../base/errors.ts";
import { acquireJournalLock, describeHolder, type LockHolder } from "../journal/lock.ts";
import type { FileLock } from "../runtime/ports.ts";
import { renderCaptureMetrics, type CaptureSnapshot } from "../metrics/capture-metrics.ts";
import { createMetricsHandler } from "../metrics/http-handler.ts";
import { BUILD_COMMIT, VERSION } from "../base/version.ts";
import type { HttpListener, ListenHttp } from "../runtime/ports.ts";


/** Where `--metrics-port`/`--metrics-host` put the endpoint. */
export interface MetricsOptions {
  host: string;
  /** 1-65535; the CLI leaves `metrics` undefined for port 0 (off). */
  port: number;
}

export interface LockAndMetricsOptions {
  /** The journal directory: locked for the whole capture. Undefined = no directory, no lock. */
  journalDir?: string;
  metrics?: MetricsOptions;
}

export interface LockAndMetricsRuntime {
  clock: MicrosClock;
  /** The kernel's file lock (flock); needed when `journalDir` is set. */
  fileLock?: FileLock;
  /** Needed when `metrics` is set. */
  listenHttp?: ListenHttp;
}

/** The session hands its live figures to the metrics through this. */
export interface CaptureProbe {
  readonly startMicros: number;
  /** Called once the session's parts exist; until then only up/version/start are served. */
  attach(snapshot: () => Omit<CaptureSnapshot, "version" | "startMicros" | "nowMicros">): void;
  /** The current snapshot. */
  snapshot(): CaptureSnapshot;
}

export type LockAndMetrics =
  | { kind: "running"; probe: CaptureProbe; metricsUrl?: string; stop(): Promise<void> }
  /** Another live capture holds the journal directory: nothing was started or written. */
  | { kind: "lock-held"; dir: string; heldBy: LockHolder };

/**
 * Takes the lock, then starts the metrics endpoint. Throws E_LOCK_FAILED / E_METRICS_LISTEN (after
 * releasing what it took). `stop()` closes the endpoint and releases the lock.
 */
export function startLockAndMetrics(options: LockAndMetricsOptions, runtime: LockAndMetricsRuntime): LockAndMetrics {
  const startMicros = runtime.clock();
  let lockRelease = (): void => {};
  if (options.journalDir !== undefined) {
    if (!runtime.fileLock) throw obcapError("E_LOCK_FAILED", `cannot lock the journal directory ${options.journalDir}: this runtime has no file lock (flock); use --no-journal`);
    const lock = acquireJournalLock(options.journalDir, runtime.fileLock);
    if (lock.kind === "held") return { kind: "lock-held", dir: options.journalDir, heldBy: lock.heldBy };
    if (lock.tookOver) {
      // The kernel lock was free, so its holder is gone (or on a machine that does not share this filesystem's locks).
      const previous = lock.tookOver.holder ? describeHolder(lock.tookOver.holder) : "unknown holder";
      log.warn(`took over the stale lock ${lock.path} (${previous}: ${lock.tookOver.reason})`);
    }
    lockRelease = lock.release;
  }

  let source: (() => Omit<CaptureSnapshot, "version" | "startMicros" | "nowMicros">) | undefined;
  const probe: CaptureProbe = {
    startMicros,
    attach(snapshot) {
      source = snapshot;
    },
    snapshot: () => ({ version: VERSION, commit: BUILD_COMMIT, startMicros, nowMicros: runtime.clock(), ...source?.() }),
  };

  let listener: ReturnType<ListenHttp> | undefined;
  if (options.metrics) {
    const { host, port } = options.metrics;
    try {
      if (!runtime.listenHttp) throw new Error("this runtime cannot serve HTTP");
      listener = runtime.listenHttp({ hostname: host, port, fetch: createMetricsHandler({ render: () => renderCaptureMetrics(probe.snapshot()) }) });
    } catch (err) {
      lockRelease();
      throw obcapError("E_METRICS_LISTEN", `cannot serve metrics on ${host}:${port}: ${describeError(err)}; choose another --metrics-port (or 0 to turn metrics off)`, err);
    }
    if (!isLoopback(host)) log.warn(`metrics on ${listener.url}/metrics are open to anyone who can reach this host on port ${listener.port}`);
    log.info(`metrics on ${listener.url}/metrics ('obcap status --metrics-port ${listener.port}' summarizes them)`);
  }

  return {
    kind: "running",
    probe,
    ...(listener ? { metricsUrl: `${listener.url}/metrics` } : {}),
    async stop() {
      try {
        await listener?.close();
      } finally {
        lockRelease();
      }
    },
  };
}

/** 127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
