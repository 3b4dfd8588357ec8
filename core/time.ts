/** Epoch ms → 'YYYY-MM-DD hh:mm:ss.sss' (UTC), the text form DateTime64(3, 'UTC') columns take. */
export function chDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

let last = 0;
/** Strictly increasing version for ReplacingMergeTree rows written by this process (µs since epoch). */
export function nextVersion(): number {
  const v = Date.now() * 1000;
  last = v > last ? v : last + 1;
  return last;
}
