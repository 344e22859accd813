/**
 * mulberry32: a tiny seeded PRNG, uniform in [0, 1). Deterministic and identical on every runtime, so
 * a failing generated case can be repeated exactly. The one copy the tests, the fake exchange and the
 * fault proxy share.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
