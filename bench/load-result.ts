/** What a benchmark's load generator (autocannon in its own process) reports, and how it is run. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
  statusCodeStats?: Record<string, { count: number }>;
}

export interface LoadResult {
  rps: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50_ms: number;
  p99_ms: number;
  sent: number;
  statuses?: Record<string, number>;
  /** The load generator's own CPU per request sent (µs): it shares the machine's cores with the server. */
  loader_cpu_us?: number;
}

export function loadFigures(result: AutocannonResult, sent: number, statuses?: Record<string, number>): LoadResult {
  return {
    rps: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    sent,
    ...(statuses ? { statuses } : {}),
  };
}

/** Runs a load script (through tsx) in its own process; its last stdout line is the LoadResult. */
export async function runLoad(script: string, args: string[]): Promise<LoadResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
}
