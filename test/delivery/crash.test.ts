/**
 * Kill -9 the process running the delivery workers mid-delivery, start it again: the delivery
 * completes and the sandbox's receipts show every friend got it exactly once (the batches in
 * flight at the kill are retried with their retry keys and answered 409).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chDateTime } from '../../core/time.ts';
import {
  addTenants,
  harness,
  repoRoot,
  sandboxHook,
  seedClickHouse,
  stillResidents,
  testEnv,
  waitFor,
  type Harness,
} from '../helpers/index.ts';

const TOKEN = 'crash-token';
const TENANT = '24000';
const CHANNEL = '3000000002';
const FRIENDS = 12_000;
const children: ChildProcess[] = [];
let h: Harness | undefined;

afterAll(() => h?.close());

async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'delivery/main.ts')], {
    env,
    cwd: repoRoot,
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`child exited: ${out}`);
      return /delivery ready: (http:\/\/\S+)/.exec(out)?.[1];
    },
    60_000,
    'the delivery process to start',
  );
  return { child, url };
}

const hook = (p: string) => sandboxHook(h!.sandbox.url, 'GET', p);

describe('delivery survives kill -9 of its worker process', () => {
  it('delivers to every friend exactly once after a crash and restart', async () => {
    // the sandbox and redis-server stay up; the engine's directory is handed to the worker process
    h = await harness({
      clickhouse: false,
      redis: true,
      sandbox: {
        config: {
          channels: [
            {
              channelId: CHANNEL,
              botUserId: `U${'8'.repeat(32)}`,
              channelSecret: 'secret-crash',
              channelAccessToken: 'token-crash',
              residents: stillResidents(FRIENDS, 3),
            },
          ],
        },
      },
    });
    // killed first at the teardown: the worker processes still running
    h.defer('kill the worker processes', () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
    const { sandbox, redis } = h;
    const friends = [...sandbox.world.byChannelId(CHANNEL)!.followerIds()];
    expect(friends).toHaveLength(FRIENDS);

    // tenant and residents' state, written before the worker process takes the engine's directory
    await seedClickHouse(h.config, async (ch, tenants) => {
      await addTenants(
        tenants,
        [
          {
            id: TENANT,
            name: '三重県',
            kind: 'prefecture',
            channelId: CHANNEL,
            botUserId: `U${'8'.repeat(32)}`,
            credentials: 'sandbox',
          },
        ],
        sandbox,
      );
      const t0 = Date.parse('2026-01-01T00:00:00Z');
      await ch.insert({
        table: 'resident_states',
        format: 'JSONEachRow',
        values: friends.map((u) => ({
          tenant_id: TENANT,
          user_id: u,
          is_friend: 1,
          changed_at: chDateTime(t0),
          version: t0 * 10 + 1,
        })),
      });
    });

    const env = testEnv(h.dir, {
      TAYORI_SANDBOX: 'off',
      LOG_LEVEL: 'error',
      REDIS_URL: redis.url,
      TAYORI_SANDBOX_URL: sandbox.url,
      TAYORI_OPERATOR_TOKEN: TOKEN,
      DELIVERY_MULTICAST_PER_SECOND: '6',
      DELIVERY_CONCURRENCY: '4',
      DELIVERY_LOCK_MS: '2000',
      DELIVERY_TIMEOUT_MS: '15000',
    });
    const api = async (url: string, method: string, p: string, body?: unknown) => {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, json: (await res.json()) as any };
    };

    const first = await startChild(env);
    // the first multicast takes effect but is never answered: it is in flight when the process dies
    await fetch(`${sandbox.url}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        channelId: CHANNEL,
        endpoint: 'multicast',
        kind: 'timeout',
        delivered: true,
        count: 1,
        hangMs: 60_000,
        durationMs: 600_000,
      }),
    });
    const created = await api(first.url, 'POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: '健康マイレージ',
      messages: [{ type: 'text', text: '今月のポイント' }],
      sendMethod: 'multicast',
      send: 'now',
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;

    // some batches accepted, most not yet: kill -9
    await waitFor(
      async () => (await hook(`/channels/${CHANNEL}/receipts`)).acceptedRequests >= 5,
      60_000,
      'a few batches to be accepted',
    );
    first.child.kill('SIGKILL');
    await waitFor(async () => first.child.signalCode !== null, 10_000, 'the child to die');
    const atKill = await hook(`/channels/${CHANNEL}/receipts`);
    expect(atKill.acceptedRequests).toBeLessThan(FRIENDS / 500);

    const second = await startChild(env);
    const done = await waitFor(
      async () => {
        const r = await api(second.url, 'GET', `/api/v1/tenants/${TENANT}/deliveries/${id}`);
        return r.json.status === 'done' ? r.json : undefined;
      },
      120_000,
      'the delivery to finish after the restart',
    );
    expect(done).toMatchObject({ targets: FRIENDS, accepted: FRIENDS, failed: 0, batches: FRIENDS / 500 });

    const summary = await hook(`/channels/${CHANNEL}/receipts`);
    expect(summary).toMatchObject({
      totalRecipients: FRIENDS,
      totalReceipts: FRIENDS,
      residentsWithMultipleReceipts: 0,
      acceptedRequests: FRIENDS / 500,
    });
    expect((await hook(`/channels/${CHANNEL}/duplicates`)).residents).toEqual([]);
    for (const u of [friends[0]!, friends[FRIENDS / 2]!, friends.at(-1)!])
      expect((await hook(`/channels/${CHANNEL}/receipts/${u}`)).count).toBe(1);

    const batches = (await api(second.url, 'GET', `/api/v1/tenants/${TENANT}/deliveries/${id}/batches`)).json.batches;
    expect(batches).toHaveLength(FRIENDS / 500);
    expect(batches.every((b: any) => b.status === 'accepted')).toBe(true);
    // the batch LINE accepted before the crash was retried with its key after the restart: 409, not a second send
    expect(batches.filter((b: any) => Number(b.http_status) === 409).length).toBeGreaterThanOrEqual(1);

    second.child.kill('SIGTERM');
    await waitFor(async () => second.child.exitCode !== null, 30_000, 'a clean stop');
  }, 240_000);
});
