/**
 * Mail-started deliveries, staff API (`deliver` to change; audited here, in the call):
 *
 *   GET    /api/v1/tenants/:tenantId/mail                 address, allowed senders, rules, recent mails
 *   PUT    /api/v1/tenants/:tenantId/mail/settings        { enabled, allowedSenders } (the address is made on first use)
 *   POST   /api/v1/tenants/:tenantId/mail/address         a new secret part (the old address stops working)
 *   POST   /api/v1/tenants/:tenantId/mail/rules           a rule;  PUT|DELETE …/mail/rules/:ruleId
 *
 * and, for residents, the full text of a notice too long for one LINE message (public, by an
 * unguessable id): GET /notices/:noticeId.
 */
import type { AuditLog } from '../../core/audit.ts';
import type { Authenticator } from '../../core/auth.ts';
import { AppError } from '../../core/errors.ts';
import { html } from '../../core/html.ts';
import type { FastifyInstance } from '../../core/http.ts';
import { residentErrorPage, residentPage } from '../../core/resident/pages.ts';
import { staffRequests } from '../../core/staff-requests.ts';
import type { TenantStore } from '../../core/tenants.ts';
import { tokyoDateTime } from '../../core/time.ts';
import { z } from '../../core/zod.ts';
import { parseOrThrow } from '../service.ts';
import { ruleIdOf, ruleInputSchema } from './rules.ts';
import { type MailStore, newId, newSecret } from './store.ts';

const sender = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^([^\s@]+@|@)[a-z0-9.-]+\.[a-z]{2,}$/,
    'メールアドレス (例: bousai@pref.example.jp) か @ドメイン で指定してください',
  );
const settingsSchema = z.object({
  enabled: z.boolean({ error: 'enabled は true か false です' }),
  allowedSenders: z.array(sender, { error: '差出人はメールアドレスの配列です' }).max(50, '差出人は 50 件までです'),
});

export interface MailRouteDeps {
  auth: Authenticator;
  store: MailStore;
  tenants: TenantStore;
  audit: AuditLog;
  /** The recipient address of a secret part, and whether the listener runs. */
  address: (tenantId: string, secret: string) => string;
  listening: () => boolean;
}

export function registerMailRoutes(app: FastifyInstance, d: MailRouteDeps): void {
  const staff = staffRequests(d.auth);
  const base = '/api/v1/tenants/:tenantId/mail';
  const editor = async (req: Parameters<typeof staff.allowed>[0]) =>
    (await d.tenants.require(staff.allowed(req, 'deliver'))).id;

  app.get(base, staff.pre, async (req) => {
    const tenantId = (await d.tenants.require(staff.seen(req))).id;
    const s = await d.store.settings(tenantId);
    return {
      listening: d.listening(),
      address: s ? d.address(tenantId, s.secret) : null,
      enabled: s?.enabled ?? false,
      allowedSenders: s?.allowedSenders ?? [],
      rules: await d.store.rules(tenantId),
      mails: (await d.store.log(tenantId, 100)).map((m) => ({
        ...m,
        receivedAt: new Date(m.receivedAt).toISOString(),
      })),
    };
  });

  app.put(`${base}/settings`, staff.pre, async (req) => {
    const tenantId = await editor(req);
    const v = parseOrThrow(settingsSchema, req.body, 'invalid_mail_settings');
    const old = await d.store.settings(tenantId);
    const next = { tenantId, secret: old?.secret ?? newSecret(), ...v, allowedSenders: [...new Set(v.allowedSenders)] };
    await d.audit.by(staff.by(req), {
      action: 'mail_settings_changed',
      tenantId,
      target: tenantId,
      detail: { enabled: next.enabled, allowedSenders: next.allowedSenders },
    });
    await d.store.putSettings(next, staff.actor(req));
    return { address: d.address(tenantId, next.secret), enabled: next.enabled, allowedSenders: next.allowedSenders };
  });

  app.post(`${base}/address`, staff.pre, async (req, reply) => {
    const tenantId = await editor(req);
    const old = await d.store.settings(tenantId);
    const next = {
      tenantId,
      secret: newSecret(),
      enabled: old?.enabled ?? false,
      allowedSenders: old?.allowedSenders ?? [],
    };
    await d.audit.by(staff.by(req), { action: 'mail_address_changed', tenantId, target: tenantId });
    await d.store.putSettings(next, staff.actor(req));
    return reply.status(201).send({ address: d.address(tenantId, next.secret) });
  });

  app.post(`${base}/rules`, staff.pre, async (req, reply) => {
    const tenantId = await editor(req);
    const rule = { ...parseOrThrow(ruleInputSchema, req.body, 'invalid_mail_rule'), ruleId: newId(9) };
    await d.audit.by(staff.by(req), {
      action: 'mail_rule_saved',
      tenantId,
      target: rule.ruleId,
      detail: { name: rule.name },
    });
    await d.store.putRule(tenantId, rule, staff.actor(req));
    return reply.status(201).send(rule);
  });

  const existing = async (tenantId: string, raw: string) => {
    const r = (await d.store.rules(tenantId)).find((x) => x.ruleId === ruleIdOf(raw));
    if (!r) throw new AppError('mail_rule_not_found', 'ルールが見つかりません', 404);
    return r;
  };
  app.put(`${base}/rules/:ruleId`, staff.pre, async (req) => {
    const tenantId = await editor(req);
    const old = await existing(tenantId, staff.param(req, 'ruleId'));
    const rule = { ...parseOrThrow(ruleInputSchema, req.body, 'invalid_mail_rule'), ruleId: old.ruleId };
    await d.audit.by(staff.by(req), {
      action: 'mail_rule_saved',
      tenantId,
      target: rule.ruleId,
      detail: { name: rule.name },
    });
    await d.store.putRule(tenantId, rule, staff.actor(req));
    return rule;
  });
  app.delete(`${base}/rules/:ruleId`, staff.pre, async (req) => {
    const tenantId = await editor(req);
    const old = await existing(tenantId, staff.param(req, 'ruleId'));
    await d.audit.by(staff.by(req), {
      action: 'mail_rule_deleted',
      tenantId,
      target: old.ruleId,
      detail: { name: old.name },
    });
    await d.store.putRule(tenantId, old, staff.actor(req), true);
    return { ok: true };
  });

  // the full text of a long notice, for residents (linked from the LINE message)
  app.get<{ Params: { noticeId: string } }>('/notices/:noticeId', async (req, reply) => {
    const id = req.params.noticeId;
    const n = /^[A-Za-z0-9_-]{32}$/.test(id) ? await d.store.notice(id) : undefined;
    const tenant = n ? await d.tenants.get(n.tenant_id) : undefined;
    const page =
      n && tenant
        ? residentPage({
            tenant,
            title: n.subject || 'お知らせ',
            body: html`<article class="r-card notice"><p class="r-muted">${(() => {
              const t = tokyoDateTime(n.created_ms);
              return `${t.date} ${t.time} 配信`;
            })()}</p>${n.body.split(/\n{2,}/).map((p) => html`<p>${p.split('\n').map((l, i) => (i ? html`<br>${l}` : html`${l}`))}</p>`)}</article>`,
          })
        : residentErrorPage(undefined, 'このお知らせは見つかりません');
    return reply
      .status(n && tenant ? 200 : 404)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-robots-tag', 'noindex')
      .send(page.value);
  });
}
