import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIdentity } from '../../cli/demo-seed.ts';
import type { Suite } from '../../cli/suite.ts';
import { lineClients } from '../../core/line.ts';
import { harness, runCli, testEnv, waitFor, type Harness } from '../helpers/index.ts';

// The suite in this process (embedded ClickHouse, its own redis-server), and the CLI beside it.
let h: Harness;
let suite: Suite;

beforeAll(async () => {
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true });
});
afterAll(() => h?.close());

const api = (p: string, init: RequestInit = {}) =>
  fetch(suite.url + p, {
    ...init,
    headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json', ...init.headers },
  });

describe('the running suite', () => {
  it('answers /healthz and /readyz with real round trips', async () => {
    expect(await (await fetch(`${suite.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${suite.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      clickhouse: 'ok',
      redis: 'ok',
      event_log: { status: 'ok' },
    });
  });

  it('seeded the prefecture and its 29 municipalities, wired to the sandbox, secrets hidden', async () => {
    const res = await api('/api/v1/tenants');
    expect(res.status).toBe(200);
    const { tenants } = (await res.json()) as { tenants: Array<Record<string, unknown>> };
    expect(tenants).toHaveLength(30);
    expect(tenants.filter((t) => t.kind === 'prefecture').map((t) => t.id)).toEqual(['24000']);
    expect(tenants.every((t) => t.lineApi === 'sandbox' && t.hasCredentials === true)).toBe(true);
    expect(tenants.find((t) => t.id === '24201')).toMatchObject({
      name: '津市',
      kind: 'municipality',
      population: 274500,
    });
    const text = JSON.stringify(tenants);
    const creds = await suite.tenants.credentials('24201');
    expect(text).not.toContain(creds.channelSecret);
    expect(text).not.toContain(creds.channelAccessToken);
    expect(text).not.toMatch(/secret_enc|token_enc|v1:/);
  });

  it('wires the demo tenants to the running sandbox, reached through @line/bot-sdk', async () => {
    expect(suite.sandbox).toBeDefined();
    expect(suite.sandbox!.config.channels).toHaveLength(30);
    const creds = await suite.tenants.credentials('24201');
    const line = lineClients(creds, { line: 'https://api.line.me', sandbox: suite.sandbox!.url });
    expect(line.baseURL).toBe(suite.sandbox!.url);
    const info = await line.messaging.getBotInfo();
    expect(info.userId).toBe(creds.botUserId);
    // residents sized from the population: Tsu (274,500) has more than Kiho (10,700)
    const size = (code: string) =>
      suite.sandbox!.config.channels.find((c) => c.channelId === sandboxIdentity(code).channelId)!.residents.count;
    expect(size('24201')).toBeGreaterThan(size('24562'));
  });

  it('backfills Insight followers through the API, equal to what the sandbox reports', async () => {
    const start = JSON.parse(fs.readFileSync(path.join(h.dir, 'sandbox.json'), 'utf8')) as { start: string };
    const iso = (msBack: number) =>
      new Date(Date.parse(start.start) + 9 * 3_600_000 - msBack).toISOString().slice(0, 10);
    const from = iso(10 * 86_400_000);
    const to = iso(8 * 86_400_000);
    const res = await api('/api/v1/insight/backfill', {
      method: 'POST',
      body: JSON.stringify({ tenant: '24201', from, to }),
    });
    expect(res.status).toBe(202);
    const days = await waitFor(
      async () => {
        const r = (await (await api(`/api/v1/insight/followers?tenant=24201&from=${from}&to=${to}`)).json()) as {
          days: Array<Record<string, unknown>>;
        };
        return r.days.length === 3 ? r.days : undefined;
      },
      60_000,
      'three stored days',
    );
    const creds = await suite.tenants.credentials('24201');
    const line = lineClients(creds, { line: 'https://api.line.me', sandbox: suite.sandbox!.url });
    for (const d of days) {
      const live = await line.insight.getNumberOfFollowers(String(d.day).replaceAll('-', ''));
      expect(d.status).toBe('ready');
      expect({ followers: d.followers, targetedReaches: d.targetedReaches, blocks: d.blocks }).toEqual({
        followers: live.followers ?? null,
        targetedReaches: live.targetedReaches ?? null,
        blocks: live.blocks ?? null,
      });
    }
  });

  it('keeps a municipality account to its own tenant on the Insight routes too', async () => {
    const created = await api('/api/v1/users', {
      method: 'POST',
      body: JSON.stringify({
        username: 'tsu-staff',
        role: 'municipality',
        tenantId: '24201',
        password: 'a-long-passphrase-for-tsu',
        permissions: ['deliver', 'manage_reports'],
      }),
    });
    expect(created.status).toBe(201);
    const { token } = (await (await api('/api/v1/users/tsu-staff/tokens', { method: 'POST', body: '{}' })).json()) as {
      token: string;
    };
    const asTsu = (p: string, init: RequestInit = {}) =>
      fetch(suite.url + p, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    expect((await asTsu('/api/v1/insight/followers?tenant=24201&from=2026-01-01&to=2026-01-02')).status).toBe(200);
    const other = await asTsu('/api/v1/insight/followers?tenant=24202&from=2026-01-01&to=2026-01-02');
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: { code: 'forbidden_tenant' } });
    const backfillOther = await asTsu('/api/v1/insight/backfill', {
      method: 'POST',
      body: JSON.stringify({ tenant: '24202', from: '2026-01-01', to: '2026-01-02' }),
    });
    expect(backfillOther.status).toBe(403);
    const backfillAll = await asTsu('/api/v1/insight/backfill', {
      method: 'POST',
      body: JSON.stringify({ tenant: 'all', from: '2026-01-01', to: '2026-01-02' }),
    });
    expect(backfillAll.status).toBe(403);
  });

  it('refuses API calls without the token, and bad input with a code and a Japanese message', async () => {
    const anon = await fetch(`${suite.url}/api/v1/tenants`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const badJson = await api('/api/v1/tenants', { method: 'POST', body: '{"id": ' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({
      error: { code: 'invalid_json', message: expect.stringMatching(/JSON/) },
    });

    const bad = await api('/api/v1/tenants', {
      method: 'POST',
      body: JSON.stringify({ id: 'abc', name: '', kind: 'village' }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message: string; details: Array<{ field: string }> } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.details.map((d) => d.field).sort()).toEqual(['id', 'kind', 'name']);

    const dup = await api('/api/v1/tenants', {
      method: 'POST',
      body: JSON.stringify({ id: '24201', name: '津市', kind: 'municipality' }),
    });
    expect(dup.status).toBe(409);
    expect(await dup.json()).toMatchObject({ error: { code: 'tenant_exists' } });

    const missing = await api('/api/v1/tenants/24999');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'tenant_not_found' } });

    expect((await api('/api/v1/tenants')).status).toBe(200);
  });

  it('lets the CLI work through the running suite while it holds the data directory', async () => {
    const env = testEnv(h.dir);
    let r = await runCli(['tenants', 'list'], { env });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('30 件');
    r = await runCli(['tenants', 'add', '--id', '24999', '--name', '試験町', '--kind', 'municipality'], { env });
    expect(r.code).toBe(0);
    expect((await suite.tenants.get('24999'))?.name).toBe('試験町');
    r = await runCli(['tenants', 'set-credentials', '--id', '24999', '--sandbox'], { env, input: 'sec-1\ntok-1\n' });
    expect(r.code).toBe(0);
    expect((await suite.tenants.credentials('24999')).channelSecret).toBe('sec-1');
  });

  it('says plainly that the suite holds the directory when the CLI cannot reach it', async () => {
    const state = path.join(h.dir, 'suite.json');
    const saved = fs.readFileSync(state);
    fs.rmSync(state);
    try {
      const r = await runCli(['tenants', 'list'], { env: testEnv(h.dir) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/実行中の Tayori \(pid \d+\) が使用しています/);
      expect(r.stderr).not.toContain('DB::Exception');
    } finally {
      fs.writeFileSync(state, saved, { mode: 0o600 });
    }
  });

  it('reports Redis as failing on /readyz when it stops answering', async () => {
    await suite.redis.disconnect();
    const res = await fetch(`${suite.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as Record<string, string>;
    expect(body.clickhouse).toBe('ok');
    expect(body.redis).toMatch(/^error/);
    await suite.redis.connect();
    expect((await fetch(`${suite.url}/readyz`)).status).toBe(200);
  });
});
