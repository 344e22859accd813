/**
 * obcap's version (package.json) and the build it runs from. A compiled binary gets its commit and
 * target from `bun build --define` (scripts/build-binary.ts); run from source they are unknown.
 */
import pkg from "../../package.json" with { type: "json" };

declare const OBCAP_BUILD_COMMIT: string | undefined;
declare const OBCAP_BUILD_TARGET: string | undefined;

export const VERSION: string = pkg.version;

/** The git commit of the build (`<short sha>` or `<short sha>-dirty`), or "source" when not built. */
export const BUILD_COMMIT: string = typeof OBCAP_BUILD_COMMIT === "string" ? OBCAP_BUILD_COMMIT : "source";

/** The build's target (e.g. `linux-x64`), or the runtime's platform and CPU when not built. */
export const BUILD_TARGET: string = typeof OBCAP_BUILD_TARGET === "string" ? OBCAP_BUILD_TARGET : `${process.platform}-${process.arch}`;

/** What `obcap --version` prints: `obcap 0.1.0 (commit 1a2b3c4, linux-x64)`. */
export function versionLine(): string {
  return `obcap ${VERSION} (commit ${BUILD_COMMIT}, ${BUILD_TARGET})`;
}
