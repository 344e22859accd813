/**
 * What a capture reads and decides about its journal directory before it starts: the disk budget
 * (from the flags, or from the disk now) and where the previous run stopped (for the restart gap),
 * and this run's channels recorded for the next one. Web standards + `node:fs`.
 */
import { statfsSync } from "node:fs";
import { describeError, obcapError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { describeBytes, resolveBudget, type DiskAtStart } from "../journal/disk-budget.ts";
import type { KeeperSettings } from "../journal/journal-keeper.ts";
import type { JournalSettings } from "../journal/journal-protocol.ts";
import { readPreviousRun, writeRunFile, type PreviousRun } from "../journal/previous-run.ts";
import { segmentDiskBytes } from "../journal/segment-sizes.ts";
import { listSegments } from "../journal/segments.ts";

/**
 * The journal's disk budget: the flags, or defaults chosen from the disk now (said in the log); and
 * segments no larger than an eighth of the budget, so the budget is kept by deleting whole segments.
 */
export function journalBudget(journal: JournalSettings): { journal: JournalSettings; keeper: KeeperSettings } {
  let disk: DiskAtStart;
  try {
    const fs = statfsSync(journal.dir);
    disk = {
      freeBytes: fs.bavail * fs.bsize,
      totalBytes: fs.blocks * fs.bsize,
      journalBytes: listSegments(journal.dir).reduce((sum, name) => sum + segmentDiskBytes(journal.dir, name), 0),
    };
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot read the disk space of the journal ${journal.dir} (${describeError(err)}): check --journal`, err);
  }
  const { budgetBytes, minFreeBytes, chosen } = resolveBudget(disk, journal.disk);
  const segmentBytes = Math.min(journal.segmentBytes, Math.max(1024 * 1024, Math.floor(budgetBytes / 8)));
  log.info(
    `journal ${journal.dir}: budget ${describeBytes(budgetBytes)}${chosen.max ? " (what it holds plus half the free space at start; --journal-max to choose)" : ""}, ` +
      `keeps ${describeBytes(minFreeBytes)} free on its disk${chosen.minFree ? " (--journal-min-free)" : ""}, ${describeBytes(disk.freeBytes)} free now; ` +
      `when full: ${journal.disk.policy}; closed segments ${journal.disk.gzipLevel > 0 ? `gzip -${journal.disk.gzipLevel}` : "kept plain"}` +
      (segmentBytes < journal.segmentBytes ? `; segments of ${describeBytes(segmentBytes)} (an eighth of the budget)` : ""),
  );
  return {
    journal: { ...journal, segmentBytes },
    keeper: { budgetBytes, minFreeBytes, policy: journal.disk.policy, gzipLevel: journal.disk.gzipLevel },
  };
}

/** The previous run of the journal directory, and this run's channels recorded for the next one. */
export function previousRunOf(dir: string, channels: readonly string[]): PreviousRun | undefined {
  let previous: PreviousRun | undefined;
  try {
    previous = readPreviousRun(dir);
  } catch (err) {
    log.warn(`cannot read where the previous capture in ${dir} stopped (${describeError(err)}); this run's records start as if it were the first`);
  }
  try {
    writeRunFile(dir, channels, typeof process === "object" ? process.pid : 0);
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot write ${dir}/run.json (${describeError(err)}): check the journal directory's permissions and free space`, err);
  }
  return previous;
}
