/**
 * LIFF 設定 in the staff shell: each tenant's LINE Login channel and LIFF app (the residents' pages
 * inside LINE), listed for the tenants the caller sees; with チャネルの管理 a form to register an app
 * made in the LINE Developers console, or to create one through LINE's LIFF server API. The forms
 * are built by /assets/liff-settings.js over /api/v1/tenants/:id/liff and …/liff-app (which check the
 * tenant and the permission again, and audit the change).
 */
import { fileURLToPath } from 'node:url';
import { hasPermission, requireTenant } from '../auth.ts';
import { AppError } from '../errors.ts';
import { html, safeUrl } from '../html.ts';
import type { PageShell } from '../page-shell.ts';
import { tenantIdSchema } from '../tenants.ts';
import type { ResidentShell } from '../resident-shell.ts';

export function registerLiffSettingsPages(shell: PageShell, residents: Pick<ResidentShell, 'liffUrl'>): void {
  shell.assets({ 'liff-settings.js': fileURLToPath(new URL('../browser/liff-settings.ts', import.meta.url)) });
  shell.nav({ href: '/liff-settings', label: 'LIFF 設定', visible: (p) => hasPermission(p, 'manage_channels') });

  shell.page('/liff-settings', async ({ tenants }) => ({
    title: 'LIFF 設定 (住民向けページ)',
    styles: ['records.css'],
    scripts: [],
    body: html`<h1>LIFF 設定 (住民向けページ)</h1>
<p>住民が LINE の中で開くページ (LIFF アプリ) の設定です。各市町の LINE ログインチャネルと LIFF アプリを登録します。</p>
<table class="records"><caption>市町ごとの設定</caption>
<thead><tr><th scope="col">コード</th><th scope="col">名称</th><th scope="col">LINE ログインチャネル</th><th scope="col">LIFF ID</th><th scope="col">住民向けページ</th></tr></thead>
<tbody>${tenants.map((t) => {
      const url = residents.liffUrl(t, '');
      return html`<tr><td>${t.id}</td><td><a href="/municipalities/${t.id}/liff-settings">${t.name}</a></td>
<td>${t.liffChannelId || '未設定'}</td><td>${t.liffId || '未設定'}</td>
<td>${url ? html`<a href="${safeUrl(url)}">${url}</a>` : '—'}</td></tr>`;
    })}</tbody></table>`,
  }));

  shell.page<{ id: string }>('/municipalities/:id/liff-settings', async ({ req, principal, tenants }) => {
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(principal, id);
    const tenant = tenants.find((t) => t.id === id);
    if (!tenant) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
    const canEdit = hasPermission(principal, 'manage_channels');
    const url = residents.liffUrl(tenant, '');
    return {
      title: `${tenant.name} の LIFF 設定`,
      styles: ['records.css'],
      scripts: canEdit ? ['liff-settings.js'] : [],
      body: html`<h1>${tenant.name} の LIFF 設定 <small><a href="/liff-settings">一覧に戻る</a></small></h1>
<section class="card" aria-labelledby="liff-now-h"><h2 id="liff-now-h">現在の設定</h2>
<dl class="facts">
<dt>LINE ログインチャネル</dt><dd id="liff-channel">${tenant.liffChannelId || '未設定'}</dd>
<dt>LIFF ID</dt><dd id="liff-id">${tenant.liffId || '未設定'}</dd>
<dt>住民向けページ</dt><dd>${url ? html`<a href="${safeUrl(url)}">${url}</a>` : '未設定'}</dd>
<dt>接続先</dt><dd>${tenant.lineApi === 'sandbox' ? 'LINE サンドボックス (デモ)' : 'LINE'}</dd>
</dl></section>
${
  canEdit
    ? html`<form id="liff-register" class="card" data-tenant="${tenant.id}" novalidate aria-labelledby="liff-register-h">
<h2 id="liff-register-h">LINE Developers で作成した LIFF アプリを登録する</h2>
<div class="form-summary" role="alert" hidden></div>
<div class="field"><label for="r-channel">LINE ログインチャネル ID<span class="req">必須</span></label>
<input id="r-channel" name="liffChannelId" data-field="liffChannelId" inputmode="numeric" value="${tenant.liffChannelId}" aria-describedby="r-channel-err"><p class="field-error" id="r-channel-err" hidden></p></div>
<div class="field"><label for="r-liff">LIFF ID<span class="req">必須</span></label>
<input id="r-liff" name="liffId" data-field="liffId" value="${tenant.liffId}" aria-describedby="r-liff-err"><p class="field-error" id="r-liff-err" hidden></p></div>
<p class="actions"><button type="submit">登録する</button> <span class="status" role="status"></span></p>
</form>
<form id="liff-create" class="card" data-tenant="${tenant.id}" novalidate aria-labelledby="liff-create-h">
<h2 id="liff-create-h">LIFF アプリを作成する</h2>
<p>LINE の LIFF サーバー API で作成します。エンドポイント URL はこのスイートの <code>/liff/${tenant.id}/</code> です。チャネルシークレットは作成にだけ使い、保存しません。</p>
<div class="form-summary" role="alert" hidden></div>
<div class="field"><label for="c-channel">LINE ログインチャネル ID<span class="req">必須</span></label>
<input id="c-channel" name="loginChannelId" data-field="loginChannelId" inputmode="numeric" value="${tenant.liffChannelId}" aria-describedby="c-channel-err"><p class="field-error" id="c-channel-err" hidden></p></div>
<div class="field"><label for="c-secret">チャネルシークレット<span class="req">必須</span></label>
<input id="c-secret" name="loginChannelSecret" data-field="loginChannelSecret" type="password" autocomplete="off" aria-describedby="c-secret-err"><p class="field-error" id="c-secret-err" hidden></p></div>
<p class="actions"><button type="submit">作成する</button> <span class="status" role="status"></span></p>
</form>`
    : html`<p>設定の変更には「チャネルの管理」の権限が必要です。</p>`
}`,
    };
  });
}
