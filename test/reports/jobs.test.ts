/**
 * Report jobs on a real redis-server and the embedded ClickHouse: the monthly scheduler (1st,
 * 06:00 Asia/Tokyo); an on-demand package through the API, built by the real document builders,
 * followed by its progress to the end, listed and downloaded, and the downloaded files opened; a
 * failed job leaves nothing listed; a job cut short by a stop runs again on the next start; who may
 * see and ask for reports; bad requests.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installApiAuth, type Authenticator, type Permission, type Principal } from '../../core/auth.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { Metrics } from '../../metrics/index.ts';
import type { ReportFile, ReportSources } from '../../reports/documents/index.ts';
import {
  createReports,
  MONTHLY_PATTERN,
  registerReportRoutes,
  ReportFileStore,
  ReportJobs,
  type ReportBuilders,
  type ReportJobView,
  type Reports,
} from '../../reports/index.ts';
import { MONTH, seedFigures } from '../helpers/dashboard-fixtures.ts';
import { addMinutes, docxText, reportSources, seedMunicipalities } from '../helpers/report-documents-fixtures.ts';
import { harness, waitFor, type Harness } from '../helpers/index.ts';

const logger = createLogger('silent');
let src: ReportSources;
let h: Harness;
let reports: Reports;
let app: FastifyInstance;
let base: string;

const staff = (role: 'contractor' | 'prefecture' | 'municipality', permissions: Permission[]): Principal => ({
  kind: 'staff',
  via: 'token',
  userId: role,
  username: `${role}-user`,
  displayName: role,
  role,
  tenantId: role === 'municipality' ? '24201' : null,
  permissions,
});
const callers: Record<string, Principal> = {
  op: { kind: 'operator' },
  itaku: staff('contractor', ['manage_reports']),
  ken: staff('prefecture', []),
  tsu: staff('municipality', ['manage_reports']),
};
const caller = (req: { headers: { authorization?: string } }) =>
  callers[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
const auth: Authenticator = {
  identify: async (req) => caller(req),
  require: async (req) => caller(req) ?? Promise.reject(new Error('no caller')),
};

async function api<T = any>(
  method: string,
  p: string,
  body?: unknown,
  who = 'itaku',
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${who}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}
const download = async (id: string) => {
  const res = await fetch(`${base}/api/v1/reports/files/${id}`, { headers: { authorization: 'Bearer ken' } });
  expect(res.status).toBe(200);
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fakeFile = (month: string): ReportFile => ({
  kind: 'issues-xlsx',
  title: '課題管理表 (Excel)',
  fileName: `${month}_課題管理表.xlsx`,
  mime: 'application/octet-stream',
  bytes: Buffer.from(`issues ${month}`),
});

beforeAll(async () => {
  h = await harness({ redis: true });
  src = await reportSources(h);
  await seedFigures(src.ch);
  await seedMunicipalities(src.ch, src.tenants, ['2025-05', MONTH]);
  await addMinutes(
    src.store,
    {
      heldAt: '2025-06-12T14:00',
      kind: '定例会',
      title: '第3回 定例会',
      tenantIds: ['24000', '24201'],
      decisions: ['7月は熱中症予防の案内を配信する'],
    },
    true,
  );
  reports = createReports({
    ch: src.ch,
    tenants: src.tenants,
    redisUrl: h.redis.url,
    reportsDir: path.join(h.dir, 'reports'),
    logger,
  });
  await reports.start();
  h.defer('stop reports', () => reports.stop());
  app = createHttpApp(logger);
  installApiAuth(app, auth);
  registerReportRoutes(app, { ch: src.ch, reports });
  base = await h.serve(app);
}, 120_000);
afterAll(() => h?.close());

describe('the monthly scheduler', () => {
  it("makes the previous month's package on the 1st at 06:00, Asia/Tokyo (one scheduler, however often the suite starts)", async () => {
    const s = await reports.jobs.scheduler();
    expect(s).toMatchObject({ key: 'monthly-package', pattern: MONTHLY_PATTERN, tz: 'Asia/Tokyo' });
    expect(MONTHLY_PATTERN).toBe('0 6 1 * *');
    const next = new Date(s!.next! + 9 * 3_600_000); // in Tokyo
    expect([next.getUTCDate(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([1, 6, 0]);
    expect(s!.next!).toBeGreaterThan(Date.now());
    // the suite started again on the same Redis: still one scheduler
    const again = new ReportJobs({
      ch: src.ch,
      tenants: src.tenants,
      redisUrl: h.redis.url,
      files: reports.files,
      logger,
    });
    await again.start();
    await again.stop();
    expect(await reports.jobs.queue.getJobSchedulersCount()).toBe(1);
    // the upcoming run is not listed as a job
    expect((await api<{ jobs: ReportJobView[] }>('GET', '/api/v1/reports/jobs')).body.jobs).toEqual([]);
  });
});

describe('an on-demand monthly package (real documents)', () => {
  let job: ReportJobView;
  const seen: ReportJobView[] = [];

  it('is queued (202), runs with progress and completes with its files', async () => {
    const r = await api<{ jobId: string }>('POST', '/api/v1/reports/jobs', { type: 'monthly', month: MONTH });
    expect(r.status).toBe(202);
    expect(r.body.jobId).toMatch(/^monthly-2025-06-[0-9a-f]{8}$/);
    job = await waitFor(
      async () => {
        const j = (await api<ReportJobView>('GET', `/api/v1/reports/jobs/${r.body.jobId}`)).body;
        seen.push(j);
        return j.state === 'completed' || j.state === 'failed' ? j : undefined;
      },
      120_000,
      'the package job',
    );
    expect(job).toMatchObject({
      id: r.body.jobId,
      type: 'monthly',
      period: MONTH,
      periodLabel: '令和7年6月分',
      state: 'completed',
      createdBy: 'contractor-user',
    });
    expect(job.error).toBeUndefined();
    expect(job.fileIds).toHaveLength(5);
    // progress was visible while it ran: steps with done < total
    const running = seen.filter((j) => j.state === 'active');
    expect(running.length).toBeGreaterThan(0);
    expect(
      running.some((j) => j.progress.total > 0 && j.progress.done < j.progress.total && j.progress.step.length > 0),
    ).toBe(true);
    expect(job.progress.done).toBe(job.progress.total);
  }, 150_000);

  it('lists the files as a package with its due date, newest first', async () => {
    const { status, body } = await api<{ files: any[]; packages: any[] }>(
      'GET',
      `/api/v1/reports?period=${MONTH}`,
      undefined,
      'ken',
    );
    expect(status).toBe(200);
    expect(body.files.map((f) => f.kind)).toEqual(['minutes-docx', 'issues-xlsx', 'kpi-xlsx', 'kpi-docx', 'kpi-pdf']);
    expect(body.files.map((f) => f.id).sort()).toEqual([...job.fileIds!].sort());
    for (const f of body.files) {
      expect(f).toMatchObject({
        scope: 'monthly',
        period: MONTH,
        version: 1,
        dueDate: '2025-07-10',
        dueDateLabel: '令和7年7月10日',
        createdBy: 'contractor-user',
      });
      expect(f.size).toBeGreaterThan(1000);
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(body.packages).toHaveLength(1);
    expect(body.packages[0]).toMatchObject({ scope: 'monthly', period: MONTH, dueDate: '2025-07-10' });
    expect(body.packages[0].files).toHaveLength(5);
    const listed = (await api<{ jobs: ReportJobView[] }>('GET', '/api/v1/reports/jobs')).body.jobs;
    expect(listed.map((j) => j.id)).toContain(job.id);
  });

  it("downloads files that open: the KPI workbook holds the dashboard's figures, the minutes hold the meeting", async () => {
    const { files } = (await api<{ files: any[] }>('GET', `/api/v1/reports?period=${MONTH}`)).body;
    const kpi = files.find((f) => f.kind === 'kpi-xlsx');
    const { res, bytes } = await download(kpi.id);
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent(kpi.fileName)}`);
    expect(res.headers.get('x-content-sha256')).toBe(createHash('sha256').update(bytes).digest('hex'));

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    const overview = await new Metrics(src.ch, src.tenants).overview(
      (await src.tenants.list()).map((t) => t.id),
      MONTH,
    );
    const want = overview.rows.find((r) => r.tenantId === '24201')!;
    expect(want.friends).toBe(1200);
    let tsu: unknown[] | undefined;
    wb.eachSheet((ws) =>
      ws.eachRow((row) => {
        const values = (row.values as unknown[]).slice(1);
        if (!tsu && values[0] === '津市' && values.includes(want.friends)) tsu = values;
      }),
    );
    expect(tsu).toBeDefined();

    const minutes = files.find((f) => f.kind === 'minutes-docx');
    const docx = await download(minutes.id);
    expect(docxText(docx.bytes)).toContain('第3回 定例会');
    const pdf = await download(files.find((f) => f.kind === 'kpi-pdf').id);
    expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });
});

describe('an on-demand final report (real documents)', () => {
  it("makes the Word and Excel report for the period, listed under from_to and downloadable, with the contract's due date", async () => {
    const bad = await api<{ error: { code: string; details: Array<{ field: string }> } }>(
      'POST',
      '/api/v1/reports/jobs',
      { type: 'final', from: '2025-05', to: MONTH, due: '2025-02-30' },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_report_job', details: [{ field: 'due' }] });
    expect(
      (await api('POST', '/api/v1/reports/jobs', { type: 'final', from: '2025-05', to: MONTH, due: '2025-05-31' }))
        .status,
    ).toBe(400);
    const r = await api<{ jobId: string }>('POST', '/api/v1/reports/jobs', {
      type: 'final',
      from: '2025-05',
      to: MONTH,
      due: '2025-07-31',
    });
    expect(r.status).toBe(202);
    const job = await waitFor(
      async () => {
        const j = (await api<ReportJobView>('GET', `/api/v1/reports/jobs/${r.body.jobId}`)).body;
        return j.state === 'completed' || j.state === 'failed' ? j : undefined;
      },
      120_000,
      'the final report job',
    );
    expect(job).toMatchObject({
      state: 'completed',
      type: 'final',
      period: '2025-05_2025-06',
      periodLabel: '令和7年5月〜令和7年6月',
    });
    const { files } = (await api<{ files: any[] }>('GET', '/api/v1/reports?period=2025-05_2025-06')).body;
    expect(files.map((f) => f.kind)).toEqual(['final-docx', 'final-xlsx']);
    expect(files.every((f) => f.scope === 'final' && f.dueDate === null)).toBe(true);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await download(files[1].id)).bytes as unknown as ArrayBuffer);
    const names: string[] = [];
    wb.eachSheet((ws) =>
      ws.eachRow(
        (row) => void names.push(...(row.values as unknown[]).filter((v): v is string => typeof v === 'string')),
      ),
    );
    expect(names).toContain('津市');
    const text = docxText((await download(files[0].id)).bytes);
    expect(text).toContain('津市');
    expect(text).toContain('提出期限: 令和7年7月31日(木)');
  }, 150_000);
});

describe('failures and restarts', () => {
  const files = () => new ReportFileStore(src.ch, path.join(h.dir, 'reports-fake'));

  it('a failed job leaves nothing listed, and says why in Japanese', async () => {
    const failing: ReportBuilders = {
      async monthly(_s, _m, o) {
        o?.onProgress?.('集計値と記録を読み込んでいます', 0, 3);
        await sleep(20);
        o?.onProgress?.('グラフを作成しています', 1, 3);
        throw new Error('グラフのフォントが見つかりません');
      },
      final: async () => [],
    };
    const jobs = new ReportJobs({
      ch: src.ch,
      tenants: src.tenants,
      redisUrl: h.redis.url,
      files: files(),
      logger,
      build: failing,
      prefix: 'failing',
    });
    await jobs.start();
    try {
      const { jobId } = await jobs.enqueue({ type: 'monthly', month: '2025-04' }, 'itaku');
      const j = await waitFor(
        async () => {
          const v = await jobs.get(jobId);
          return v?.state === 'failed' ? v : undefined;
        },
        30_000,
        'the failing job',
      );
      expect(j.error).toBe('帳票の作成に失敗しました: グラフのフォントが見つかりません');
      expect(j.fileIds).toBeUndefined();
      expect(await reports.files.list({ period: '2025-04' })).toEqual([]);
      expect(fs.existsSync(path.join(h.dir, 'reports-fake', '2025-04'))).toBe(false);
    } finally {
      await jobs.stop();
    }
  });

  it('a job cut short by a stop goes back to the queue and completes after the next start', async () => {
    let started = 0;
    const slow: ReportBuilders = {
      async monthly(_s, month, o) {
        started++;
        for (let i = 0; i < 100; i++) {
          o?.onProgress?.(`手順 ${i + 1}`, i, 100);
          await sleep(30);
        }
        return [fakeFile(month)];
      },
      final: async () => [],
    };
    const first = new ReportJobs({
      ch: src.ch,
      tenants: src.tenants,
      redisUrl: h.redis.url,
      files: files(),
      logger,
      build: slow,
      prefix: 'restart',
    });
    await first.start();
    const { jobId } = await first.enqueue({ type: 'monthly', month: '2025-03' }, 'itaku');
    // asking again while it is on its way gives the same job
    expect(await first.enqueue({ type: 'monthly', month: '2025-03' }, 'ken')).toEqual({ jobId, existing: true });
    await waitFor(
      async () => {
        const v = await first.get(jobId);
        return v?.state === 'active' && v.progress.done >= 2;
      },
      30_000,
      'the job to be under way',
    );
    await first.stop();
    expect(started).toBe(1);
    expect(await reports.files.list({ period: '2025-03' })).toEqual([]);

    const fast: ReportBuilders = { monthly: async (_s, month) => [fakeFile(month)], final: async () => [] };
    const second = new ReportJobs({
      ch: src.ch,
      tenants: src.tenants,
      redisUrl: h.redis.url,
      files: files(),
      logger,
      build: fast,
      prefix: 'restart',
    });
    try {
      expect((await second.get(jobId))?.state).toBe('waiting');
      await second.start();
      const done = await waitFor(
        async () => {
          const v = await second.get(jobId);
          return v?.state === 'completed' ? v : undefined;
        },
        30_000,
        'the job after the restart',
      );
      expect(done.fileIds).toHaveLength(1);
      const [f] = await reports.files.list({ period: '2025-03' });
      expect(f).toMatchObject({ kind: 'issues-xlsx', version: 1, createdBy: 'itaku' });
    } finally {
      await second.stop();
    }
  });
});

describe('a final report job', () => {
  it('is stored under its period (from_to), with no due date', async () => {
    const asked: Array<{ from: string; to: string }> = [];
    const build: ReportBuilders = {
      monthly: async () => [],
      final: async (_s, period, o) => {
        asked.push(period);
        o?.onProgress?.('最終報告書を作成しています', 0, 1);
        return [
          {
            kind: 'final-docx',
            title: '最終報告書 (Word)',
            fileName: `${period.from}_${period.to}_最終報告書.docx`,
            mime: 'application/octet-stream',
            bytes: Buffer.from('final'),
          },
        ];
      },
    };
    const jobs = new ReportJobs({
      ch: src.ch,
      tenants: src.tenants,
      redisUrl: h.redis.url,
      files: new ReportFileStore(src.ch, path.join(h.dir, 'reports-final')),
      logger,
      build,
      prefix: 'final',
    });
    await jobs.start();
    try {
      const { jobId } = await jobs.enqueue({ type: 'final', from: '2025-04', to: '2025-06' }, 'itaku');
      const done = await waitFor(
        async () => {
          const v = await jobs.get(jobId);
          return v?.state === 'completed' ? v : undefined;
        },
        30_000,
        'the final report job',
      );
      expect(asked).toEqual([{ from: '2025-04', to: '2025-06' }]);
      expect(done).toMatchObject({ type: 'final', period: '2025-04_2025-06', periodLabel: '令和7年4月〜令和7年6月' });
      const { body } = await api<{ files: any[]; packages: any[] }>('GET', '/api/v1/reports?period=2025-04_2025-06');
      expect(body.files).toHaveLength(1);
      expect(body.files[0]).toMatchObject({
        id: done.fileIds![0],
        scope: 'final',
        kind: 'final-docx',
        dueDate: null,
        dueDateLabel: null,
        version: 1,
      });
      expect(body.packages[0]).toMatchObject({ scope: 'final', period: '2025-04_2025-06' });
    } finally {
      await jobs.stop();
    }
  });
});

describe('who may see and ask for reports', () => {
  it('a municipality account gets 403 with a Japanese message, whatever its permissions', async () => {
    for (const [method, p, body] of [
      ['GET', '/api/v1/reports/jobs'],
      ['POST', '/api/v1/reports/jobs', { type: 'monthly', month: MONTH }],
      ['GET', '/api/v1/reports'],
    ] as const) {
      const r = await api(method, p, body, 'tsu');
      expect(r.status).toBe(403);
      expect(r.body.error).toEqual({ code: 'forbidden_reports', message: expect.stringContaining('県・受託者') });
    }
  });

  it('the prefecture reads; asking for a report needs 「帳票の管理」', async () => {
    expect((await api('GET', '/api/v1/reports/jobs', undefined, 'ken')).status).toBe(200);
    const r = await api('POST', '/api/v1/reports/jobs', { type: 'monthly', month: MONTH }, 'ken');
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({ code: 'forbidden', message: 'この操作には「帳票の管理」の権限が必要です' });
  });
});

describe('bad requests', () => {
  it('refuses a bad job with 400, a Japanese message and a code', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /type は monthly/],
      [{ type: 'weekly', month: MONTH }, /type は monthly/],
      [{ type: 'monthly' }, /month/],
      [{ type: 'monthly', month: '2025-13' }, /YYYY-MM/],
      [{ type: 'monthly', month: MONTH, extra: 1 }, /extra/],
      [{ type: 'monthly', month: '2999-01' }, /祝日表の範囲外|まだ始まっていない|2000年から2100年/],
      [{ type: 'monthly', month: '2049-01' }, /まだ始まっていない月/],
      [{ type: 'final', from: '2025-06', to: '2025-04' }, /開始 \(from\) は終了 \(to\) 以前/],
      [{ type: 'final', from: '2015-01', to: '2025-04' }, /60 か月以内/],
    ];
    for (const [body, message] of bad) {
      const r = await api('POST', '/api/v1/reports/jobs', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code, JSON.stringify(body)).toMatch(/^(invalid_report_job|month_out_of_range)$/);
      expect(r.body.error.message, JSON.stringify(body)).toMatch(message);
    }
  });

  it('answers 404 for an unknown job and 400 for a malformed job id', async () => {
    const unknown = await api('GET', '/api/v1/reports/jobs/monthly-2025-06-00000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('report_job_not_found');
    const bad = await api('GET', `/api/v1/reports/jobs/${encodeURIComponent('a b')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_report_job_id');
  });
});
