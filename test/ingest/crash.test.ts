import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../core/clickhouse.ts';
import {
  isAlive,
  reapRedis,
  redisPidOf,
  repoRoot,
  runCli,
  testEnv,
  migratedTmpDir,
  waitFor,
} from '../helpers/index.ts';
import { event, sign } from '../helpers/webhooks.ts';

// Load against the suite in a child process, killed with -9 three times: during load, while
// ClickHouse refuses writes (the acknowledged events wait in the event log), and as it starts again
// shipping that backlog. After a last restart LINE redelivers what was not acknowledged: every event
// that got a 200 is stored once, and every handler ran (residents' follow state for each of them).
const tmp = migratedTmpDir();
const FAULT = path.join(tmp.dir, 'clickhouse-refuses-writes');
const env = testEnv(tmp.dir, { TAYORI_SANDBOX: 'off', LOG_LEVEL: 'error', TAYORI_FAULT_CLICKHOUSE_WRITES: FAULT });
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

/** 16 senders over `batch` until `ackTarget` of them are acknowledged, then kill -9 (mid-load). */
async function loadAndKill(url: string, child: ChildProcess, batch: Req[], ackTarget: number): Promise<void> {
  let next = 0;
  let killed = false;
  const sender = async () => {
    while (next < batch.length && !killed) {
      const r = batch[next++]!;
      await send(url, r, false);
      if (!killed && batch.filter((x) => x.acked).length >= ackTarget) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, sender));
  if (!killed) child.kill('SIGKILL');
  await waitFor(async () => child.exitCode !== null || child.signalCode !== null, 10_000, 'the child to die');
}

describe('ingest survives kill -9', () => {
  it('keeps every acknowledged event exactly once, and runs every handler, after crashes and redelivery', {
    timeout: 300_000,
  }, async () => {
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
    const user = (n: number) => `U${String(n).padStart(32, '0')}`;
    const reqs: Req[] = Array.from({ length: 600 }, (_, i) => ({
      acked: false,
      events: Array.from({ length: 10 }, (_, k) =>
        event(k % 4 === 3 ? 'unfollow' : 'follow', user(i * 10 + k), {}, day + i * 10 + k),
      ),
    }));
    const acked = (from: number, to: number) => reqs.slice(from, to).filter((r) => r.acked).length;

    // 1. during load
    const first = await startServe();
    await loadAndKill(first.url, first.child, reqs.slice(0, 200), 100);
    expect(acked(0, 200)).toBeGreaterThanOrEqual(100);
    expect(acked(0, 200)).toBeLessThan(200);

    // 2. while ClickHouse refuses writes: acknowledged from the log alone, handlers failing and retried
    const second = await startServe();
    fs.writeFileSync(FAULT, ''); // every INSERT fails from now on: the shipper's, and the follow-state handler's
    for (const r of reqs.slice(200, 205)) await send(second.url, r, false);
    // `tayori ingest status` shows what /readyz shows: the backlog waiting in the log, the shipper's error
    const status = await waitFor(
      async () => {
        const st = await runCli(['ingest', 'status', '--json'], { env });
        expect(st.code, st.stderr).toBe(0);
        const body = JSON.parse(st.stdout) as {
          status: string;
          event_log: { status: string; backlog: { events: number; entries: number } };
          errors?: Record<string, string>;
        };
        return body.errors?.['event_log.shipper'] ? body : undefined;
      },
      60_000,
      "the shipper's failure in `ingest status`",
    );
    expect(status.status).toBe('ok');
    expect(status.event_log.status).toBe('ok');
    expect(status.event_log.backlog.events).toBeGreaterThanOrEqual(50);
    expect(status.event_log.backlog.entries).toBeGreaterThanOrEqual(5);
    expect(status.errors?.['event_log.shipper']).toMatch(/refused/);
    await loadAndKill(second.url, second.child, reqs.slice(205, 400), 120);
    expect(acked(200, 400)).toBeGreaterThanOrEqual(120);
    // stopped: `ingest status` reads the backlog on disk without touching it (it ships at the next start)
    const stopped = await runCli(['ingest', 'status', '--json'], { env });
    expect(stopped.code, stopped.stderr).toBe(0);
    const onDisk = JSON.parse(stopped.stdout) as { status: string; event_log: { backlog: { entries: number } } };
    expect(onDisk.status).toBe('stopped');
    expect(onDisk.event_log.backlog.entries).toBeGreaterThanOrEqual(120);

    // 3. ClickHouse takes writes again: killed while the backlog ships (and more load arrives)
    fs.rmSync(FAULT);
    const third = await startServe();
    await loadAndKill(third.url, third.child, reqs.slice(400, 600), 40);

    // 4. restart; LINE redelivers what was not acknowledged, and some acknowledged requests arrive again
    const last = await startServe();
    const redeliver = reqs.filter((r) => !r.acked);
    const duplicates = reqs.filter((r) => r.acked).slice(0, 30);
    for (let i = 0; i < redeliver.length; i += 16)
      await Promise.all(redeliver.slice(i, i + 16).map((r) => send(last.url, r, true)));
    await Promise.all(duplicates.map((r) => send(last.url, r, true)));
    expect(reqs.every((r) => r.acked)).toBe(true);

    const redisPid = redisPidOf(tmp.dir);
    last.child.kill('SIGTERM');
    await waitFor(async () => last.child.exitCode !== null, 30_000, 'a clean stop');
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
      // the follow-state handler ran for every event (each resident has exactly one)
      const states = await q(
        "SELECT count() AS n, countIf(is_friend = 1) AS friends FROM resident_states FINAL WHERE tenant_id = '24201'",
      );
      expect(Number(states.n)).toBe(total);
      expect(Number(states.friends)).toBe(total - reqs.length * 2);
    } finally {
      await ch.close();
    }
  });
});
