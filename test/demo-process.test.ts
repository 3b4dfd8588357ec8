import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, reapRedis, repoRoot, runCli, testEnv, tmpDir, waitFor } from './helpers/index.ts';

// `npm run demo` runs `node bin/tayori.mjs demo` after the bootstrap; this drives that process.
const tmp = tmpDir();
const env = testEnv(tmp.dir, { LOG_LEVEL: 'error' });
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  reapRedis(tmp.dir);
  tmp.remove();
});

function startDemo(extraEnv: Record<string, string> = {}): { child: ChildProcess; output: () => string; url: Promise<string> } {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), 'demo'], { env: { ...env, ...extraEnv }, cwd: repoRoot });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = waitFor(async () => /起動しました: (http:\/\/\S+)/.exec(out)?.[1], 110_000, 'the demo URL');
  url.catch(() => {});
  return { child, output: () => out, url };
}

const exited = (c: ChildProcess) =>
  new Promise<number | string | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code, signal) => r(code ?? signal))));

describe('npm run demo', () => {
  it('starts, is ready with 30 tenants, stops cleanly on Ctrl-C, and reuses its data when run again', async () => {
    for (const round of [1, 2]) {
      const demo = startDemo();
      const url = await demo.url;
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, demo.output()).toBe(200);
      expect(await ready.json()).toEqual({ clickhouse: 'ok', redis: 'ok' });

      const list = await runCli(['tenants', 'list'], { env });
      expect(list.stdout, `round ${round}`).toContain('30 件');
      const home = await (await fetch(url)).text();
      expect(home).toContain('三重県');

      const redisPid = Number(fs.readFileSync(path.join(tmp.dir, 'redis', 'redis.pid'), 'utf8'));
      expect(isAlive(redisPid)).toBe(true);
      demo.child.kill('SIGINT');
      expect(await exited(demo.child), demo.output().slice(-3000)).toBe(0);
      expect(demo.output()).toContain('停止しました');
      await waitFor(async () => !isAlive(redisPid), 10_000, 'redis-server to exit');
      expect(fs.existsSync(path.join(tmp.dir, 'suite.json'))).toBe(false);
    }
    expect(fs.statSync(path.join(tmp.dir, 'secret.key')).mode & 0o777).toBe(0o600);
  }, 240_000);

  it('fails fast with a message naming ClickHouse when CLICKHOUSE_URL points nowhere', async () => {
    const other = tmpDir();
    const r = await runCli(['demo'], { env: { ...testEnv(other.dir), CLICKHOUSE_URL: 'http://127.0.0.1:1' }, timeoutMs: 60_000 });
    other.remove();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ClickHouse に接続できません \(http:\/\/127\.0\.0\.1:1/);
  });

  it('stops at start with one line naming a bad variable', async () => {
    const r = await runCli(['demo'], { env: { ...env, PORT: 'eighty' }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('PORT');
  });
});
