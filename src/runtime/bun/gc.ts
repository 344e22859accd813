/** A full garbage collection of the calling thread's heap (Bun's JavaScriptCore). */
export function collectGarbage(): void {
  Bun.gc(true);
}
