/**
 * The staff JSON API of surveys/ (authentication as delivery's: a session with its CSRF token, a
 * personal API token, or the operator token). Reads: anyone who may see the tenant; changes and
 * deliveries: 配信 (deliver); exports of identified answers: also 住民データの出力 (export_residents).
 * Every change and export is audited by the call that does it.
 *
 *   GET  /api/v1/surveys/tenants/:tenantId/surveys                         → { surveys: Survey[] }
 *   POST /api/v1/surveys/tenants/:tenantId/surveys          {SurveyInput}  → Survey (201)
 *   GET  /api/v1/surveys/tenants/:tenantId/surveys/:surveyId               → Survey (with answerRows)
 *   PUT  /api/v1/surveys/tenants/:tenantId/surveys/:surveyId {partial SurveyInput} → Survey
 *          after the first answer only title, introduction, question text/help, window, status (else 409 survey_locked)
 *   GET  …/:surveyId/results                                                → SurveyResults
 *   GET  …/:surveyId/crosstab?question=&by=gender|age_group|residence       → CrossTab (groups under 5: null)
 *   GET  …/:surveyId/texts?question=&q=                                     → { texts: [{ text, answeredAt }] }
 *   GET  …/:surveyId/answers.csv    UTF-8 BOM CSV, streamed (audited export)
 *   GET  …/:surveyId/answers.xlsx   集計 + 回答一覧 sheets (audited export)
 *   GET  …/:surveyId/message                                                → the 「回答する」 Flex message
 *   POST …/:surveyId/delivery   { title?, audience? } → a delivery draft carrying that message (201)
 *   GET  /api/v1/surveys/tenants/:tenantId/first-use                       → { surveyId } ('' none)
 *   PUT  /api/v1/surveys/tenants/:tenantId/first-use  { surveyId }         → { surveyId } (配信; '' clears;
 *          a draft or closed survey 409): new friends are invited to it before the registration menu
 */
import { Readable } from 'node:stream';
import { type Authenticator, hasPermission } from '../core/auth.ts';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import { staffRequests } from '../core/staff-requests.ts';
import type { TenantStore } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import type { DeliveryRecord } from '../delivery/index.ts';
import { answersCsv, answersXlsx } from './export.ts';
import type { FirstUseSurveys } from './first-use.ts';
import { surveyMessage } from './message.ts';
import type { AreaNames, SurveyResultsReader } from './results.ts';
import { CROSS_DIMENSIONS, type Survey } from './schemas.ts';
import type { SurveyStore } from './store.ts';

/** What surveys need of delivery's service: a draft (delivery.service.create). */
export interface DeliveryDrafts {
  create(tenantId: string, input: unknown, by: AuditContext): Promise<DeliveryRecord>;
}

export interface SurveyRouteDeps {
  auth: Authenticator;
  audit: AuditLog;
  tenants: TenantStore;
  store: SurveyStore;
  reader: SurveyResultsReader;
  areaNames: AreaNames;
  residents: () => ResidentShell | undefined;
  deliveries?: DeliveryDrafts;
  firstUse?: FirstUseSurveys;
}

const crossQuery = z.object({
  question: z.string({ error: '設問を指定してください' }).min(1, '設問を指定してください'),
  by: z.enum(CROSS_DIMENSIONS, { message: 'by は gender・age_group・residence のいずれかです' }),
});
const textsQuery = z.object({
  question: z.string({ error: '設問を指定してください' }).min(1, '設問を指定してください'),
  q: z.string().max(100, '検索語は 100 文字以内です').default(''),
});
const deliveryBody = z.object({
  title: z.string().trim().max(100, '件名は 100 文字以内です').optional(),
  audience: z.unknown().optional(),
});

