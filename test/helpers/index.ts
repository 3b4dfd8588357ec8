import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openClickHouse, type ClickHouseClient } from '../../core/clickhouse.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import { startLocalRedis, type LocalRedis } from '../../core/redis-server.ts';
import { copyClickHouseTemplate } from './clickhouse-template.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A fresh temporary directory, removed by the returned cleanup. */
export function tmpDir(prefix = 'tayori-test-'): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A fresh temporary directory whose ClickHouse is the run's migrated template: for a suite or CLI
 * started on it in another process (which would otherwise apply every migration first).
 */
export function migratedTmpDir(prefix?: string): { dir: string; remove(): void } {
  const tmp = tmpDir(prefix);
  copyClickHouseTemplate(path.join(tmp.dir, 'clickhouse'));
  return tmp;
}

/** Environment for a suite or CLI run on its own data directory and free ports. */
export function testEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    TAYORI_DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    // suites under test do not build last month's report package on start unless a test asks
    TAYORI_REPORTS_CATCH_UP: 'off',
    // nor seed the demo residents' registrations (tests make the areas and answers they count)
    TAYORI_DEMO_REGISTRATIONS: 'off',
    ...extra,
  };
}

export function testConfig(dataDir: string, extra: Record<string, string> = {}): Config {
  return loadConfig(testEnv(dataDir, extra));
}

/** A real redis-server in `<dir>/redis`, on a free port (or `port`: to start it again where it was). */
export async function startTestRedis(dir: string, port?: number): Promise<LocalRedis> {
  return startLocalRedis({ dir: path.join(dir, 'redis'), port });
}

/** The process id of the redis-server of `dataDir` (a suite's, or startTestRedis's), from its pid file. */
export function redisPidOf(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8').trim());
}

/**
 * The embedded ClickHouse engine in a fresh directory. chDB binds one directory per process;
 * vitest runs every test file in its own process, so each file gets its own engine. It starts as a
 * copy of the run's migrated template (`template: false`: empty).
 */
export async function freshClickHouse(dir: string, opts: { template?: boolean } = {}): Promise<ClickHouseClient> {
  const at = path.join(dir, 'clickhouse');
  // migrated already (the run's template), unless the suite wants an empty engine
  if (opts.template !== false) copyClickHouseTemplate(at);
  return openClickHouse({ kind: 'embedded', path: at });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tayori …` as a user would (`npx tayori` resolves to bin/tayori.mjs). */
export function runCli(
  args: string[],
  opts: { env: Record<string, string>; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), ...args], {
      env: opts.env,
      cwd: repoRoot,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Polls until fn resolves truthy (or throws after `timeoutMs`). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  what = 'condition',
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a redis-server a killed suite left behind in `dataDir` (for afterAll after a SIGKILL). */
export function reapRedis(dataDir: string): void {
  try {
    const pid = redisPidOf(dataDir);
    if (pid > 1 && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server'))
      process.kill(pid, 'SIGKILL');
  } catch {
    /* none left */
  }
}

export {
  addTenants,
  harness,
  seedClickHouse,
  stillResidents,
  Teardown,
  tenantStore,
  type Harness,
  type HarnessOptions,
  type HarnessRedis,
  type HarnessTenant,
} from './harness.ts';

export { lineFailure, sandboxHook } from './sandbox-calls.ts';
