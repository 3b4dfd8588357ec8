/**
 * /api/v1/reports…  帳票 (generated report files and the jobs that make them)
 *   GET  /api/v1/reports[?period=YYYY-MM|YYYY-MM_YYYY-MM&kind=]   { files (newest first), packages (latest version of each kind per period) }
 *   POST /api/v1/reports/jobs     { type: 'monthly', month } | { type: 'final', from, to }  → 202 { jobId }   (「帳票の管理」)
 *   GET  /api/v1/reports/jobs                                   { jobs } newest first
 *   GET  /api/v1/reports/jobs/:id                               { id, type, period, state, progress: { step, done, total }, error?, fileIds? }
 *   GET  /api/v1/reports/files/:id                              the file (checked against its SHA-256)
 *
 * Reports are for the prefecture and the contractor: admin, prefecture and contractor accounts
 * (and the operator token) see them; a municipality account gets 403.
 */
import { type AuditLog, auditContext } from '../core/audit.ts';
import { principalOf, requirePermission, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance } from '../core/http.ts';
import { z } from '../core/zod.ts';
import { parseDate, parseYearMonth } from './due-date.ts';
import { packagesOf, REPORT_KIND_ORDER } from './files.ts';
import type { ReportJobInput, Reports } from './jobs.ts';
import { monthSchema, tokyoMonth } from './schemas.ts';

const MONTH_RE = '\\d{4}-(?:0[1-9]|1[0-2])';
const listQuerySchema = z.object({
  period: z
    .string()
    .regex(
      new RegExp(`^${MONTH_RE}(?:_${MONTH_RE})?$`),
      '期間は YYYY-MM (月次報告) か YYYY-MM_YYYY-MM (最終報告) の形式で指定してください (例: 2026-10)',
    )
    .optional(),
  kind: z
    .enum(REPORT_KIND_ORDER, { message: `帳票の種類は ${REPORT_KIND_ORDER.join('・')} のいずれかです` })
    .optional(),
});
const jobTypeSchema = z.object({
  type: z.enum(['monthly', 'final'], { message: 'type は monthly (月次報告) か final (最終報告) で指定してください' }),
});
const monthlyJobSchema = z.strictObject({ type: z.literal('monthly'), month: monthSchema });
const finalJobSchema = z.strictObject({
  type: z.literal('final'),
  from: monthSchema,
  to: monthSchema,
  /** the contract's due date for the final report (optional; shown on the documents) */
  due: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, '提出期限は YYYY-MM-DD の形式で指定してください (例: 2027-03-31)')
    .optional(),
});
const jobIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,120}$/, 'ジョブ ID の形式が正しくありません');
const fileIdSchema = z.string().uuid('ファイル ID の形式が正しくありません');

/** The longest period a final report may cover. */
const FINAL_MAX_MONTHS = 60;

/** Parses input with a schema; a 400 with a Japanese message naming each field otherwise. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, code: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
  throw new AppError(
    code,
    `入力内容に誤りがあります: ${details.map((d) => `${d.field || '(全体)'} — ${d.message}`).join(' / ')}`,
    400,
    details,
  );
}

const monthIndex = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;

/** A job request checked the way the API checks it (also used by the CLI without a suite). */
export function parseReportJobInput(body: unknown, now = Date.now()): ReportJobInput {
  const { type } = parseInput(jobTypeSchema, body ?? {}, 'invalid_report_job');
  const current = tokyoMonth(now);
  const notFuture = (m: string, field: string) => {
    if (m > current) {
      throw new AppError(
        'invalid_report_job',
        `${m} はまだ始まっていない月です。${current} 以前の年月を指定してください`,
        400,
        [{ field, message: '未来の年月です' }],
      );
    }
  };
  if (type === 'monthly') {
    const input = parseInput(monthlyJobSchema, body, 'invalid_report_job');
    parseYearMonth(input.month); // within the holiday table (the due date)
    notFuture(input.month, 'month');
    return input;
  }
  const input = parseInput(finalJobSchema, body, 'invalid_report_job');
  // within the holiday table, as a monthly report's month (0001-01 made a job that could only fail)
  parseYearMonth(input.from);
  parseYearMonth(input.to);
  if (input.from > input.to) {
    throw new AppError('invalid_report_job', '期間の開始 (from) は終了 (to) 以前の年月にしてください', 400, [
      { field: 'from', message: '終了より後です' },
    ]);
  }
  if (monthIndex(input.to) - monthIndex(input.from) + 1 > FINAL_MAX_MONTHS) {
    throw new AppError('invalid_report_job', `最終報告の期間は ${FINAL_MAX_MONTHS} か月以内にしてください`, 400, [
      { field: 'to', message: '期間が長すぎます' },
    ]);
  }
  notFuture(input.to, 'to');
  if (input.due !== undefined) {
    try {
      parseDate(input.due);
    } catch {
      throw new AppError('invalid_report_job', `提出期限 ${input.due} は存在しない日付です`, 400, [
        { field: 'due', message: '存在しない日付です' },
      ]);
    }
    if (input.due < `${input.to}-01`) {
      throw new AppError('invalid_report_job', '提出期限は期間の終わりの月より後の日付にしてください', 400, [
        { field: 'due', message: '期間より前です' },
      ]);
    }
  }
  return input;
}

