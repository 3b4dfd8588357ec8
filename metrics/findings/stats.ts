/**
 * The statistics behind the findings: Wilson intervals on rates whose sample is deliveries of many
 * recipients (the recipients of one delivery move together, so the interval is widened by the
 * overdispersion the deliveries show), and a rate ratio of two counts (Poisson).
 */

/** 95% two-sided. */
export const Z = 1.96;

export interface Interval {
  rate: number;
  low: number;
  high: number;
}

/** Wilson score interval of x successes in n trials (n may be an effective, non-integer size). */
export function wilson(x: number, n: number, z = Z): Interval {
  if (n <= 0) return { rate: 0, low: 0, high: 1 };
  const p = x / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return { rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** One delivery's successes (opens, clicks, blocks) out of its recipients. */
export interface Trial {
  x: number;
  n: number;
}

/**
 * The dispersion factor φ ≥ 1 of deliveries grouped by what they are compared on: Pearson's χ² of
 * each delivery against its group's pooled rate, over its degrees of freedom. Binomial data gives
 * about 1; deliveries whose rates vary more than their sizes explain give more, and each group's
 * recipients then count as n ÷ φ.
 */
export function dispersion(groups: ReadonlyArray<readonly Trial[]>): number {
  let chi2 = 0;
  let k = 0;
  let g = 0;
  for (const ts of groups) {
    const n = ts.reduce((a, t) => a + t.n, 0);
    if (!ts.length || n === 0) continue;
    const p = ts.reduce((a, t) => a + t.x, 0) / n;
    g++;
    k += ts.length;
    if (p <= 0 || p >= 1) continue;
    for (const t of ts) if (t.n > 0) chi2 += (t.x - t.n * p) ** 2 / (t.n * p * (1 - p));
  }
  const df = k - g;
  return df > 0 ? Math.max(1, chi2 / df) : 1;
}

/** A group's pooled rate with its interval, its recipients counted as n ÷ φ. */
export function groupInterval(ts: readonly Trial[], phi: number): Interval & { x: number; n: number } {
  const x = ts.reduce((a, t) => a + t.x, 0);
  const n = ts.reduce((a, t) => a + t.n, 0);
  return { ...wilson(x / phi, n / phi), x, n };
}

/** a events over exposure ea against b over eb: the ratio of rates with its 95% interval (log scale). */
export function rateRatio(a: number, ea: number, b: number, eb: number): Interval | null {
  if (a <= 0 || b <= 0 || ea <= 0 || eb <= 0) return null;
  const rate = a / ea / (b / eb);
  const se = Math.sqrt(1 / a + 1 / b);
  return { rate, low: rate * Math.exp(-Z * se), high: rate * Math.exp(Z * se) };
}

export const median = (xs: readonly number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
