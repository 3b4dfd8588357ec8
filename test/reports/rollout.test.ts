import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import ExcelJS from 'exceljs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { addDays, chDateTime, nextVersion, tokyoToday } from '../../core/time.ts';
import { buildFinalReport } from '../../reports/documents/index.ts';
import { kpiXlsx } from '../../reports/documents/kpi-xlsx.ts';
import { readMonthly } from '../../reports/documents/sources.ts';
import { ReportStore } from '../../reports/index.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';
import { docxText } from '../helpers/report-documents-fixtures.ts';

// 業務工程表: the board from Tayori's records and the contractor's entries, lateness, its history and
// audit, who may enter, the Excel sheet and the final report's section, and the page in Chromium.
let h: Harness;
let suite: Suite;
let browser: Browser | undefined;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);
const today = tokyoToday();
const daysAgo = (n: number) => addDays(today, -n);
const ms = (day: string, hour = 10) => Date.parse(`${day}T00:00:00Z`) - 9 * 3600_000 + hour * 3600_000;

type Step = {
  key: string;
  plannedOn: string | null;
  actualOn: string | null;
  actualSource: string | null;
  recorded: boolean;
  status: string;
  daysLate: number;
  version: number;
};
type Board = { asOf: string; rows: Array<{ tenantId: string; name: string; steps: Step[]; lateSteps: number }> };
const stepOf = (b: Board, tenant: string, key: string) =>
  b.rows.find((r) => r.tenantId === tenant)!.steps.find((s) => s.key === key)!;

