/**
 * A tiny registry that renders the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Web standards only.
 *
 *   const registry = new MetricRegistry();
 *   registry.counter("obcap_frames_received_total", "Frames per channel", ["channel"]).set(12, { channel: "live_orders_btcusd" });
 *   registry.render();
 *   // # HELP obcap_frames_received_total Frames per channel
 *   // # TYPE obcap_frames_received_total counter
 *   // obcap_frames_received_total{channel="live_orders_btcusd"} 12
 *
 * Families render in registration order, samples in the order their label sets first appeared, so the
 * output is deterministic. Escaping follows the format: in HELP `\` and line feed; in label values
 * `\`, `"` and line feed. Values: integers as digits, `NaN`, `+Inf`, `-Inf`.
 */

export type MetricType = "counter" | "gauge";
export type Labels = Readonly<Record<string, string>>;

/** Content-Type of {@link MetricRegistry.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One metric family: a name, a type, its label names, and one value per label set. */
export class Metric {
  readonly #samples = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {}

  /** Sets the value for `labels` (a counter copied from a snapshot is set, not incremented). */
  set(value: number, labels: Labels = {}): this {
    const key = this.#key(labels);
    const sample = this.#samples.get(key);
    if (sample) sample.value = value;
    else this.#samples.set(key, { labels, value });
    return this;
  }

  /** Adds `by` (default 1) to the value for `labels`. Counters only go up. */
  inc(by = 1, labels: Labels = {}): this {
    if (this.type === "counter" && !(by >= 0)) throw new RangeError(`counter ${this.name} cannot go down (inc by ${by})`);
    return this.set(this.get(labels) + by, labels);
  }

  /** The value for `labels`, 0 if never set. */
  get(labels: Labels = {}): number {
    return this.#samples.get(this.#key(labels))?.value ?? 0;
  }

  /** This family's lines, each ending in a line feed. */
  render(): string {
    let text = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { labels, value } of this.#samples.values()) {
      const pairs = this.labelNames.map((n) => `${n}="${escapeLabelValue(labels[n] as string)}"`);
      text += `${this.name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}\n`;
    }
    return text;
  }

  #key(labels: Labels): string {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || !this.labelNames.every((n) => typeof labels[n] === "string")) {
      throw new TypeError(`${this.name} takes labels {${this.labelNames.join(", ")}}, got {${given.join(", ")}}`);
    }
    return JSON.stringify(this.labelNames.map((n) => labels[n]));
  }
}

/** Metric families by name, rendered together. */
export class MetricRegistry {
  readonly #metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Metric {
    return this.#register(name, help, "counter", labelNames);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Metric {
    return this.#register(name, help, "gauge", labelNames);
  }

  /** The whole exposition: every family, HELP and TYPE first. */
  render(): string {
    let text = "";
    for (const metric of this.#metrics.values()) text += metric.render();
    return text;
  }

  #register(name: string, help: string, type: MetricType, labelNames: readonly string[]): Metric {
    if (!METRIC_NAME_RE.test(name)) throw new TypeError(`'${name}' is not a valid metric name`);
    for (const label of labelNames) {
      if (!LABEL_NAME_RE.test(label) || label.startsWith("__")) throw new TypeError(`'${label}' is not a valid label name (metric ${name})`);
    }
    if (this.#metrics.has(name)) throw new TypeError(`metric ${name} is registered twice`);
    const metric = new Metric(name, help, type, labelNames);
    this.#metrics.set(name, metric);
    return metric;
  }
}

/** HELP text: backslash and line feed are escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Label value: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value as the format spells it (Go's ParseFloat reads it back). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
