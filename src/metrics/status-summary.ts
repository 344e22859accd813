/**
 * `obcap status`'s text: a running capture's metrics (parsed Prometheus text) as a short summary
 * for a human, with WARNING lines for what needs attention. Pure; web standards only.
 *
 *   obcap 0.1.0 up 2h 03m 10s (since 2026-11-27T06:17:02Z)
 *   received    123456 frames, 16.7/s since start
 *   ...
 *   WARNING: 12 frames lost (queue full); the capture's log gives the intervals
 */
import { sampleValue, type ParsedFamily } from "./parse.ts";

/** A channel with no frame for longer than this gets a warning. */
export const STALE_FRAME_WARNING_S = 10;

export interface StatusSummary {
  lines: string[];
  warnings: string[];
}

type Families = Map<string, ParsedFamily>;

/** Builds the summary; `nowMs` is the reader's wall clock (uptime). */
export function summarizeCaptureMetrics(families: Families, nowMs: number): StatusSummary {
  const value = (name: string, labels?: Record<string, string>) => sampleValue(families, name, labels);
  const samples = (name: string) => families.get(name)?.samples ?? [];
  const lines: string[] = [];
  const warnings: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(11)} ${text}`);

  const build = samples("obcap_build_info")[0]?.labels;
  const version = `${build?.version ?? "?"}${build?.commit ? ` (commit ${build.commit})` : ""}`;
  const startS = value("obcap_start_time_seconds");
  const uptimeS = startS === undefined ? undefined : Math.max(0, nowMs / 1000 - startS);
  lines.push(
    `obcap ${version} up ${uptimeS === undefined ? "?" : formatDuration(uptimeS)}` +
      (startS === undefined ? "" : ` (since ${new Date(startS * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")})`),
  );

  const channels = samples("obcap_frames_received_total").map((s) => ({ channel: s.labels.channel ?? "?", frames: s.value }));
  const received = value("obcap_receiver_frames_total") ?? (channels.length > 0 ? channels.reduce((a, c) => a + c.frames, 0) : undefined);
  if (received !== undefined) {
    const rate = uptimeS !== undefined && uptimeS > 0 ? `, ${(received / uptimeS).toFixed(1)}/s since start` : "";
    row("received", `${received} frames${rate}`);
  }

  const written = value("obcap_events_written_total");
  if (written !== undefined) {
    row("written", `${written} items; ${value("obcap_write_retries_total") ?? 0} retried requests, ${value("obcap_unprocessed_items_total") ?? 0} unprocessed items, ${value("obcap_write_in_flight") ?? 0} in flight`);
  }

  const backlogBytes = value("obcap_journal_backlog_bytes");
  const backlogFrames = value("obcap_journal_backlog_frames");
  row("backlog", backlogBytes === undefined ? "not reported (no journal, or nothing to upload to)" : `journal ${formatBytes(backlogBytes)}${backlogFrames === undefined ? "" : `, ${backlogFrames} frames`} not yet in DynamoDB`);

  const ringUsed = value("obcap_ring_used_bytes");
  if (ringUsed !== undefined) {
    const capacity = value("obcap_ring_capacity_bytes");
    row(
      "queue",
      `ring ${formatBytes(ringUsed)}${capacity === undefined ? "" : ` of ${formatBytes(capacity)}`} (high-water ${formatBytes(value("obcap_ring_high_water_bytes") ?? 0)}); ` +
        `overflow ${value("obcap_overflow_frames") ?? 0} frames`,
    );
  }

  const lost = value("obcap_frames_lost_total");
  if (lost !== undefined) {
    row("lost", `${lost} frames`);
    if (lost > 0) warnings.push(`WARNING: ${lost} frames lost (queue full); the capture's log gives the intervals`);
  }

  const rejected = samples("obcap_frames_rejected_total");
  if (families.has("obcap_frames_rejected_total")) {
    const total = rejected.reduce((a, s) => a + s.value, 0);
    row("rejected", `${total} frames${total > 0 ? ` (${rejected.map((s) => `${s.labels.code ?? "?"} ${s.value}`).join(", ")})` : ""}`);
  }

  const reconnects = value("obcap_reconnects_total");
  if (reconnects !== undefined) {
    const connected = value("obcap_connected");
    const feedAge = value("obcap_feed_last_frame_age_seconds");
    row(
      "feed",
      `${connected === 0 ? "DISCONNECTED" : "connected"}; reconnects ${reconnects}, gaps ${value("obcap_gaps_total") ?? 0}` +
        (feedAge === undefined ? "" : `; last frame (any kind) ${formatAge(feedAge)}`),
    );
    if (connected === 0) warnings.push("WARNING: not connected to the exchange now (reconnecting)");
  } else {
    row("feed", "reconnects and gaps not reported");
  }

  const ages = new Map(samples("obcap_last_frame_age_seconds").map((s) => [s.labels.channel ?? "?", s.value]));
  if (channels.length === 0) row("channels", "no frame yet");
  const stale: string[] = [];
  channels.forEach(({ channel, frames }, i) => {
    const age = ages.get(channel);
    lines.push(`${(i === 0 ? "channels" : "").padEnd(11)} ${channel} ${frames} frames${age === undefined ? "" : `, last ${formatAge(age)}`}`);
    if (age !== undefined && age > STALE_FRAME_WARNING_S) stale.push(`${channel} (${age.toFixed(1)} s)`);
  });
  if (stale.length > 0) {
    warnings.push(
      `WARNING: no frame for over ${STALE_FRAME_WARNING_S} s on ${stale.join(", ")}` +
        (stale.length < channels.length ? " (a quiet pair may simply not trade)" : "; the whole feed is silent"),
    );
  }
  return { lines, warnings };
}

/** `2h 03m 10s`, `4m 05s`, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${String(rest).padStart(2, "0")}s`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, "0")}s`;
  return `${rest}s`;
}

/** `512 B`, `12.0 KiB`, `1.5 MiB`, `2.0 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v.toFixed(1)} ${units[unit]}`;
}

function formatAge(seconds: number): string {
  return `${seconds.toFixed(1)} s ago`;
}
