/**
 * The staff JSON API of faq/ (authentication as every staff API: a session with its CSRF token, a
 * personal API token, or the operator token). Reads: anyone who may see the tenant; changes: 配信
 * (deliver). Every change is audited by the store call that makes it.
 *
 *   GET  /api/v1/faq/template.xlsx                                 the import template
 *   GET  /api/v1/faq/tenants/:tenantId/scenario                    → Draft { nodes, live, updatedAt }
 *   PUT  /api/v1/faq/tenants/:tenantId/scenario   { nodes }        → Draft (400 invalid_scenario)
 *   GET  /api/v1/faq/tenants/:tenantId/scenario.xlsx               the draft as a sheet (imports again)
 *   GET  /api/v1/faq/tenants/:tenantId/scenario.csv                the same as CSV (UTF-8 BOM)
 *   POST /api/v1/faq/tenants/:tenantId/import     { file: base64 xlsx or CSV, confirm? }
 *          → { nodes, errors: [{ row, message }] }; confirm: the draft replaced (400 import_errors if any)
 *   POST /api/v1/faq/tenants/:tenantId/publish    { note? }        → ScenarioVersion (201)
 *   GET  /api/v1/faq/tenants/:tenantId/versions                    → { live, versions }
 *   POST /api/v1/faq/tenants/:tenantId/rollback   { number }       → Draft
 *   GET  /api/v1/faq/tenants/:tenantId/settings                    → FaqSettings
 *   PUT  /api/v1/faq/tenants/:tenantId/settings   FaqSettings      → FaqSettings
 *   GET  /api/v1/faq/tenants/:tenantId/stats?days=30               → statistics of the live scenario
 *          (totals, per node, per day, per node per day, paths ending in いいえ or the fallback, top per month)
 *   GET  /api/v1/faq/tenants/:tenantId/flow.svg?days=30            the flow view (SVG; .png and .pdf too)
 *   GET  /api/v1/faq/tenants/:tenantId/unmatched                   → { questions: [{ at, text }] }
 */
import type { AuditLog } from '../core/audit.ts';
import type { Authenticator } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import { staffRequests } from '../core/staff-requests.ts';
import { z } from '../core/zod.ts';
import { flowSvg } from './flow.ts';
import { flowPdf, flowPng } from './flow-export.ts';
import type { FaqStatsReader } from './stats.ts';
import type { FaqStore } from './store.ts';
import { importFile, scenarioCsv, scenarioXlsx, templateXlsx } from './xlsx.ts';

export interface FaqRouteDeps {
  auth: Authenticator;
  audit: AuditLog;
  store: FaqStore;
  stats: FaqStatsReader;
  now: () => number;
}

const MAX_XLSX = 5 * 1024 * 1024;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const importBody = z.object({
  file: z
    .string({ error: 'file に xlsx か CSV のファイルを base64 で入れてください' })
    .min(1, 'file に xlsx か CSV のファイルを base64 で入れてください')
    .max(Math.ceil((MAX_XLSX * 4) / 3) + 4, 'ファイルは 5 MB までです'),
  confirm: z.boolean().default(false),
});
const publishBody = z.object({ note: z.string().trim().max(200, 'メモは 200 文字以内です').default('') });
const rollbackBody = z.object({
  number: z.number({ error: '戻す版の番号を指定してください' }).int().min(1, '版の番号は 1 以上です'),
});
export const daysQuery = z.object({
  days: z.coerce
    .number({ error: '期間 (日数) は数値です' })
    .int('期間 (日数) は整数です')
    .min(1, '期間は 1 日以上です')
    .max(366, '期間は 366 日までです')
    .default(30),
});