async function call(
  cookieOrToken: { token?: string; cookie?: string; csrf?: string },
  method: string,
  p: string,
  body?: unknown,
) {
  const res = await fetch(suite.url + p, {
    method,
    headers: {
      ...(cookieOrToken.token ? { authorization: `Bearer ${cookieOrToken.token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A personal API token of a new staff account. */
async function staffToken(u: Record<string, unknown>): Promise<string> {
  const made = await op('POST', '/api/v1/users', u);
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const t = await op('POST', `/api/v1/users/${u.username as string}/tokens`, { label: 'test' });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
  return t.body.token as string;
}

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_SANDBOX: 'off' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  // Tayori's own records for 津市: a rich menu applied, a mileage programme, a first delivery (and a test one before it)
  const ch = suite.ch;
  await ch.insert({
    table: 'delivery_rich_menus',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: '24201',
        rich_menu_id: 'richmenu-1',
        news_url: '',
        contact_url: '',
        applied_at: chDateTime(ms(daysAgo(50))),
        version: nextVersion(),
      },
    ],
  });
  // 四日市市's menu published from the rich menu editor (a draft of 津市's is not applied)
  const version = (tenant: string, status: string, published: string | null) => ({
    tenant_id: tenant,
    menu_id: `menu-${tenant}`,
    version_no: 1,
    design: '{}',
    status,
    line_rich_menu_id: published ? 'richmenu-2' : '',
    created_by: 'test',
    created_at: chDateTime(ms(daysAgo(35))),
    published_at: published ? chDateTime(ms(published)) : null,
    row_version: nextVersion(),
  });
  await ch.insert({
    table: 'delivery_rich_menu_versions',
    format: 'JSONEachRow',
    values: [version('24202', 'published', daysAgo(30)), version('24203', 'draft', null)],
  });
  await ch.insert({
    table: 'mileage_programmes',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: '24201',
        programme_id: '5b0f0d3e-8a51-4c4e-9d55-0d6a1a1a0001',
        fiscal_year: 2026,
        name: '津市健康マイレージ',
        description: '',
        starts_on: daysAgo(30),
        ends_on: addDays(today, 100),
        goal_points: 100,
        card_valid_months: 12,
        created_by: 'test',
        created_at: chDateTime(ms(daysAgo(40))),
        updated_by: 'test',
        updated_at: chDateTime(ms(daysAgo(40))),
        version: nextVersion(),
        is_deleted: 0,
      },
    ],
  });
  const delivery = (id: string, kind: string, day: string) => ({
    tenant_id: '24201',
    delivery_id: id,
    kind,
    title: 'お知らせ',
    messages: '[]',
    audience: '{"type":"all"}',
    audience_label: 'すべての友だち',
    notification_disabled: 0,
    aggregation_unit: '',
    status: 'done',
    scheduled_at: null,
    started_at: chDateTime(ms(day)),
    finished_at: chDateTime(ms(day) + 1000),
    targets: 10,
    batches: 1,
    accepted: 10,
    failed: 0,
    error: '',
    created_at: chDateTime(ms(day)),
    updated_at: chDateTime(ms(day)),
    version: nextVersion(),
    is_deleted: 0,
  });
  await ch.insert({
    table: 'deliveries',
    format: 'JSONEachRow',
    values: [delivery('dtest00000001', 'test', daysAgo(25)), delivery('dfirst0000001', 'normal', daysAgo(20))],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
}, 120_000);

describe('業務工程表', () => {
  it('takes the actual dates Tayori records from its records, and marks late steps', async () => {
    // planned: rich menu 55 days ago (done 50 days ago: late by 5), training 10 days ago (not done: late by 10),
    // launch 15 days ago (done 20 days ago: on time); 四日市市 trained as planned
    const plan = async (tenant: string, step: string, body: Record<string, unknown>) => {
      const r = await op('PUT', `/api/v1/rollout/${tenant}/steps/${step}`, {
        plannedOn: null,
        actualOn: null,
        ...body,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.step as Step;
    };
    await plan('24201', 'rich_menu', { plannedOn: daysAgo(55) });
    await plan('24201', 'staff_trained', { plannedOn: daysAgo(10), note: '研修会場の調整中' });
    await plan('24201', 'launched', { plannedOn: daysAgo(15) });
    await plan('24201', 'account_opened', { plannedOn: daysAgo(90), actualOn: daysAgo(92) });
    await plan('24202', 'staff_trained', { plannedOn: daysAgo(10), actualOn: daysAgo(10) });
    await plan('24202', 'mileage', { plannedOn: addDays(today, 30) });

    const b = (await op<Board>('GET', '/api/v1/rollout')).body;
    expect(b.asOf).toBe(today);
    expect(b.rows).toHaveLength(29);
    expect(stepOf(b, '24201', 'rich_menu')).toMatchObject({
      plannedOn: daysAgo(55),
      actualOn: daysAgo(50),
      actualSource: 'record',
      status: 'done_late',
      daysLate: 5,
    });
    expect(stepOf(b, '24201', 'mileage')).toMatchObject({
      actualOn: daysAgo(40),
      actualSource: 'record',
      status: 'done',
    });
    // the first delivery that is not a test
    expect(stepOf(b, '24201', 'launched')).toMatchObject({ actualOn: daysAgo(20), status: 'done', daysLate: 0 });
    expect(stepOf(b, '24201', 'staff_trained')).toMatchObject({ actualOn: null, status: 'late', daysLate: 10 });
    expect(stepOf(b, '24201', 'account_opened')).toMatchObject({ actualOn: daysAgo(92), actualSource: 'entered' });
    // credentials registered when the demo's tenants were seeded (today)
    expect(stepOf(b, '24201', 'credentials')).toMatchObject({ actualOn: today, actualSource: 'record' });
    expect(b.rows.find((r) => r.tenantId === '24201')!.lateSteps).toBe(2);
    expect(stepOf(b, '24202', 'staff_trained').status).toBe('done');
    expect(stepOf(b, '24202', 'mileage').status).toBe('planned');
    expect(stepOf(b, '24203', 'staff_trained').status).toBe('unplanned');
    expect(stepOf(b, '24202', 'rich_menu')).toMatchObject({ actualOn: daysAgo(30), actualSource: 'record' });
    expect(stepOf(b, '24203', 'rich_menu')).toMatchObject({ actualOn: null, recorded: false });
    // as of an earlier day the training is not late yet
    const earlier = (await op<Board>('GET', `/api/v1/rollout?asOf=${daysAgo(12)}`)).body;
    expect(stepOf(earlier, '24201', 'staff_trained').status).toBe('planned');
  });

  it('refuses bad input in Japanese, an actual date Tayori records, and a stale version; keeps history and audit', async () => {
    const bad = await op('PUT', '/api/v1/rollout/24201/steps/staff_trained', {
      plannedOn: '2026-02-30',
      actualOn: null,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_rollout');
    expect(JSON.stringify(bad.body)).toContain('実在する日付');
    const asOf = await op('GET', '/api/v1/rollout?asOf=2026-13-01');
    expect(asOf.status).toBe(400);
    expect(asOf.body.error.code).toBe('invalid_query');
    const extra = await op('PUT', '/api/v1/rollout/24201/steps/staff_trained', {
      plannedOn: null,
      actualOn: null,
      by: 'x',
    });
    expect(extra.status).toBe(400);
    const step = await op('PUT', '/api/v1/rollout/24201/steps/kickoff', { plannedOn: null, actualOn: null });
    expect(step.status).toBe(400);
    expect(step.body.error.code).toBe('invalid_step');
    const recorded = await op('PUT', '/api/v1/rollout/24201/steps/rich_menu', {
      plannedOn: daysAgo(55),
      actualOn: daysAgo(49),
    });
    expect(recorded.status).toBe(400);
    expect(recorded.body.error.code).toBe('rollout_recorded');
    expect(recorded.body.error.message).toContain('Tayori の記録');
    const prefecture = await op('PUT', '/api/v1/rollout/24000/steps/staff_trained', {
      plannedOn: today,
      actualOn: null,
    });
    expect(prefecture.status).toBe(400);
    const board = (await op<Board>('GET', '/api/v1/rollout')).body;
    const v = stepOf(board, '24201', 'staff_trained').version;
    const stale = await op('PUT', '/api/v1/rollout/24201/steps/staff_trained', {
      plannedOn: daysAgo(10),
      actualOn: daysAgo(1),
      version: v - 1,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('rollout_conflict');
    // nothing half-done: the refused changes left the step as it was
    expect(stepOf((await op<Board>('GET', '/api/v1/rollout')).body, '24201', 'staff_trained').version).toBe(v);

    const hist = (await op('GET', '/api/v1/rollout/24201/history')).body.history as Array<{
      step: string;
      action: string;
      changes: Array<{ field: string; label: string; to: unknown }>;
    }>;
    const trained = hist.filter((e) => e.step === 'staff_trained');
    expect(trained).toHaveLength(1);
    expect(trained[0]!.action).toBe('created');
    expect(trained[0]!.changes).toContainEqual({ field: 'plannedOn', label: '予定日', from: null, to: daysAgo(10) });
    const audit = await suite.ch.query({
      query: "SELECT target, tenant_id FROM audit_log WHERE action = 'rollout.step_set' ORDER BY at",
      format: 'JSONEachRow',
    });
    const rows = (await audit.json()) as Array<{ target: string; tenant_id: string }>;
    expect(rows.filter((r) => r.tenant_id === '24201').map((r) => r.target)).toEqual([
      'rich_menu',
      'staff_trained',
      'launched',
      'account_opened',
    ]);
  });

  it('shows a municipality its own row only and lets only the contractor enter dates', async () => {
    const tsu = await staffToken({
      username: 'tsu-rollout',
      displayName: '津市 担当者',
      role: 'municipality',
      tenantId: '24201',
      password: 'municipal-pass-1',
      permissions: ['deliver', 'manage_reports'],
    });
    const pref = await staffToken({
      username: 'pref-rollout',
      displayName: '県 担当者',
      role: 'prefecture',
      password: 'prefecture-pass-1',
    });
    const own = await call({ token: tsu }, 'GET', '/api/v1/rollout');
    expect(own.status).toBe(200);
    expect(own.body.rows.map((r: { tenantId: string }) => r.tenantId)).toEqual(['24201']);
    expect((await call({ token: tsu }, 'GET', '/api/v1/rollout/24202/history')).status).toBe(403);
    const tsuPut = await call({ token: tsu }, 'PUT', '/api/v1/rollout/24201/steps/staff_trained', {
      plannedOn: today,
      actualOn: null,
    });
    expect(tsuPut.status).toBe(403);
    expect(tsuPut.body.error.message).toContain('受託者');
    const prefPut = await call({ token: pref }, 'PUT', '/api/v1/rollout/24201/steps/staff_trained', {
      plannedOn: today,
      actualOn: null,
    });
    expect(prefPut.status).toBe(403);
    expect((await call({ token: pref }, 'GET', '/api/v1/rollout')).body.rows).toHaveLength(29);
    expect((await call({}, 'GET', '/api/v1/rollout')).status).toBe(401);
  });

  it('is a sheet of the KPI report and of the final report, and the final report’s 実施状況 uses it', async () => {
    const src = { ch: suite.ch, tenants: suite.tenants, store: new ReportStore(suite.ch) };
    const month = today.slice(0, 7);
    const s = await readMonthly(src, month);
    const header = { title: '月次KPI報告書', subtitle: '', due: '', generated: '', parties: '' };
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await kpiXlsx(s, header as never, [], new Date())) as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('業務工程表')!;
    expect(ws).toBeDefined();
    const rows = (ws.getSheetValues() as unknown[][]).filter(Boolean).map((r) => r.slice(1));
    const training = rows.find((r) => r[0] === '津市' && r[1] === '職員研修')!;
    expect(training[2]).toEqual(new Date(`${daysAgo(10)}T00:00:00Z`));
    expect(training[3] ?? null).toBeNull();
    expect(training[5]).toBe('⚠ 遅延');
    expect(training[6]).toBe(10);
    const menu = rows.find((r) => r[0] === '津市' && r[1] === 'リッチメニューの設定')!;
    expect(menu[3]).toEqual(new Date(`${daysAgo(50)}T00:00:00Z`));
    expect(menu[4]).toBe('Tayori の記録');
    expect(menu[5]).toBe('⚠ 完了 (遅延)');
    const other = rows.find((r) => r[0] === '四日市市' && r[1] === '職員研修')!;
    expect(other[5]).toBe('完了');
    // late cells are bold, not only coloured
    const row = ws
      .getRows(1, ws.rowCount)!
      .find((r) => r.getCell(1).value === '津市' && r.getCell(2).value === '職員研修')!;
    expect(row.getCell(6).font?.bold).toBe(true);

    const files = await buildFinalReport(src, { from: month, to: month });
    const docx = docxText(files.find((f) => f.kind === 'final-docx')!.bytes);
    const section = docx.slice(docx.indexOf('7. 業務の実施状況'));
    expect(section).toContain('7.1 業務工程表');
    expect(section).toContain('予定日を過ぎて完了していない工程が');
    expect(section).toContain('遅延 10日');
    const fx = new ExcelJS.Workbook();
    await fx.xlsx.load(files.find((f) => f.kind === 'final-xlsx')!.bytes as unknown as ArrayBuffer);
    expect(fx.getWorksheet('業務工程表')).toBeDefined();
  }, 120_000);

  it('is a page: the board with late steps in words, and the contractor enters a date that shows', async () => {
    expect(
      (
        await op('POST', '/api/v1/users', {
          username: 'itaku-rollout',
          displayName: '受託者 工程担当',
          role: 'contractor',
          password: 'contractor-pass-1',
        })
      ).status,
    ).toBe(201);
    browser = await launchChromium();
    const page = await signedInPage(browser, suite.url, 'itaku-rollout', 'contractor-pass-1');
    await page.goto(`${suite.url}/rollout`);
    expect(await page.locator('h1').textContent()).toBe('業務工程表');
    const cell = page.locator('tr[data-tenant="24201"] td[data-step="staff_trained"]');
    expect(await cell.textContent()).toContain('遅延 10日');
    expect(await page.locator('tr[data-tenant="24201"] th').textContent()).toContain('遅延 2 件');
    expect(await page.locator('tr[data-tenant="24201"] td[data-step="rich_menu"]').textContent()).toContain(
      'Tayori の記録',
    );
    // enter the training as done yesterday
    await page.selectOption('#r-tenant', '24201');
    await page.selectOption('#r-step', 'staff_trained');
    expect(await page.inputValue('#r-plannedOn')).toBe(daysAgo(10));
    await page.fill('#r-actualOn', daysAgo(1));
    await Promise.all([page.waitForNavigation(), page.click('#rollout-form button[type=submit]')]);
    const after = page.locator('tr[data-tenant="24201"] td[data-step="staff_trained"]');
    expect(await after.textContent()).toContain('完了 (遅延) 9日');
    expect(await after.textContent()).toContain('受託者の入力');
    // a recorded step's actual date cannot be typed
    await page.selectOption('#r-step', 'rich_menu');
    expect(await page.isDisabled('#r-actualOn')).toBe(true);
    // the history of 津市's changes
    await page.selectOption('#r-history-tenant', '24201');
    await page.waitForSelector('#rollout-history li');
    expect(await page.locator('#rollout-history').textContent()).toContain('職員研修');
    await page.screenshot({ path: path.join(shots, 'rollout.png'), fullPage: true });
    const axe = async (p: typeof page) =>
      (
        await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
      ).violations.map(
        (v) =>
          `${v.id}: ${v.help} — ${v.nodes
            .map((n) => n.target.join(' '))
            .slice(0, 3)
            .join(' | ')}`,
      );
    expect(await axe(page)).toEqual([]);

    // a municipality reads its own row, without the form
    expect(
      (
        await op('POST', '/api/v1/users', {
          username: 'tsu-rollout-page',
          displayName: '津市 閲覧',
          role: 'municipality',
          tenantId: '24201',
          password: 'municipal-pass-2',
        })
      ).status,
    ).toBe(201);
    const mine = await signedInPage(browser, suite.url, 'tsu-rollout-page', 'municipal-pass-2');
    await mine.goto(`${suite.url}/rollout`);
    expect(await mine.locator('#rollout-board tbody tr').count()).toBe(1);
    expect(await mine.locator('#rollout-form').count()).toBe(0);
    expect(await axe(mine)).toEqual([]);
  }, 120_000);
});
