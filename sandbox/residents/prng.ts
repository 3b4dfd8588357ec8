/**
 * Small deterministic pseudo-random tools: a seeded generator (mulberry32) and integer hashes.
 * Nothing here is cryptographic; it only has to be fast, well mixed and reproducible.
 */

/** Final avalanche of MurmurHash3 (public-domain algorithm): mixes a 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of two 32-bit integers. */
export function hash2(a: number, b: number): number {
  return fmix32(Math.imul(a ^ 0x9e3779b9, 0x01000193) ^ fmix32(b + 0x7f4a7c15));
}

/** Hash of three 32-bit integers. */
export function hash3(a: number, b: number, c: number): number {
  return hash2(hash2(a, b), c);
}

/** FNV-1a over the UTF-16 code units of a string, then mixed. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Uniform float in [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return (h >>> 0) / 4294967296;
}

/** Seeded generator: mulberry32. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Exponentially distributed value with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal deviate (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Poisson-distributed count with mean lambda (exact below 30, normal approximation above). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
  }

  /** Binomial count of n trials with probability p (exact for small n, approximated above). */
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (n < 64) {
      let k = 0;
      for (let i = 0; i < n; i++) if (this.next() < p) k++;
      return k;
    }
    const mean = n * p;
    if (mean < 30) return Math.min(n, this.poisson(mean));
    const sd = Math.sqrt(mean * (1 - p));
    return Math.min(n, Math.max(0, Math.round(mean + sd * this.normal())));
  }

  /** Index drawn from a table of non-negative weights. */
  weighted(weights: readonly number[], total?: number): number {
    const sum = total ?? weights.reduce((a, b) => a + b, 0);
    let x = this.next() * sum;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

/**
 * The same uniform values as `rng.next()`, in the same order, drawn ahead into a typed array
 * (`size` at a time): hot loops read them without a call per draw (a double returned from a call
 * that is not inlined is a heap allocation). Whoever uses one must not draw from `rng` directly.
 */
export class UniformStream {
  private readonly buf: Float64Array;
  private pos: number;

  constructor(
    private readonly rng: Rng,
    size = 256,
  ) {
    this.buf = new Float64Array(size);
    this.pos = size;
  }

  next(): number {
    if (this.pos === this.buf.length) this.refill();
    return this.buf[this.pos++]!;
  }

  private refill(): void {
    const b = this.buf;
    for (let k = 0; k < b.length; k++) b[k] = this.rng.next();
    this.pos = 0;
  }
}

/** Index drawn from cumulative weights using a uniform value u in [0, 1). */
export function pickCumulative(cumulative: Float64Array, u: number): number {
  const x = u * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function cumulativeOf(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    out[i] = acc;
  }
  return out;
}
