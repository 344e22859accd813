import { expect, test } from "bun:test";
import { waitFor } from "../../support/wait.ts";
test("timeout message", async () => {
  const e = await waitFor(() => false, { timeoutMs: 100, what: () => "x to happen" }).catch((e) => e);
  expect(e.message).toBe("timed out after 100 ms waiting for x to happen");
});
test("value and async", async () => {
  let n = 0;
  expect(await waitFor(async () => (++n >= 3 ? n : 0), { timeoutMs: 1000, intervalMs: 5, what: "n" })).toBe(3);
});
test("subscribe wakes at once", async () => {
  const subs = new Set<() => void>(); let ok = false;
  const t0 = performance.now();
  const p = waitFor(() => ok, { timeoutMs: 1000, intervalMs: 10_000, what: "ok", subscribe: (r) => { subs.add(r); return () => subs.delete(r); } });
  setTimeout(() => { ok = true; for (const s of subs) s(); }, 20);
  await p;
  expect(performance.now() - t0).toBeLessThan(200);
  expect(subs.size).toBe(0);
});
test("throwing condition rejects", async () => {
  const e = await waitFor(() => { throw new Error("boom"); }, { timeoutMs: 1000, what: "x" }).catch((e) => e);
  expect(e.message).toBe("boom");
});
