import { createHash } from 'node:crypto';

/** mulberry32 seeded from a key: the demo's deterministic stream of numbers in [0, 1) per tenant or resident. */
export function prng(key: string): () => number {
  let a = createHash('sha256').update(key).digest().readUInt32BE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
