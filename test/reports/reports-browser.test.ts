import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { MONTH, seedFigures } from '../helpers/dashboard-fixtures.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';

// 帳票 in real Chromium against the suite in this process: reports' own API and jobs (BullMQ on the
// suite's redis-server, the real document builders). Screenshots go to test-artifacts/dashboard/.
let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
let suite: Suite;
let browser: Browser;

const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);

interface FileView {
  id: string;
  scope: string;
  period: string;
  kind: string;
  fileName: string;
  version: number;
  size: number;
  sha256: string;
  dueDateLabel: string | null;
}

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_SANDBOX: 'off' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  await seedFigures(suite.ch);
  for (const u of [
    { username: 'itaku-staff', displayName: '受託者 運用担当', role: 'contractor', password: 'contractor-pass-1' },
    {
      username: 'ken-viewer',
      displayName: '三重県 健康推進課',
      role: 'prefecture',
      password: 'prefecture-pass-1',
      permissions: [],
    },
  ]) {
    expect((await op('POST', '/api/v1/users', u)).status).toBe(201);
  }
  const m = await op<{ id: string; version: number }>('POST', '/api/v1/minutes', {
    heldAt: '2025-06-12T14:00',
    kind: '定例会',
    title: '第3回 定例会',
    tenantIds: ['24000', '24201'],
    decisions: ['7月は熱中症予防の案内を配信する'],
  });
  expect((await op('POST', `/api/v1/minutes/${m.body.id}/approve`, { version: m.body.version })).status).toBe(200);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const signIn = (username: string, password: string) => signedInPage(browser, suite.url, username, password);

/** Records every state and progress text the jobs panel shows, from now on. */
async function recordJobs(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { seen: string[] };
    w.seen = [];
    const box = document.getElementById('report-jobs')!;
    new MutationObserver(() => {
      box
        .querySelectorAll('.job')
        .forEach((j) => w.seen.push(`${j.getAttribute('data-job')}|${j.getAttribute('data-state')}|${j.textContent}`));
    }).observe(box, { childList: true, subtree: true });
  });
}

const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: string[] }).seen);

/** Clicks 作成 on a form and waits for the job it started to end (完了 or 失敗); → the job's id and state. */
async function create(page: Page, form: string): Promise<{ jobId: string; state: string }> {
  const posted = page.waitForResponse(
    (r) => r.url().endsWith('/api/v1/reports/jobs') && r.request().method() === 'POST',
  );
  await page.click(`${form} button[type=submit]`);
  const res = await posted;
  expect(res.status()).toBe(202);
  const { jobId } = (await res.json()) as { jobId: string };
  await page.waitForSelector(`#report-jobs .job[data-job="${jobId}"]`);
  const job = `#report-jobs .job[data-job="${jobId}"]`;
  await page.waitForSelector(`${job}[data-state="completed"], ${job}[data-state="failed"]`, { timeout: 150_000 });
  return { jobId, state: (await page.getAttribute(job, 'data-state'))! };
}

/** Clicks a file's download link: the browser gets the listed name, size and SHA-256, and an OOXML or PDF file. */
async function downloadChecked(page: Page, pkg: string, f: FileView): Promise<void> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click(`${pkg} tr[data-file="${f.id}"] a.download`),
  ]);
  expect(download.suggestedFilename()).toBe(f.fileName);
  const saved = path.join(h.dir, `dl-${f.id}`);
  await download.saveAs(saved);
  const bytes = fs.readFileSync(saved);
  expect(bytes.length).toBe(f.size);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
  expect(bytes.subarray(0, 4).toString('latin1')).toBe(f.kind.endsWith('pdf') ? '%PDF' : 'PK\x03\x04');
}

