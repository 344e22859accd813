/**
 * Sizes of journal segments, plain or compressed: the bytes of their lines (what the backlog and
 * offsets count) and the bytes they take on disk (what the disk budget counts). Web standards + `node:fs`.
 */
import { statSync } from "node:fs";
import { openSegmentReader } from "./segment-reader.ts";
import { COMPRESSED_SUFFIX, segmentPath } from "./segments.ts";

/** Compressed segments never change: their line sizes are remembered by path and file size. */
const compressedLineBytes = new Map<string, { fileBytes: number; lineBytes: number }>();

/** Bytes of lines in segment `name`; undefined when it is gone. */
export function segmentLineBytes(dir: string, name: string): number | undefined {
  const plain = segmentPath(dir, name);
  try {
    return statSync(plain).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const path = `${plain}${COMPRESSED_SUFFIX}`;
  let fileBytes: number;
  try {
    fileBytes = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const known = compressedLineBytes.get(path);
  if (known?.fileBytes === fileBytes) return known.lineBytes;
  const reader = openSegmentReader(dir, name);
  try {
    const lineBytes = reader.size();
    if (compressedLineBytes.size > 10_000) compressedLineBytes.clear();
    compressedLineBytes.set(path, { fileBytes, lineBytes });
    return lineBytes;
  } finally {
    reader.close();
  }
}

/** Bytes segment `name` takes on disk (both files while a compression finishes); 0 when it is gone. */
export function segmentDiskBytes(dir: string, name: string): number {
  let bytes = 0;
  for (const path of [segmentPath(dir, name), `${segmentPath(dir, name)}${COMPRESSED_SUFFIX}`]) {
    try {
      bytes += statSync(path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return bytes;
}
