import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../core/clickhouse.ts';
import { isAlive, reapRedis, repoRoot, runCli, testEnv, tmpDir, waitFor } from '../helpers/index.ts';
import { event, sign } from '../helpers/webhooks.ts';

// Load against the suite in a child process, kill -9 mid-load, restart, redeliver what was not
// acknowledged: every event that got a 200 is stored, and each counts once.
const tmp = tmpDir();
const env = testEnv(tmp.dir, { TAYORI_SANDBOX: 'off', LOG_LEVEL: 'error' });
const SECRET = 'c'.repeat(32);
const BOT = `U${'2'.repeat(32)}`;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  reapRedis(tmp.dir);
  tmp.remove();
});

async function startServe(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), 'serve'], { env, cwd: repoRoot });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await waitFor(async () => /起動しました: (http:\/\/\S+)/.exec(out)?.[1], 60_000, 'the suite to start');
  return { child, url };
}

interface Req {
  events: Array<Record<string, unknown>>;
  acked: boolean;
}

async function send(url: string, req: Req, redelivery: boolean): Promise<void> {
  const events = redelivery ? req.events.map((e) => ({ ...e, deliveryContext: { isRedelivery: true } })) : req.events;
  const text = JSON.stringify({ destination: BOT, events });
  try {
    const res = await fetch(`${url}/webhook/24201`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-line-signature': sign(text, SECRET) },
      body: text,
    });
    if (res.status === 200) req.acked = true;
  } catch {
    /* connection lost: not acknowledged */
  }
}

describe('ingest survives kill -9', () => {
  it('keeps every acknowledged event exactly once after a crash and redelivery', async () => {
    fs.writeFileSync(path.join(tmp.dir, 'secret.key'), Buffer.alloc(32, 3).toString('base64'), { mode: 0o600 });
    expect(
      (
        await runCli(
          ['tenants', 'add', '--id', '24201', '--name', '津市', '--kind', 'municipality', '--bot-user-id', BOT],
          { env },
        )
      ).code,
    ).toBe(0);
    expect(
      (await runCli(['tenants', 'set-credentials', '--id', '24201', '--sandbox'], { env, input: `${SECRET}\ntok\n` }))
        .code,
    ).toBe(0);

    const day = Date.parse('2026-05-01T01:00:00Z');
    const reqs: Req[] = Array.from({ length: 400 }, (_, i) => ({
      acked: false,
      events: Array.from({ length: 10 }, (_, k) =>
        event(k % 4 === 3 ? 'unfollow' : 'follow', `U${String(i * 10 + k).padStart(32, '0')}`, {}, day + i * 10 + k),
      ),
    }));

    // first run: load with 16 senders, killed with SIGKILL after 100 acknowledgements
    const first = await startServe();
    let next = 0;
    let killed = false;
    const sender = async () => {
      while (next < reqs.length && !killed) {
        const r = reqs[next++]!;
        await send(first.url, r, false);
        if (!killed && reqs.filter((x) => x.acked).length >= 100) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, sender));
    await waitFor(
      async () => first.child.exitCode !== null || first.child.signalCode !== null,
      10_000,
      'the child to die',
    );
    const ackedFirst = reqs.filter((r) => r.acked).length;
    expect(ackedFirst).toBeGreaterThanOrEqual(100);
    expect(ackedFirst).toBeLessThan(reqs.length);

    // restart; LINE redelivers what was not acknowledged, and some acknowledged requests arrive again
    const second = await startServe();
    const redeliver = reqs.filter((r) => !r.acked);
    const duplicates = reqs.filter((r) => r.acked).slice(0, 30);
    for (let i = 0; i < redeliver.length; i += 16)
      await Promise.all(redeliver.slice(i, i + 16).map((r) => send(second.url, r, true)));
    await Promise.all(duplicates.map((r) => send(second.url, r, true)));
    expect(reqs.every((r) => r.acked)).toBe(true);

    const redisPid = Number(fs.readFileSync(path.join(tmp.dir, 'redis', 'redis.pid'), 'utf8'));
    second.child.kill('SIGTERM');
    await waitFor(async () => second.child.exitCode !== null, 30_000, 'a clean stop');
    await waitFor(async () => !isAlive(redisPid), 10_000, 'redis-server to stop');

    const ch = await openClickHouse({ kind: 'embedded', path: path.join(tmp.dir, 'clickhouse') });
    try {
      const q = async (query: string) =>
        (await (await ch.query({ query, format: 'JSONEachRow' })).json<Record<string, string>>())[0]!;
      const total = reqs.length * 10;
      const raw = await q('SELECT count() AS n, uniqExact(webhook_event_id) AS ids FROM raw_webhook_events FINAL');
      expect(Number(raw.n)).toBe(total);
      expect(Number(raw.ids)).toBe(total);
      const roll = await q(
        "SELECT sum(events) AS events, sum(follows) AS follows, sum(unfollows) AS unfollows FROM webhook_events_per_day FINAL WHERE tenant_id = '24201'",
      );
      expect(Number(roll.events)).toBe(total);
      expect(Number(roll.unfollows)).toBe(reqs.length * 2);
      expect(Number(roll.follows)).toBe(total - reqs.length * 2);
    } finally {
      await ch.close();
    }
  });
});
