/**
 * Issue 13, "audit that cannot be sidestepped", against the suite in this process (its sandbox
 * small): every way of sending (POST send now, PUT a draft with send now, POST …/send, schedule,
 * reschedule, cancel, test-send) and every export leaves exactly one audit record with the caller
 * who did it — also through percent-encoded paths (`/%61pi/v1/…`, `…/2420%31/…`), which the old
 * URL-matching hook missed. When the audit store refuses the record (its ClickHouse insert made to
 * reject), the caller gets 503 `audit_unavailable` and nothing is sent, scheduled or downloaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { createLogger } from '../../core/logger.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
const TENANT = '24201';
const DEVICE = `U${'ab'.repeat(16)}`;
let suite: Suite;
let staff: { call: (method: string, p: string, body?: unknown) => Promise<Response> };
let channelId = '';

const op = (method: string, p: string, body?: unknown) =>
  fetch(suite.url + p, {
    method,
    headers: {
      authorization: `Bearer ${suite.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** A staff session (cookie + CSRF token) as the dashboard's pages use it. */
async function signIn(username: string, password: string) {
  const res = await fetch(`${suite.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return {
    call: (method: string, p: string, body?: unknown) =>
      fetch(suite.url + p, {
        method,
        redirect: 'manual',
        headers: {
          cookie,
          'x-csrf-token': csrfToken,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}

interface AuditRow {
  action: string;
  username: string;
  tenant_id: string;
  target: string;
  detail: string;
}

async function auditRows(where: { target?: string; action?: string } = {}): Promise<AuditRow[]> {
  const rs = await suite.ch.query({
    query: `SELECT action, username, tenant_id, target, detail FROM audit_log
            WHERE ({t:String} = '' OR target = {t:String}) AND ({a:String} = '' OR action = {a:String})
            ORDER BY at, event_id`,
    query_params: { t: where.target ?? '', a: where.action ?? '' },
    format: 'JSONEachRow',
  });
  return rs.json<AuditRow>();
}

/** Audit records of the sends (not the reads) about one delivery. */
const sendRecords = async (id: string) =>
  (await auditRows({ target: id })).filter((r) => /^(send|send_scheduled|send_cancelled|test_send)$/.test(r.action));

/** How many audit records exist now (exports are counted by the difference). */
async function auditCount(action: string): Promise<number> {
  return (await auditRows({ action })).length;
}

const message = (title: string, extra: Record<string, unknown> = {}) => ({
  title,
  messages: [{ type: 'text', text: `${title} のお知らせ` }],
  ...extra,
});
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** How many sends the sandbox accepted for the channel (what LINE would have delivered). */
async function sentCount(): Promise<number> {
  const res = await fetch(`${suite.sandbox!.url}/__sandbox/requests?channelId=${channelId}&limit=100000`);
  return ((await res.json()) as { requests: unknown[] }).requests.length;
}

/** Waits until no delivery of the tenant is queued or sending. */
async function settle(): Promise<void> {
  const res = await op('GET', `/api/v1/tenants/${TENANT}/deliveries?tests=1`);
  const { deliveries } = (await res.json()) as { deliveries: Array<{ id: string; status: string }> };
  for (const d of deliveries)
    if (d.status === 'queued' || d.status === 'sending') await suite.delivery.waitFinished(TENANT, d.id, 60_000);
}

/** Makes the audit store's ClickHouse insert reject while `fn` runs. */
async function withAuditDown<T>(ch: ClickHouseClient, fn: () => Promise<T>): Promise<T> {
  const original = ch.insert.bind(ch);
  (ch as { insert: unknown }).insert = (args: { table: string }) =>
    args.table === 'audit_log' ? Promise.reject(new Error('audit store down (test)')) : original(args as never);
  try {
    return await fn();
  } finally {
    (ch as { insert: unknown }).insert = original;
  }
}

beforeAll(async () => {
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  for (const u of [
    {
      username: 'tsu-ops',
      role: 'municipality',
      tenantId: TENANT,
      password: 'municipal-pass-1',
      permissions: ['deliver', 'export_residents'],
    },
    { username: 'ken-view', role: 'prefecture', password: 'prefecture-pass-1' },
  ]) {
    const res = await op('POST', '/api/v1/users', u);
    expect(res.status, await res.clone().text()).toBe(201);
  }
  staff = await signIn('tsu-ops', 'municipal-pass-1');
  expect((await staff.call('POST', `/api/v1/tenants/${TENANT}/test-devices`, { userId: DEVICE })).status).toBe(201);
  channelId = (await suite.tenants.require(TENANT)).channelId;
}, 180_000);

afterAll(async () => {
  await h?.close();
});

describe('every send path leaves exactly one audit record, by the caller', () => {
  const base = `/api/v1/tenants/${TENANT}/deliveries`;

  it('POST with send now', async () => {
    const res = await staff.call('POST', base, message('今すぐ配信', { send: 'now' }));
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const rows = await sendRecords(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'send', username: 'tsu-ops', tenant_id: TENANT });
    expect(JSON.parse(rows[0]!.detail)).toMatchObject({ title: '今すぐ配信', audience: 'all' });
  });

  it('a draft is saved (delivery_saved), no send; PUT of the draft with send now is one', async () => {
    const draft = await staff.call('POST', base, message('下書きから配信'));
    expect(draft.status).toBe(201);
    const { id } = (await draft.json()) as { id: string };
    expect(await sendRecords(id)).toHaveLength(0);
    expect((await auditRows({ target: id })).map((r) => r.action)).toEqual(['delivery_saved']);
    const put = await staff.call('PUT', `${base}/${id}`, message('下書きから配信', { send: 'now' }));
    expect(put.status, await put.clone().text()).toBe(200);
    expect((await sendRecords(id)).map((r) => r.action)).toEqual(['send']);
  });

  it('POST …/:id/send of a draft', async () => {
    const { id } = (await (await staff.call('POST', base, message('あとで送信'))).json()) as { id: string };
    expect((await staff.call('POST', `${base}/${id}/send`)).status).toBe(200);
    expect((await sendRecords(id)).map((r) => r.action)).toEqual(['send']);
  });

  it('schedule, reschedule and cancel: one record each', async () => {
    const res = await staff.call('POST', base, message('予約配信', { send: 'schedule', scheduledAt: inAnHour() }));
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await sendRecords(id)).map((r) => r.action)).toEqual(['send_scheduled']);
    const later = new Date(Date.now() + 2 * 3_600_000).toISOString();
    expect((await staff.call('POST', `${base}/${id}/schedule`, { scheduledAt: later })).status).toBe(200);
    const after = await sendRecords(id);
    expect(after.map((r) => r.action)).toEqual(['send_scheduled', 'send_scheduled']);
    expect(JSON.parse(after[1]!.detail)).toHaveProperty('rescheduledFrom');
    expect((await staff.call('POST', `${base}/${id}/cancel`)).status).toBe(200);
    expect((await sendRecords(id)).map((r) => r.action)).toEqual([
      'send_scheduled',
      'send_scheduled',
      'send_cancelled',
    ]);
  });

  it('test-send', async () => {
    const res = await staff.call('POST', `${base}/test-send`, message('テスト送信'));
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const rows = await sendRecords(id);
    expect(rows.map((r) => [r.action, r.username])).toEqual([['test_send', 'tsu-ops']]);
  });

  it('through percent-encoded paths (/%61pi/v1/…, …/2420%31/…) too', async () => {
    for (const path of [
      `/%61pi/v1/tenants/${TENANT}/deliveries`,
      `/api/v1/tenants/2420%31/deliveries`,
      `/api/v1/tenants/${TENANT}/%64eliveries`,
    ]) {
      const res = await staff.call('POST', path, message(`符号化 ${path}`, { send: 'now' }));
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
      const { id, tenantId } = (await res.json()) as { id: string; tenantId: string };
      expect(tenantId).toBe(TENANT);
      expect(
        (await sendRecords(id)).map((r) => r.action),
        path,
      ).toEqual(['send']);
    }
  });
});

describe('every export leaves exactly one audit record', () => {
  const exports: Array<[string, string]> = [
    ['delivery list CSV', `/api/v1/tenants/${TENANT}/deliveries.csv`],
    ['delivery list CSV, encoded tenant', `/api/v1/tenants/2420%31/deliveries.csv`],
    ['delivery list CSV, encoded /api', `/%61pi/v1/tenants/${TENANT}/deliveries.csv`],
    ['prefecture-wide delivery list CSV', '/api/v1/deliveries.csv'],
    ['prefecture-wide list, encoded', '/%61pi/v1/deliveries.csv'],
    ['residents CSV', `/api/v1/tenants/${TENANT}/residents.csv`],
    ['residents CSV, encoded tenant', `/api/v1/tenants/2420%31/residents.csv`],
    ['overview CSV', '/api/v1/dashboard/overview.csv'],
    ['overview Excel', '/api/v1/dashboard/overview.xlsx'],
  ];
  for (const [what, path] of exports) {
    it(what, async () => {
      const who = path.includes('overview') ? await signIn('ken-view', 'prefecture-pass-1') : staff;
      const before = await auditCount('export');
      const res = await who.call('GET', path);
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      await res.arrayBuffer();
      const rows = await auditRows({ action: 'export' });
      expect(rows.length - before, path).toBe(1);
      expect(rows.at(-1)!.username).toBe(path.includes('overview') ? 'ken-view' : 'tsu-ops');
    });
  }

  it("a resident's registered attributes (a per-resident lookup)", async () => {
    const user = `U${'cd'.repeat(16)}`;
    const res = await staff.call('GET', `/api/v1/tenants/2420%31/residents/${user}/attributes`);
    expect(res.status).toBe(200);
    expect((await auditRows({ target: user })).map((r) => [r.action, r.username, r.tenant_id])).toEqual([
      ['resident_lookup', 'tsu-ops', TENANT],
    ]);
  });

  it('the overview CSV neutralises a formula in a tenant name (=cmd|…)', async () => {
    const evil = "=cmd|' /C calc'!A0";
    const add = await op('POST', '/api/v1/tenants', { id: '24999', name: evil, kind: 'municipality' });
    expect(add.status, await add.clone().text()).toBe(201);
    const bytes = Buffer.from(await (await op('GET', '/api/v1/dashboard/overview.csv')).arrayBuffer());
    expect(bytes.subarray(0, 3).toString('hex')).toBe('efbbbf');
    const csv = bytes.toString('utf8');
    expect(csv).toContain(`"'=cmd|' /C calc'!A0"`);
    expect(csv).not.toMatch(/(^|,)=cmd/m);
    // the tenant's creation is audited too
    expect((await auditRows({ target: '24999' })).map((r) => r.action)).toEqual(['tenant_added']);
  });

  it('a report file download, also through /%61pi/…', async () => {
    const [saved] = await suite.reports.files.save({
      scope: 'monthly',
      period: '2026-10',
      createdBy: 'operator',
      files: [
        {
          kind: 'kpi-xlsx',
          title: '月次KPI報告書 (Excel)',
          fileName: '2026-10_月次KPI報告書.xlsx',
          mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          bytes: Buffer.from('kpi'),
        },
      ],
    });
    const ken = await signIn('ken-view', 'prefecture-pass-1');
    for (const path of [`/api/v1/reports/files/${saved!.id}`, `/%61pi/v1/reports/files/${saved!.id}`]) {
      const before = await auditCount('export');
      const res = await ken.call('GET', path);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
      const rows = await auditRows({ action: 'export' });
      expect(rows.length - before, path).toBe(1);
      expect(rows.at(-1)).toMatchObject({ username: 'ken-view', target: '2026-10_月次KPI報告書.xlsx' });
    }
    await withAuditDown(suite.ch, async () => {
      const res = await ken.call('GET', `/api/v1/reports/files/${saved!.id}`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-disposition')).toBeNull();
    });
  });

  it('applying the rich menu is audited', async () => {
    const res = await staff.call('POST', `/api/v1/tenants/${TENANT}/rich-menu`, {
      newsUrl: 'https://www.city.tsu.mie.jp/',
      contactUrl: 'https://www.city.tsu.mie.jp/contact',
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { richMenu } = (await res.json()) as { richMenu: { richMenuId: string } };
    expect((await auditRows({ target: richMenu.richMenuId })).map((r) => [r.action, r.username])).toEqual([
      ['rich_menu_applied', 'tsu-ops'],
    ]);
  });

  it('a credential change is audited without its secrets', async () => {
    const res = await op('PUT', `/api/v1/tenants/24999/credentials`, {
      channelSecret: 'secret-that-must-not-be-logged',
      channelAccessToken: 'token-that-must-not-be-logged',
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const rows = await auditRows({ target: '24999', action: 'tenant_credentials_changed' });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail).not.toContain('must-not-be-logged');
  });
});

describe('no audit record, no send and no file (503)', () => {
  const base = `/api/v1/tenants/${TENANT}/deliveries`;
  const expect503 = async (res: Response) => {
    expect(res.status, await res.clone().text()).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('audit_unavailable');
    expect(body.error.message).toMatch(/監査記録/);
  };
  const stored = async (title: string) =>
    (
      (await (await op('GET', `${base}?tests=1`)).json()) as { deliveries: Array<{ title: string; status: string }> }
    ).deliveries.filter((d) => d.title === title);

  it('POST send now: 503, nothing stored, nothing reaches LINE', async () => {
    await settle();
    const before = await sentCount();
    await withAuditDown(suite.ch, async () => {
      await expect503(await staff.call('POST', base, message('監査なしの配信', { send: 'now' })));
    });
    expect(await stored('監査なしの配信')).toEqual([]);
    // a delivery sent afterwards (one broadcast) is the only thing that reaches LINE
    const ok = await staff.call('POST', base, message('監査ありの配信', { send: 'now' }));
    const { id } = (await ok.json()) as { id: string };
    expect((await suite.delivery.waitFinished(TENANT, id, 60_000)).status).toBe('done');
    await settle();
    expect((await sentCount()) - before).toBe(1);
  });

  it('PUT a draft with send now, …/send, schedule and test-send: 503, the draft stays a draft', async () => {
    const { id } = (await (await staff.call('POST', base, message('監査なしの下書き'))).json()) as { id: string };
    await withAuditDown(suite.ch, async () => {
      await expect503(await staff.call('PUT', `${base}/${id}`, message('監査なしの下書き', { send: 'now' })));
      await expect503(await staff.call('POST', `${base}/${id}/send`));
      await expect503(await staff.call('POST', `${base}/${id}/schedule`, { scheduledAt: inAnHour() }));
      await expect503(await staff.call('POST', `${base}/test-send`, message('監査なしのテスト')));
    });
    expect((await (await op('GET', `${base}/${id}`)).json()) as { status: string }).toMatchObject({
      status: 'draft',
    });
    expect(await stored('監査なしのテスト')).toEqual([]);
    // and it can still be sent once the audit store is back
    expect((await staff.call('POST', `${base}/${id}/send`)).status).toBe(200);
    expect((await sendRecords(id)).map((r) => r.action)).toEqual(['send']);
  });

  it('exports: 503 and no file', async () => {
    const ken = await signIn('ken-view', 'prefecture-pass-1');
    await withAuditDown(suite.ch, async () => {
      for (const [who, path] of [
        [staff, `${base}.csv`],
        [staff, `/api/v1/tenants/${TENANT}/residents.csv`],
        [staff, '/api/v1/deliveries.csv'],
        [ken, '/api/v1/dashboard/overview.csv'],
        [ken, '/api/v1/dashboard/overview.xlsx'],
      ] as const) {
        const res = await who.call('GET', path);
        expect(res.headers.get('content-disposition'), path).toBeNull();
        await expect503(res);
      }
    });
  });
});