const attachment = (reply: FastifyReply, type: string, name: string, ascii: string) =>
  reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`);

export function registerFaqRoutes(app: FastifyInstance, deps: FaqRouteDeps): void {
  const { auth, store, stats, audit } = deps;
  const staff = staffRequests(auth);
  const { pre, by, actor, seen } = staff;
  const editing = (req: FastifyRequest) => staff.allowed(req, 'deliver');
  const period = (req: FastifyRequest) => {
    const { days } = daysQuery.parse(req.query ?? {});
    const to = deps.now();
    return { from: to - days * 86_400_000, to };
  };
  const base = '/api/v1/faq/tenants/:tenantId';

  app.get('/api/v1/faq/template.xlsx', pre, async (req, reply) => {
    staff.who(req);
    return attachment(reply, XLSX, 'FAQシナリオ_テンプレート.xlsx', 'faq-template.xlsx').send(await templateXlsx());
  });
  app.get(`${base}/scenario`, pre, async (req) => store.draft(seen(req)));
  app.put(`${base}/scenario`, pre, async (req) => store.saveDraft(editing(req), req.body ?? {}, by(req), actor(req)));
  app.get(`${base}/scenario.xlsx`, pre, async (req, reply) => {
    const tenantId = seen(req);
    const draft = await store.draft(tenantId);
    const file = await scenarioXlsx(draft.nodes);
    await audit.by(by(req), {
      action: 'export',
      tenantId,
      target: 'faq/scenario.xlsx',
      detail: { nodes: draft.nodes.length },
    });
    return attachment(reply, XLSX, `FAQシナリオ_${tenantId}.xlsx`, 'faq-scenario.xlsx').send(file);
  });
  app.get(`${base}/scenario.csv`, pre, async (req, reply) => {
    const tenantId = seen(req);
    const draft = await store.draft(tenantId);
    await audit.by(by(req), {
      action: 'export',
      tenantId,
      target: 'faq/scenario.csv',
      detail: { nodes: draft.nodes.length },
    });
    return attachment(reply, 'text/csv; charset=utf-8', `FAQシナリオ_${tenantId}.csv`, 'faq-scenario.csv').send(
      scenarioCsv(draft.nodes),
    );
  });
  app.post(`${base}/import`, { ...pre, bodyLimit: Math.ceil((MAX_XLSX * 4) / 3) + 4096 }, async (req) => {
    const tenantId = editing(req);
    const body = importBody.parse(req.body ?? {});
    const data = Buffer.from(body.file, 'base64');
    if (!data.length) throw new AppError('invalid_xlsx', 'ファイルが空です', 400);
    const r = await importFile(data);
    if (body.confirm) {
      if (r.errors.length)
        throw new AppError(
          'import_errors',
          `${r.errors.length} 件の誤りがあるため取り込めません (${r.errors[0]!.row} 行目: ${r.errors[0]!.message})`,
          400,
          { errors: r.errors },
        );
      await store.saveDraft(tenantId, { nodes: r.nodes }, by(req), actor(req), 'xlsx');
    }
    return {
      saved: body.confirm,
      nodes: r.nodes.length,
      categories: r.nodes.filter((n) => n.kind === 'category').length,
      questions: r.nodes.filter((n) => n.kind === 'question').length,
      errors: r.errors,
    };
  });
  app.post(`${base}/publish`, pre, async (req, reply) => {
    const tenantId = editing(req);
    const { note } = publishBody.parse(req.body ?? {});
    return reply.status(201).send(await store.publish(tenantId, note, by(req), actor(req)));
  });
  app.get(`${base}/versions`, pre, async (req) => {
    const tenantId = seen(req);
    return { live: await store.liveNumber(tenantId), versions: await store.versions(tenantId) };
  });
  app.post(`${base}/rollback`, pre, async (req) => {
    const tenantId = editing(req);
    const { number } = rollbackBody.parse(req.body ?? {});
    return store.rollback(tenantId, number, by(req), actor(req));
  });
  app.get(`${base}/settings`, pre, async (req) => store.settings(seen(req)));
  app.put(`${base}/settings`, pre, async (req) =>
    store.saveSettings(editing(req), req.body ?? {}, by(req), actor(req)),
  );
  app.get(`${base}/stats`, pre, async (req) => {
    const tenantId = seen(req);
    const { from, to } = period(req);
    const { number, nodes } = await store.live(tenantId);
    const s = await stats.stats(tenantId, nodes, from, to);
    return {
      live: number,
      from: s.from,
      to: s.to,
      totals: s.totals,
      kinds: s.kinds,
      daily: s.daily,
      nodes: nodes.map((n) => {
        const x = s.nodes.get(n.id);
        return {
          nodeId: n.id,
          title: n.title,
          kind: n.kind,
          views: x?.views ?? 0,
          yes: x?.yes ?? 0,
          no: x?.no ?? 0,
          rate: x?.rate ?? null,
          unmatched: x?.unmatched ?? 0,
          fallback: x?.fallback ?? 0,
          ai: x?.ai ?? 0,
        };
      }),
      nodeDaily: s.nodeDaily,
      ai: s.ai,
      unresolved: s.unresolved,
      fallbacks: s.fallbacks,
      endings: s.endings,
      monthlyTop: s.monthlyTop,
    };
  });
  const flow = async (req: FastifyRequest) => {
    const tenantId = seen(req);
    const { from, to } = period(req);
    const { nodes } = await store.live(tenantId);
    if (!nodes.length) throw new AppError('faq_not_published', 'シナリオがまだ公開されていません', 404);
    const s = await stats.stats(tenantId, nodes, from, to);
    return { tenantId, svg: `<?xml version="1.0" encoding="UTF-8"?>\n${(await flowSvg(nodes, s.nodes)).value}` };
  };
  app.get(`${base}/flow.svg`, pre, async (req, reply) => {
    const { svg } = await flow(req);
    return reply
      .header('content-type', 'image/svg+xml; charset=utf-8')
      .header('content-disposition', `inline; filename="faq-flow.svg"`)
      .send(svg);
  });
  app.get(`${base}/flow.png`, pre, async (req, reply) => {
    const { tenantId, svg } = await flow(req);
    return attachment(reply, 'image/png', `FAQシナリオの流れ_${tenantId}.png`, 'faq-flow.png').send(flowPng(svg));
  });
  app.get(`${base}/flow.pdf`, pre, async (req, reply) => {
    const { tenantId, svg } = await flow(req);
    const { days } = daysQuery.parse(req.query ?? {});
    const pdf = await flowPdf(flowPng(svg), `FAQ シナリオの流れ (直近 ${days} 日の表示回数・解決率)`);
    return attachment(reply, 'application/pdf', `FAQシナリオの流れ_${tenantId}.pdf`, 'faq-flow.pdf').send(pdf);
  });
  app.get(`${base}/unmatched`, pre, async (req) => ({ questions: await stats.unmatched(seen(req)) }));
}