describe('帳票 in Chromium', () => {
  it('a contractor makes a monthly package, follows its progress, and downloads every file; a second run is a new version', async () => {
    const page = await signIn('itaku-staff', 'contractor-pass-1');
    await page.goto(`${suite.url}/reports`);
    expect(await page.getAttribute('header nav a[href="/reports"]', 'aria-current')).toBe('page');
    await page.waitForSelector('#report-files:not([aria-busy])');

    // a bad period is refused next to its field, in the API's words
    await page.selectOption('#r-from', '2025-06');
    await page.selectOption('#r-to', '2025-04');
    await page.click('#create-final button[type=submit]');
    await page.waitForSelector('#r-from-error:not([hidden])');
    expect(await page.textContent('#r-from-error')).toContain('終了より後です');
    expect(await page.getAttribute('#r-from', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#create-final .form-summary')).toContain(
      '期間の開始 (from) は終了 (to) 以前の年月にしてください',
    );

    // the June package: progress while it runs, then its files
    await recordJobs(page);
    await page.selectOption('#r-month', MONTH);
    const posted = page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/reports/jobs') && r.request().method() === 'POST',
    );
    await page.click('#create-monthly button[type=submit]');
    const { jobId } = (await (await posted).json()) as { jobId: string };
    const job = `#report-jobs .job[data-job="${jobId}"]`;
    await page.waitForSelector(job);
    expect(await page.textContent(job)).toContain('月次帳票 令和7年6月分');
    try {
      await page.waitForSelector(`${job}[data-state="active"]`, { timeout: 60_000 });
      await page.screenshot({ path: path.join(shots, 'reports-01-progress.png'), fullPage: true });
    } catch {
      /* finished between two polls: the states seen are checked below */
    }
    await page.waitForSelector(`${job}[data-state="completed"]`, { timeout: 150_000 });
    const states = (await seen(page)).filter((s) => s.startsWith(`${jobId}|`));
    expect(states.some((s) => /\|(waiting|active)\|/.test(s))).toBe(true);
    expect(states.some((s) => /\|active\|.*\(\d+ \/ \d+\)/.test(s))).toBe(true); // a step with done / total
    expect(await page.textContent(job)).toContain('完了');

    const pkg = `#report-files section.package[data-scope="monthly"][data-period="${MONTH}"]`;
    await page.waitForSelector(`${pkg} tr[data-file]`);
    expect(await page.textContent(`${pkg} h3`)).toContain('令和7年6月分 月次帳票');
    expect(await page.textContent(`${pkg} .due`)).toBe('提出期限 令和7年7月10日');
    const api = (await op<{ files: FileView[] }>('GET', `/api/v1/reports?period=${MONTH}`)).body.files;
    expect(api).toHaveLength(6);
    const rows = await page.$$eval(`${pkg} > .scroll > table > tbody > tr[data-file]`, (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-file'),
        kind: tr.getAttribute('data-kind'),
        label: tr.querySelector('th')!.textContent,
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
      })),
    );
    expect(rows.map((r) => r.kind)).toEqual([
      'minutes-docx',
      'issues-xlsx',
      'kpi-xlsx',
      'kpi-docx',
      'kpi-pdf',
      'ops-xlsx',
    ]);
    expect(rows.map((r) => r.label)).toEqual([
      '議事録 (Word)',
      '課題管理表 (Excel)',
      '実績報告 (Excel)',
      '実績報告 (Word)',
      '実績報告 (PDF)',
      '運用報告 (Excel)',
    ]);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(api.map((f) => f.id)));
    for (const r of rows) expect(r.cells[1]).toBe('第1版');
    expect(await page.$$(`${pkg} tr.highlight`)).toHaveLength(6); // the files this job just made
    await page.screenshot({ path: path.join(shots, 'reports-02-package.png'), fullPage: true });

    // every file downloads with the name and checksum the list gives
    for (const f of api) await downloadChecked(page, pkg, f);

    // made again: version 2 on top, version 1 behind 「以前の版」
    expect((await create(page, '#create-monthly')).state).toBe('completed');
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent?.includes('第2版'),
      `${pkg} tr[data-kind="kpi-pdf"]`,
    );
    const older = `${pkg} tr.older-row[data-kind="kpi-pdf"] details`;
    expect(await page.isVisible(`${older} table`)).toBe(false);
    await page.click(`${older} summary`);
    expect(await page.textContent(`${older} summary`)).toBe('実績報告 (PDF) の以前の版 (1件)');
    const v1 = api.find((f) => f.kind === 'kpi-pdf')!;
    expect(await page.textContent(`${older} tr[data-file="${v1.id}"]`)).toContain('第1版');
    expect(await page.getAttribute(`${older} tr[data-file="${v1.id}"] a.download`, 'href')).toBe(
      `/api/v1/reports/files/${v1.id}`,
    );
    await page.context().close();
  }, 400_000);

  it('makes the final report for a period', async () => {
    const page = await signIn('itaku-staff', 'contractor-pass-1');
    await page.goto(`${suite.url}/reports`);
    await page.selectOption('#r-from', '2025-04');
    await page.selectOption('#r-to', MONTH);
    const { jobId, state } = await create(page, '#create-final');
    expect(state, (await op<{ error?: string }>('GET', `/api/v1/reports/jobs/${jobId}`)).body.error).toBe('completed');
    const pkg = '#report-files section.package[data-scope="final"]';
    await page.waitForSelector(`${pkg} tr[data-file]`);
    expect(await page.textContent(`${pkg} h3`)).toContain('最終報告書 令和7年4月〜令和7年6月');
    expect(
      await page.$$eval(`${pkg} > .scroll > table > tbody > tr[data-file]`, (trs) =>
        trs.map((tr) => tr.getAttribute('data-kind')),
      ),
    ).toEqual(['final-docx', 'final-xlsx']);
    const finals = (await op<{ files: FileView[] }>('GET', '/api/v1/reports?period=2025-04_2025-06')).body.files;
    expect(finals).toHaveLength(2);
    for (const f of finals) await downloadChecked(page, pkg, f);
    await page.screenshot({ path: path.join(shots, 'reports-03-final.png'), fullPage: true });
    await page.context().close();
  }, 300_000);

  it('a prefecture account without 「帳票の管理」 downloads but does not create', async () => {
    const page = await signIn('ken-viewer', 'prefecture-pass-1');
    await page.goto(`${suite.url}/reports`);
    await page.waitForSelector('#report-files tr[data-file]');
    expect(await page.$$('#create-monthly, #create-final')).toHaveLength(0);
    expect(await page.textContent('main')).toContain('「帳票の管理」の権限がないため、作成はできません');
    const href = await page.getAttribute('#report-files tr[data-file] a.download', 'href');
    expect(await page.evaluate(async (u) => (await fetch(u!)).status, href)).toBe(200);
    const refused = await page.evaluate(async () => {
      const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const r = await fetch('/api/v1/reports/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ type: 'monthly', month: '2025-06' }),
      });
      return r.status;
    });
    expect(refused).toBe(403);
    await page.context().close();
  });
});
