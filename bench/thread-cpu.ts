/**
 * CPU time per thread of this process (Linux /proc/self/task/<tid>/stat: utime + stime, in clock
 * ticks of 10 ms), grouped by the thread's name: where a run's CPU went — the main thread (the server's
 * event loop), libuv's pool, the event log's writer, chDB's threads, V8's GC and compiler threads.
 */
import fs from 'node:fs';

const TICK_US = 10_000;

export type ThreadCpu = Map<string, { name: string; ticks: number }>;

/** The CPU ticks of every live thread, keyed by thread id. */
export function threadCpu(): ThreadCpu {
  const out: ThreadCpu = new Map();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out; // not Linux: no breakdown
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // fields after the parenthesised name: state is 3rd; utime 14th, stime 15th (1-based)
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(rest[11]) + Number(rest[12]);
      const name = tid === String(process.pid) ? 'main' : fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, ticks });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** µs of CPU per request by thread group between two snapshots (threads that ended are lost). */
export function cpuByThread(before: ThreadCpu, after: ThreadCpu, requests: number): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [tid, a] of after) {
    const d = a.ticks - (before.get(tid)?.ticks ?? 0);
    if (d <= 0) continue;
    const group = groupOf(a.name);
    groups[group] = (groups[group] ?? 0) + d;
  }
  const n = Math.max(1, requests);
  return Object.fromEntries(
    Object.entries(groups)
      .sort((x, y) => y[1] - x[1])
      .map(([k, t]) => [k, Number(((t * TICK_US) / n).toFixed(1))]),
  );
}

function groupOf(name: string): string {
  if (name === 'main') return 'main';
  if (/^libuv-worker/.test(name)) return 'libuv';
  if (/^V8 /.test(name) || /^node$/.test(name)) return 'v8';
  return name.replace(/[-_ ]?\d+$/, '') || name;
}
