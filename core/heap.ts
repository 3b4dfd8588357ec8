/**
 * The V8 heap flag Tayori's processes run with (bin/tayori.mjs's first line, the npm scripts).
 *
 * A delivery moves its audience through Buffers: 72 MB for 2M recipients within a second or two,
 * alive until their batches are sent. V8 counts that memory against a limit derived from the heap's
 * size, and with a heap of ~30 MB it began a full collection every ~100 ms that freed nothing, a
 * fifth of the CPU of a 2,000/s delivery. An initial old generation of 256 MB lifts that limit (it
 * allocates nothing up front). Node does not accept this flag in NODE_OPTIONS, so it is on the
 * command line.
 */
export const HEAP_FLAG = '--initial-old-space-size=256';

/** Whether this process runs with an initial old generation size set (HEAP_FLAG or another value). */
export function heapSizeConfigured(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((a) => /^--initial[-_]old[-_]space[-_]size=\d+$/.test(a));
}