/** Reports are the prefecture's and the contractor's: a municipality account may not see them. */
export function requireReportsAccess(p: Principal): void {
  if (p.kind === 'staff' && p.role === 'municipality') {
    throw new AppError(
      'forbidden_reports',
      '帳票 (月次報告・最終報告) は県・受託者のアカウントだけが利用できます',
      403,
    );
  }
}

/** RFC 6266 / 5987: an ASCII fallback name and the UTF-8 one. */
export function contentDisposition(fileName: string, fallback: string): string {
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encoded}`;
}

/** Downloads of report files (official documents with figures) are audited before the file leaves. */
export function registerReportFileRoutes(app: FastifyInstance, reports: Reports, audit: AuditLog): void {
  const { files, jobs } = reports;

  app.get('/api/v1/reports', async (req) => {
    requireReportsAccess(principalOf(req));
    const q = parseInput(listQuerySchema, req.query, 'invalid_query');
    const list = await files.list(q);
    const out = list.map(({ jobId: _job, ...f }) => f);
    return {
      files: out,
      packages: packagesOf(list).map((p) => ({ ...p, files: p.files.map(({ jobId: _job, ...f }) => f) })),
    };
  });

  app.post('/api/v1/reports/jobs', async (req, reply) => {
    const p = principalOf(req);
    requireReportsAccess(p);
    requirePermission(p, 'manage_reports');
    const input = parseReportJobInput(req.body);
    const actor = p.kind === 'operator' ? 'operator' : p.username;
    const { jobId, existing } = await jobs.enqueue(input, actor);
    return reply.status(202).send({ jobId, existing });
  });

  app.get('/api/v1/reports/jobs', async (req) => {
    requireReportsAccess(principalOf(req));
    return { jobs: await jobs.list() };
  });

  app.get('/api/v1/reports/jobs/:id', async (req) => {
    requireReportsAccess(principalOf(req));
    const id = parseInput(jobIdSchema, (req.params as { id: string }).id, 'invalid_report_job_id');
    const job = await jobs.get(id);
    if (!job)
      throw new AppError(
        'report_job_not_found',
        `帳票作成ジョブ ${id} は見つかりません (完了から時間が経ったジョブは消えます。作成済みのファイルは一覧にあります)`,
        404,
      );
    return job;
  });

  app.get('/api/v1/reports/files/:id', async (req, reply) => {
    const p = principalOf(req);
    requireReportsAccess(p);
    const id = parseInput(fileIdSchema, (req.params as { id: string }).id, 'invalid_report_file_id');
    const { file, bytes } = await files.read(id);
    await audit.by(auditContext(req, p), {
      action: 'export',
      target: file.fileName,
      detail: { reportFile: id, kind: file.kind, period: file.period, version: file.version },
    });
    const ext = file.fileName.includes('.') ? file.fileName.slice(file.fileName.lastIndexOf('.')) : '';
    return reply
      .header('content-type', file.mime)
      .header('content-length', String(bytes.length))
      .header(
        'content-disposition',
        contentDisposition(file.fileName, `${file.kind}-${file.period}-v${file.version}${ext}`),
      )
      .header('x-content-sha256', file.sha256)
      .header('cache-control', 'private, no-store')
      .send(bytes);
  });
}
