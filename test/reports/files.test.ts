/**
 * Report files: stored under the reports directory as new versions (never overwritten), with their
 * SHA-256 in ClickHouse; a batch is stored whole or not at all; a download is checked against the
 * checksum (a changed or missing file is a 500 with a Japanese message) and carries the file's
 * type, its Japanese name and its checksum.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, Principal } from '../../core/auth.ts';
import { installApiAuth } from '../../core/auth.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import type { ReportFile } from '../../reports/documents/index.ts';
import { createReports, registerReportRoutes, type Reports } from '../../reports/index.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
const logger = createLogger('silent');
let reportsDir: string;
let ch: ClickHouseClient;
let reports: Reports;
let app: FastifyInstance;
let base: string;

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const file = (kind: ReportFile['kind'], fileName: string, text: string): ReportFile => ({
  kind,
  title: kind.startsWith('kpi') ? '月次KPI報告書 (Excel)' : '議事録 (Word)',
  fileName,
  mime: kind.endsWith('xlsx') ? XLSX : DOCX,
  bytes: Buffer.from(text),
});
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Callers by bearer token: the operator, a prefecture reader and a municipality account.
const staff = (role: 'prefecture' | 'municipality', tenantId: string | null): Principal => ({
  kind: 'staff',
  via: 'token',
  userId: role,
  username: role,
  displayName: role,
  role,
  tenantId,
  permissions: [],
});
const callers: Record<string, Principal> = {
  op: { kind: 'operator' },
  pref: staff('prefecture', null),
  muni: staff('municipality', '24201'),
};
const auth: Authenticator = {
  identify: async (req) => callers[(req.headers.authorization ?? '').replace(/^Bearer /, '')],
  require: async (req) => {
    const p = callers[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
    if (!p) throw new Error('no caller');
    return p;
  },
};
const get = (p: string, who = 'op') => fetch(base + p, { headers: { authorization: `Bearer ${who}` } });

beforeAll(async () => {
  h = await harness({ redis: true });
  ch = h.ch;
  reportsDir = path.join(h.dir, 'reports');
  reports = createReports({ ch, tenants: h.tenants, redisUrl: h.redis.url, reportsDir, logger, prefix: 'files-test' });
  h.defer('stop reports', () => reports.stop());
  app = createHttpApp(logger);
  installApiAuth(app, auth);
  registerReportRoutes(app, { ch, reports });
  base = await h.serve(app);
});
afterAll(() => h?.close());

describe('where report files are kept', () => {
  it('TAYORI_REPORTS_DIR, by default <dataDir>/reports', () => {
    expect(loadConfig({}, '/srv/tayori').reportsDir).toBe('/srv/tayori/data/reports');
    expect(loadConfig({ TAYORI_DATA_DIR: '/var/lib/tayori' }, '/srv').reportsDir).toBe('/var/lib/tayori/reports');
    expect(loadConfig({ TAYORI_REPORTS_DIR: 'files/reports' }, '/srv/tayori').reportsDir).toBe(
      '/srv/tayori/files/reports',
    );
    expect(loadConfig({ TAYORI_REPORTS_DIR: '  ' }, '/srv/tayori').reportsDir).toBe('/srv/tayori/data/reports');
  });
});

describe('report file storage', () => {
  let first: Awaited<ReturnType<Reports['files']['save']>>;

  it("stores a batch under <period>/<kind>/v1-<name> with its SHA-256 and the month's due date", async () => {
    first = await reports.files.save({
      scope: 'monthly',
      period: '2026-10',
      createdBy: 'operator',
      files: [
        file('kpi-xlsx', '2026-10_月次KPI報告書.xlsx', 'kpi v1'),
        file('minutes-docx', '2026-10_議事録.docx', 'minutes v1'),
      ],
    });
    // package order: minutes first
    expect(first.map((f) => [f.kind, f.version])).toEqual([
      ['minutes-docx', 1],
      ['kpi-xlsx', 1],
    ]);
    const kpi = first[1]!;
    expect(kpi).toMatchObject({
      scope: 'monthly',
      period: '2026-10',
      periodLabel: '令和8年10月分',
      fileName: '2026-10_月次KPI報告書.xlsx',
      mime: XLSX,
      size: 6,
      sha256: sha(Buffer.from('kpi v1')),
      dueDate: '2026-11-10',
      dueDateLabel: '令和8年11月10日',
      createdBy: 'operator',
    });
    expect(kpi.createdAt).toMatch(/\+09:00$/);
    const onDisk = path.join(reportsDir, '2026-10', 'kpi-xlsx', 'v1-2026-10_月次KPI報告書.xlsx');
    expect(await reports.files.pathOf(kpi.id)).toBe(onDisk);
    expect(fs.readFileSync(onDisk, 'utf8')).toBe('kpi v1');
    // no temporary file is left beside it
    expect(fs.readdirSync(path.dirname(onDisk))).toEqual(['v1-2026-10_月次KPI報告書.xlsx']);
  });

  it('regenerating makes a new version; the old file stays as it was', async () => {
    const second = await reports.files.save({
      scope: 'monthly',
      period: '2026-10',
      createdBy: 'ken',
      now: Date.now() + 1000,
      files: [file('kpi-xlsx', '2026-10_月次KPI報告書.xlsx', 'kpi v2 (more figures)')],
    });
    expect(second.map((f) => [f.kind, f.version])).toEqual([['kpi-xlsx', 2]]);
    expect(fs.readFileSync((await reports.files.pathOf(first[1]!.id))!, 'utf8')).toBe('kpi v1');
    expect(fs.readFileSync((await reports.files.pathOf(second[0]!.id))!, 'utf8')).toBe('kpi v2 (more figures)');
  });

  it('never takes the name of a file already on disk (left by a job that failed before listing it)', async () => {
    const orphan = path.join(reportsDir, '2026-10', 'kpi-xlsx', 'v3-2026-10_月次KPI報告書.xlsx');
    fs.writeFileSync(orphan, 'left over');
    const third = await reports.files.save({
      scope: 'monthly',
      period: '2026-10',
      createdBy: 'ken',
      now: Date.now() + 2000,
      files: [file('kpi-xlsx', '2026-10_月次KPI報告書.xlsx', 'kpi v4')],
    });
    expect(third[0]!.version).toBe(4);
    expect(fs.readFileSync(orphan, 'utf8')).toBe('left over');
  });

  it('removes temporary files a crashed writer left, and only those', async () => {
    const dir = path.join(reportsDir, '2026-10', 'kpi-xlsx');
    const dead = path.join(dir, '.tmp-999999999-0b7e9c1a');
    const ours = path.join(dir, `.tmp-${process.pid}-in-progress`);
    fs.writeFileSync(dead, 'half written');
    fs.writeFileSync(ours, 'being written');
    expect(await reports.files.sweepTemporary()).toBe(1);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(ours)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('v'))).not.toHaveLength(0);
    fs.rmSync(ours);
  });

  it("on start, leaves last month alone when its package is stored, or before the 1st's 06:00 run", async () => {
    // 2026-10's package was stored above
    expect(await reports.ensureLastMonthPackage('test', Date.parse('2026-11-15T12:00:00+09:00'))).toEqual({
      period: '2026-10',
      label: '令和8年10月分',
    });
    // 05:59 on December 1st: the scheduler's run for November is still to come
    expect(await reports.ensureLastMonthPackage('test', Date.parse('2026-12-01T05:59:00+09:00'))).toEqual({
      period: '2026-11',
      label: '令和8年11月分',
    });
  });

  it('two saves of the same period at once take different versions', async () => {
    const save = (text: string) =>
      reports.files.save({
        scope: 'monthly',
        period: '2026-12',
        createdBy: 'operator',
        files: [file('kpi-xlsx', '2026-12_月次KPI報告書.xlsx', text)],
      });
    const [a, b] = await Promise.all([save('a'), save('b')]);
    expect([a[0]!.version, b[0]!.version].sort()).toEqual([1, 2]);
    for (const f of [a[0]!, b[0]!]) expect(sha(fs.readFileSync((await reports.files.pathOf(f.id))!))).toBe(f.sha256);
  });

  it('stores a batch whole or not at all', async () => {
    // the issue log's directory cannot be made: a plain file is in its place
    fs.mkdirSync(path.join(reportsDir, '2026-11'), { recursive: true });
    fs.writeFileSync(path.join(reportsDir, '2026-11', 'issues-xlsx'), 'not a directory');
    await expect(
      reports.files.save({
        scope: 'monthly',
        period: '2026-11',
        createdBy: 'operator',
        files: [file('minutes-docx', '2026-11_議事録.docx', 'm'), file('issues-xlsx', '2026-11_課題管理表.xlsx', 'i')],
      }),
    ).rejects.toThrow();
    expect(await reports.files.list({ period: '2026-11' })).toEqual([]);
    expect(fs.readdirSync(path.join(reportsDir, '2026-11', 'minutes-docx'))).toEqual([]);
    expect(await reports.files.hasPeriod('monthly', '2026-11')).toBe(false);
  });

  it('keeps names that are not safe on disk out of the path, and the Japanese name for the download', async () => {
    const [f] = await reports.files.save({
      scope: 'final',
      period: '2025-04_2026-03',
      createdBy: 'operator',
      now: Date.now() + 10_000,
      files: [file('final-docx', '../最終報告書/令和7年度.docx', 'final')],
    });
    expect(f).toMatchObject({
      scope: 'final',
      periodLabel: '令和7年4月〜令和8年3月',
      dueDate: null,
      dueDateLabel: null,
      fileName: '../最終報告書/令和7年度.docx',
    });
    const where = (await reports.files.pathOf(f!.id))!;
    expect(path.dirname(where)).toBe(path.join(reportsDir, '2025-04_2026-03', 'final-docx'));
    expect(path.basename(where)).toBe('v1-.._最終報告書_令和7年度.docx');
  });
});

describe('GET /api/v1/reports', () => {
  it('lists files newest first, and packages with the latest version of each kind', async () => {
    const res = await get('/api/v1/reports');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      files: Array<Record<string, unknown>>;
      packages: Array<{ period: string; scope: string; dueDate: string | null; files: Array<Record<string, unknown>> }>;
    };
    expect(body.files[0]).toMatchObject({ scope: 'final', kind: 'final-docx' });
    const oct = body.files.filter((f) => f.period === '2026-10');
    expect(oct.map((f) => `${f.kind}@${f.version}`)).toEqual([
      'kpi-xlsx@4',
      'kpi-xlsx@2',
      'minutes-docx@1',
      'kpi-xlsx@1',
    ]);
    expect(Object.keys(oct[0]!).sort()).toEqual([
      'createdAt',
      'createdBy',
      'dueDate',
      'dueDateLabel',
      'fileName',
      'id',
      'kind',
      'mime',
      'period',
      'periodLabel',
      'scope',
      'sha256',
      'size',
      'title',
      'version',
    ]);
    const pkg = body.packages.find((p) => p.period === '2026-10')!;
    expect(pkg).toMatchObject({ scope: 'monthly', dueDate: '2026-11-10', dueDateLabel: '令和8年11月10日' });
    expect(pkg.files.map((f) => `${f.kind}@${f.version}`)).toEqual(['minutes-docx@1', 'kpi-xlsx@4']);
    expect(body.packages.map((p) => p.period)).toEqual(['2026-12', '2026-10', '2025-04_2026-03']);

    const filtered = (await (await get('/api/v1/reports?period=2026-10&kind=minutes-docx')).json()) as {
      files: unknown[];
    };
    expect(filtered.files).toHaveLength(1);
  });

  it('refuses bad filters with a Japanese message and a code', async () => {
    for (const q of ['period=2026-13', 'period=R8-10', 'kind=pptx']) {
      const res = await get(`/api/v1/reports?${q}`);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_query');
      expect(error.message).toMatch(/入力内容に誤りがあります/);
    }
  });

  it('is for the prefecture and the contractor: a municipality account gets 403', async () => {
    expect((await get('/api/v1/reports', 'pref')).status).toBe(200);
    const res = await get('/api/v1/reports', 'muni');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: { code: 'forbidden_reports', message: expect.stringContaining('県・受託者') },
    });
  });
});

describe('GET /api/v1/reports/files/:id', () => {
  it('sends the bytes with their type, the Japanese file name and the checksum', async () => {
    const kpi = (await reports.files.list({ period: '2026-10', kind: 'kpi-xlsx' })).find((f) => f.version === 2)!;
    const res = await get(`/api/v1/reports/files/${kpi.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(XLSX);
    const disposition = res.headers.get('content-disposition')!;
    expect(disposition).toBe(
      `attachment; filename="kpi-xlsx-2026-10-v2.xlsx"; filename*=UTF-8''${encodeURIComponent('2026-10_月次KPI報告書.xlsx')}`,
    );
    expect(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)![1]!)).toBe('2026-10_月次KPI報告書.xlsx');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.toString()).toBe('kpi v2 (more figures)');
    expect(res.headers.get('x-content-sha256')).toBe(sha(bytes));
    expect(res.headers.get('x-content-sha256')).toBe(kpi.sha256);
  });

  it('refuses a file changed on disk (500, report_file_corrupt) and says so in Japanese', async () => {
    const [kpi] = await reports.files.list({ period: '2026-10', kind: 'kpi-xlsx' });
    const where = (await reports.files.pathOf(kpi!.id))!;
    fs.writeFileSync(where, 'kpi v4'.replace('4', '5')); // same size, other bytes
    const res = await get(`/api/v1/reports/files/${kpi!.id}`);
    expect(res.status).toBe(500);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('report_file_corrupt');
    expect(error.message).toContain('チェックサム不一致');
    expect(error.message).toContain('2026-10_月次KPI報告書.xlsx');

    fs.rmSync(where);
    const gone = await get(`/api/v1/reports/files/${kpi!.id}`);
    expect(gone.status).toBe(500);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('report_file_missing');
  });

  it('answers 404 for an unknown file, 400 for a malformed id and 403 for a municipality account', async () => {
    const unknown = await get('/api/v1/reports/files/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('report_file_not_found');
    const bad = await get('/api/v1/reports/files/..%2F..%2Fetc%2Fpasswd');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_report_file_id');
    const [minutes] = await reports.files.list({ kind: 'minutes-docx' });
    expect((await get(`/api/v1/reports/files/${minutes!.id}`, 'muni')).status).toBe(403);
    expect((await get(`/api/v1/reports/files/${minutes!.id}`, 'pref')).status).toBe(200);
  });
});