export function registerSurveyRoutes(app: FastifyInstance, deps: SurveyRouteDeps): void {
  const { auth, audit, tenants, store, reader } = deps;
  const staff = staffRequests(auth);
  const { pre, who, by, actor, param, seen: tid } = staff;
  /** The tenant, for a caller allowed to deliver there. */
  const tidDeliver = (req: FastifyRequest) => staff.allowed(req, 'deliver');
  const survey = async (req: FastifyRequest): Promise<Survey> => store.get(tid(req), param(req, 'surveyId'));
  /** An export: identified answers need 住民データの出力; audited before the file leaves. */
  const exporting = async (req: FastifyRequest, s: Survey, file: string) => {
    if (!s.anonymous && !hasPermission(who(req), 'export_residents'))
      throw new AppError(
        'forbidden',
        '記名式のアンケートの回答を出力するには「住民データの出力」の権限が必要です',
        403,
      );
    await audit.by(by(req), {
      action: 'export',
      tenantId: s.tenantId,
      target: `surveys/${s.surveyId}/${file}`,
      detail: { surveyId: s.surveyId, anonymous: s.anonymous },
    });
  };
  const attachment = (reply: FastifyReply, type: string, name: string, ascii: string) =>
    reply
      .header('content-type', type)
      .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`);

  const base = '/api/v1/surveys/tenants/:tenantId/surveys';
  const one = `${base}/:surveyId`;

  app.get(base, pre, async (req) => ({ surveys: await store.list(tid(req)) }));
  const firstUse = '/api/v1/surveys/tenants/:tenantId/first-use';
  app.get(firstUse, pre, async (req) => ({ surveyId: (await deps.firstUse?.get(tid(req))) ?? '' }));
  app.put(firstUse, pre, async (req) => {
    const tenantId = tidDeliver(req);
    if (!deps.firstUse) throw new AppError('first_use_unavailable', '友だち追加時のアンケートは設定できません', 503);
    return deps.firstUse.set(tenantId, req.body ?? {}, by(req), actor(req));
  });
  app.post(base, pre, async (req, reply) =>
    reply.status(201).send(await store.create(tidDeliver(req), req.body, by(req), actor(req))),
  );
  app.get(one, pre, async (req) => survey(req));
  app.put(one, pre, async (req) =>
    store.update(tidDeliver(req), param(req, 'surveyId'), req.body, by(req), actor(req)),
  );
  app.get(`${one}/results`, pre, async (req) => reader.results(await survey(req)));
  app.get(`${one}/crosstab`, pre, async (req) => {
    const s = await survey(req);
    const q = crossQuery.parse(req.query ?? {});
    if (!s.questions.some((x) => x.id === q.question))
      throw new AppError('question_not_found', '設問が見つかりません', 404);
    return reader.crossTab(s, q.question, q.by);
  });
  app.get(`${one}/texts`, pre, async (req) => {
    const s = await survey(req);
    const q = textsQuery.parse(req.query ?? {});
    return { texts: await reader.texts(s, q.question, q.q) };
  });
  app.get(`${one}/answers.csv`, pre, async (req, reply) => {
    const s = await survey(req);
    const areas = await deps.areaNames(s.tenantId);
    const lines = answersCsv(store.ch, s, areas);
    // the first page before the audit record and the status: a failing read is an error, not a cut-off file
    const first = await lines.next();
    const second = await lines.next();
    await exporting(req, s, 'answers.csv');
    const body = Readable.from(
      (async function* () {
        if (!first.done) yield first.value;
        if (!second.done) yield second.value;
        yield* lines;
      })(),
    );
    return attachment(reply, 'text/csv; charset=utf-8', `アンケート回答_${s.title}.csv`, 'survey-answers.csv').send(
      body,
    );
  });
  app.get(`${one}/answers.xlsx`, pre, async (req, reply) => {
    const s = await survey(req);
    const file = await answersXlsx(store.ch, s, reader, await deps.areaNames(s.tenantId));
    await exporting(req, s, 'answers.xlsx');
    return attachment(
      reply,
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      `アンケート回答_${s.title}.xlsx`,
      'survey-answers.xlsx',
    ).send(file);
  });
  const messageOf = async (s: Survey) => {
    const tenant = await tenants.require(s.tenantId);
    const url = deps.residents()?.liffUrl(tenant, `surveys/${s.surveyId}`);
    if (!url)
      throw new AppError(
        'liff_missing',
        'このテナントには LIFF アプリが登録されていないため、回答フォームへのボタンを作れません',
        409,
      );
    return surveyMessage(s, url);
  };
  app.get(`${one}/message`, pre, async (req) => messageOf(await survey(req)));
  app.post(`${one}/delivery`, pre, async (req, reply) => {
    const tenantId = tidDeliver(req);
    const s = await store.get(tenantId, param(req, 'surveyId'));
    if (!deps.deliveries) throw new AppError('delivery_unavailable', '配信機能が使えません', 503);
    const body = deliveryBody.parse(req.body ?? {});
    if (s.status === 'draft')
      throw new AppError(
        'survey_draft',
        '下書きのアンケートは配信できません。先に公開 (状態を open に) してください',
        409,
      );
    const record = await deps.deliveries.create(
      tenantId,
      {
        title: body.title ?? `アンケート: ${s.title}`.slice(0, 100),
        messages: [await messageOf(s)],
        ...(body.audience !== undefined ? { audience: body.audience } : {}),
        send: 'draft',
      },
      by(req),
    );
    return reply.status(201).send(record);
  });
}
