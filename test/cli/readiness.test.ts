import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reapRedis, repoRoot, runCli, testEnv, migratedTmpDir, tmpDir, waitFor } from '../helpers/index.ts';

// "Ready means ready": /readyz turns 200 only once start-up is complete (suite.json says ready),
// and a CLI command run while the suite starts waits for its API instead of failing on the lock.
const tmp = migratedTmpDir();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  reapRedis(tmp.dir);
  tmp.remove();
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const suiteFile = (dir: string) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'suite.json'), 'utf8')) as { state?: string; url?: string };
  } catch {
    return undefined;
  }
};

describe('start-up readiness', () => {
  it('answers /readyz 200 only after suite.json says ready, and a CLI command started meanwhile waits', {
    timeout: 300_000,
  }, async () => {
    const port = await freePort();
    // the demo (tenants on the sandbox) has a window between listening and ready
    const env = testEnv(tmp.dir, { PORT: String(port), LOG_LEVEL: 'error' });
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), 'demo'], { env, cwd: repoRoot });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));

    // the directory is claimed as starting before anything else
    await waitFor(async () => suiteFile(tmp.dir)?.state === 'starting' || undefined, 60_000, 'suite.json starting');
    const cli = runCli(['tenants', 'list'], { env, timeoutMs: 120_000 });

    const seen: Array<{ status: number; state: string | undefined }> = [];
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (!r) return undefined;
        const state = suiteFile(tmp.dir)?.state;
        seen.push({ status: r.status, state });
        return r.status === 200 || undefined;
      },
      120_000,
      '/readyz 200',
      20,
    );
    for (const s of seen.filter((x) => x.status === 200)) expect(s.state).toBe('ready');
    for (const s of seen.filter((x) => x.status !== 200)) expect(s.status).toBe(503);

    const r = await cli;
    expect(r.stderr).not.toMatch(/使用しています|clickhouse_locked/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/24201|テナント/);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(suiteFile(tmp.dir)).toBeUndefined();
  });

  it('says plainly when a suite stays in start-up longer than the CLI waits', async () => {
    const dir = tmpDir();
    try {
      // a live process (this test runner) that claims the directory and never becomes ready
      fs.writeFileSync(
        path.join(dir.dir, 'suite.json'),
        JSON.stringify({ pid: process.pid, state: 'starting', startedAt: new Date().toISOString() }),
      );
      const r = await runCli(['tenants', 'list'], { env: testEnv(dir.dir, { TAYORI_CLI_WAIT_MS: '1500' }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/起動中です/);
      expect(r.stderr).toMatch(/もう一度実行してください/);
    } finally {
      dir.remove();
    }
  });
});
