/**
 * API tokens on the admin's ユーザー管理 page: every token not revoked (who, what for, when made,
 * when it expires), a form to make one (its lifetime in days, 90 unless changed) and a button to
 * revoke each. A new token is shown once, on the page the form leads to; only its hash is stored.
 * Every creation and revocation is in the audit log.
 */
import { checkCsrf, requireAdmin, setPrincipal, type Authenticator, type Principal } from '../core/auth.ts';
import { auditContext, type AuditLog } from '../core/audit.ts';
import { AppError, isAppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import { html, type SafeHtml } from '../core/html.ts';
import {
  TOKEN_DEFAULT_DAYS,
  tokenDaysSchema,
  usernameSchema,
  type ApiTokenInfo,
  type StaffStore,
  type StaffUser,
} from '../core/users.ts';
import { z } from '../core/zod.ts';
import type { DashboardData } from './data.ts';
import { errorPage, layout } from './pages.ts';
import { tokyoMinute } from '../core/time.ts';

/** 'YYYY-MM-DD HH:mm' in Japan time. */
const tokyo = (iso: string): string => tokyoMinute(Date.parse(iso));

/** The API-token section of the users page. */
export function tokensSection(tokens: ApiTokenInfo[], accounts: StaffUser[], csrf: string): SafeHtml {
  const rows = tokens.map(
    (t) => html`<tr><td><code>${t.id}</code></td><td>${t.username}</td><td>${t.label || '—'}</td>
<td>${tokyo(t.createdAt)}</td><td>${tokyo(t.expiresAt)}</td><td>${t.expired ? '期限切れ' : '有効'}</td>
<td><form method="post" action="/admin/tokens/revoke"><input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="username" value="${t.username}"><input type="hidden" name="id" value="${t.id}">
<button type="submit">失効させる</button></form></td></tr>`,
  );
  return html`<section id="tokens" aria-labelledby="tokens-title"><h2 id="tokens-title">API トークン</h2>
<p class="note">スクリプトから API を呼ぶためのトークンです。有効期限は発行から ${TOKEN_DEFAULT_DAYS} 日 (発行時に変更できます)。パスワードを変えたとき、アカウントを停止したときは、その人のトークンはすべて失効します。</p>
${
  tokens.length
    ? html`<table id="token-list"><thead><tr><th>ID</th><th>ユーザー名</th><th>用途</th><th>発行日時</th><th>有効期限</th><th>状態</th><th>操作</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<p id="token-list-empty">有効な API トークンはありません。</p>`
}
<form method="post" action="/admin/tokens" class="token-new"><input type="hidden" name="_csrf" value="${csrf}">
<label for="token-username">ユーザー</label><select id="token-username" name="username" required>${accounts
    .filter((u) => !u.disabled)
    .map((u) => html`<option value="${u.username}">${u.username} (${u.displayName})</option>`)}</select>
<label for="token-label">用途</label><input id="token-label" name="label" maxlength="60">
<label for="token-days">有効期間 (日)</label><input id="token-days" name="days" type="number" min="1" max="730" value="${TOKEN_DEFAULT_DAYS}" required>
<button type="submit">トークンを発行</button></form></section>`;
}

const createForm = z.object({
  username: usernameSchema,
  label: z.string().trim().max(60, '用途は 60 文字以内です').default(''),
  days: tokenDaysSchema.default(TOKEN_DEFAULT_DAYS),
});
const revokeForm = z.object({ username: usernameSchema, id: z.string().trim().min(1).max(64) });

export interface TokenPageDeps {
  auth: Authenticator;
  users: StaffStore;
  audit: AuditLog;
  data: DashboardData;
}

/** POST /admin/tokens (make one, shown once) and POST /admin/tokens/revoke: admins, with the CSRF token. */
export function registerTokenPages(app: FastifyInstance, deps: TokenPageDeps): void {
  const { auth, users, audit, data } = deps;

  const admin = async (req: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> => {
    const p = await auth.identify(req);
    if (!p) {
      void reply.redirect('/login?next=%2Fadmin%2Fusers', 303);
      return undefined;
    }
    setPrincipal(req, p);
    checkCsrf(req, p);
    requireAdmin(p);
    return p;
  };
  /** An AppError as the Japanese error page with its status. */
  const failed = async (reply: FastifyReply, p: Principal, e: unknown) => {
    if (!isAppError(e) || e.status >= 500) throw e;
    return reply
      .status(e.status)
      .type('text/html; charset=utf-8')
      .send(errorPage({ status: e.status, message: e.message, principal: p, tenants: await data.visible(p) }).value);
  };

  app.post('/admin/tokens', async (req, reply) => {
    const p = await admin(req, reply);
    if (!p) return reply;
    try {
      const v = createForm.parse(req.body ?? {});
      const { token, info } = await users.createApiToken(v.username, { label: v.label, days: v.days });
      await audit.by(auditContext(req, p), {
        action: 'api_token_created',
        target: v.username,
        detail: { id: info.id, label: info.label, expiresAt: info.expiresAt },
      });
      const page = layout({
        title: 'API トークンを発行しました',
        principal: p,
        tenants: await data.visible(p),
        scripts: false,
        body: html`<h1>API トークンを発行しました</h1>
<p class="note" role="status">${info.username} のトークン (ID <code>${info.id}</code>、有効期限 ${tokyo(info.expiresAt)}) です。<strong>この画面を離れると二度と表示されません。</strong>Authorization: Bearer &lt;トークン&gt; で API を呼び出せます。</p>
<p><code id="new-token">${token}</code></p><p><a href="/admin/users#tokens">ユーザー管理へ戻る</a></p>`,
      });
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page.value);
    } catch (e) {
      return failed(reply, p, e instanceof z.ZodError ? zodAsAppError(e) : e);
    }
  });

  app.post('/admin/tokens/revoke', async (req, reply) => {
    const p = await admin(req, reply);
    if (!p) return reply;
    try {
      const v = revokeForm.parse(req.body ?? {});
      const info = await users.revokeToken(v.id, v.username);
      await audit.by(auditContext(req, p), {
        action: 'api_token_revoked',
        target: v.username,
        detail: { id: info.id, label: info.label },
      });
      return reply.redirect('/admin/users#tokens', 303);
    } catch (e) {
      return failed(reply, p, e instanceof z.ZodError ? zodAsAppError(e) : e);
    }
  });
}

function zodAsAppError(e: z.ZodError): AppError {
  return new AppError('invalid_input', `入力内容に誤りがあります: ${e.issues.map((i) => i.message).join(' / ')}`, 400);
}
