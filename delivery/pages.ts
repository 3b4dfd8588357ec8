/**
 * delivery's pages, drawn inside the staff shell (core/page-shell.ts): 配信 (the composer and the
 * delivery list) and 配信設定. Their controls are built in the browser by browser/composer.ts,
 * browser/live-deliveries.ts and browser/delivery-settings.ts over delivery's API, which checks the
 * tenant and permissions again.
 */
import { fileURLToPath } from 'node:url';
import { hasPermission, requireTenant, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import { html } from '../core/html.ts';
import type { PageContent, PageShell } from '../core/page-shell.ts';
import { tenantIdSchema, type Tenant } from '../core/tenants.ts';
import { CLICK_DIMENSION_LABELS } from '../core/vocabulary.ts';
import { registerRichMenuPages } from './rich-menus/index.ts';
import { registerMailPages } from './mail/index.ts';

/** The tenant a page under /municipalities/:id is about, if this caller may see it. */
function tenantOf(p: Principal, tenants: Tenant[], raw: string): Tenant {
  const id = tenantIdSchema.parse(raw);
  requireTenant(p, id);
  const tenant = tenants.find((t) => t.id === id);
  if (!tenant) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
  return tenant;
}

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * 配信 and 配信設定 in the shell, and their browser files under /assets/: the scripts are TypeScript
 * entries under browser/ (bundled by the shell), the styles plain files under public/. live-deliveries.js
 * is also loaded by the dashboard's 市町 page, which shows the same list.
 */
export function registerDeliveryPages(shell: PageShell): void {
  shell.assets({
    'composer.js': file('./browser/composer.ts'),
    'delivery-settings.js': file('./browser/delivery-settings.ts'),
    'live-deliveries.js': file('./browser/live-deliveries.ts'),
    'composer.css': file('./public/composer.css'),
    'line-preview.css': file('./public/line-preview.css'),
    'delivery-settings.css': file('./public/delivery-settings.css'),
  });
  shell.page<{ id: string }>('/municipalities/:id/deliveries', async ({ req, principal, tenants }) =>
    deliveriesPage(tenantOf(principal, tenants, req.params.id), {
      canDeliver: hasPermission(principal, 'deliver'),
      canExportResidents: hasPermission(principal, 'export_residents'),
    }),
  );
  shell.page<{ id: string }>('/municipalities/:id/delivery-settings', async ({ req, principal, tenants }) =>
    deliverySettingsPage(tenantOf(principal, tenants, req.params.id), { canEdit: hasPermission(principal, 'deliver') }),
  );
  registerMailPages(shell);
  registerRichMenuPages(shell);
}

/**
 * 配信: the composer (with the deliver permission) and the tenant's deliveries with live progress.
 * The composer's controls (messages, segment builder, live count, check, preview, test-send) are
 * built by /assets/composer.js over delivery's API, the list by /assets/live-deliveries.js; this is their frame.
 */
export function deliveriesPage(
  tenant: Pick<Tenant, 'id' | 'name'>,
  ctx: { canDeliver: boolean; canExportResidents: boolean },
): PageContent {
  const composer = ctx.canDeliver
    ? html`<form id="composer" class="card composer" data-tenant="${tenant.id}" data-tenant-name="${tenant.name}" novalidate aria-labelledby="composer-h">
<h2 id="composer-h">新しい配信</h2>
<div class="form-summary" role="alert" hidden></div>
<div class="composer-cols"><div class="composer-main">
<div class="field"><label for="c-title">件名 (管理用、住民には表示されません)<span class="req">必須</span></label>
<input id="c-title" name="title" data-field="title" required maxlength="100" aria-describedby="c-title-err"><p class="field-error" id="c-title-err" hidden></p></div>
<fieldset id="c-messages" data-field="messages"><legend>メッセージ <small>(1〜5 件。上から順に届きます)</small></legend>
<p class="field-error" id="c-messages-err" hidden></p>
<div id="message-list"><p class="note">読み込み中…</p></div>
<p class="actions"><button type="button" class="secondary" id="add-message">＋ メッセージを追加</button> <span id="message-room" class="note"></span></p>
</fieldset>
<fieldset id="c-audience" data-field="audience"><legend>配信対象</legend>
<p class="field-error" id="c-audience-err" hidden></p>
<div class="choice-row" role="radiogroup" aria-label="配信対象">
<label class="check"><input type="radio" name="audienceType" value="all" checked> すべての友だち</label>
<label class="check"><input type="radio" name="audienceType" value="segment"> セグメント (属性で絞り込む)</label>
<label class="check"><input type="radio" name="audienceType" value="test"> テスト端末 <span id="test-device-count"></span></label>
</div>
<div id="send-method" class="sub" data-field="sendMethod" role="radiogroup" aria-label="送り方" aria-describedby="c-send-method-err">送り方:
<label class="check"><input type="radio" name="sendMethod" value="broadcast" checked> 一斉配信 (broadcast)</label>
<label class="check"><input type="radio" name="sendMethod" value="multicast"> マルチキャスト (500 人ずつ)</label>
<p class="field-error" id="c-send-method-err" hidden></p></div>
<div id="segment-builder" class="sub" hidden></div>
<p id="audience-count" class="count" role="status" aria-live="polite"></p>
</fieldset>
<fieldset><legend>オプション</legend>
<div class="opt"><label class="check"><input type="checkbox" name="notificationDisabled"> 通知なしで送る</label></div>
<div class="opt"><label class="check"><input type="checkbox" name="trackClicks" data-field="trackClicks" checked aria-describedby="c-track-err"> クリック計測 (本文の URL のクリックを数える)</label><p class="field-error" id="c-track-err" hidden></p></div>
<div class="field" id="bucket-field"><label for="c-bucket">属性別のクリック集計 (マルチキャストのみ)</label>
<select id="c-bucket" name="clickBucket" data-field="clickBucket" aria-describedby="c-bucket-err"><option value="">しない</option>${Object.entries(CLICK_DIMENSION_LABELS).map(([id, label]) => html`<option value="${id}">${label}</option>`)}</select>
<p class="field-error" id="c-bucket-err" hidden></p></div>
</fieldset>
<fieldset data-field="scheduledAt"><legend>送信のしかた</legend>
<p class="field-error" id="c-when-err" hidden></p>
<label class="check"><input type="radio" name="send" value="draft" checked> 下書き保存</label>
<label class="check"><input type="radio" name="send" value="now"> すぐに送る</label>
<label class="check"><input type="radio" name="send" value="schedule"> 予約:</label>
<input type="datetime-local" name="scheduledAt" aria-label="予約する日時 (日本時間)" aria-describedby="c-when-err"> <span class="note">(日本時間)</span>
</fieldset>
<div class="actions">
<button type="button" class="secondary" id="validate-button">内容を確認</button>
<button type="button" class="secondary" id="preview-button">プレビュー</button>
<button type="button" class="secondary" id="test-send-button">テスト送信</button>
<button type="submit" id="submit-button">下書き保存</button>
</div>
<p id="composer-result" class="status" role="status" aria-live="polite"></p>
</div>
<aside class="composer-preview" aria-labelledby="preview-h"><h3 id="preview-h">プレビュー (住民の LINE での見え方)</h3>
<div id="preview" aria-live="polite"><p class="note">「プレビュー」を押すと、ここにトーク画面のように表示されます。</p></div></aside>
</div>
</form>`
    : html`<p class="note">このアカウントには「配信」の権限がないため、配信の作成はできません (一覧は見られます)。</p>`;
  return {
    title: `${tenant.name} の配信`,
    scripts: ctx.canDeliver ? ['live-deliveries.js', 'composer.js'] : ['live-deliveries.js'],
    styles: ctx.canDeliver ? ['records.css', 'composer.css', 'line-preview.css'] : ['line-preview.css'],
    body: html`<h1>${tenant.name} の配信 <small><a href="/municipalities/${tenant.id}">状況を見る</a> <a id="settings-link" href="/municipalities/${tenant.id}/delivery-settings">配信設定 (地域・分野・登録項目・テスト端末・リッチメニュー)</a> <a id="mail-link" href="/municipalities/${tenant.id}/mail">メールからの配信</a></small></h1>
${composer}
<h2>配信一覧と進み具合</h2>
<div class="toolbar"><a class="button" id="download-deliveries" href="/api/v1/tenants/${tenant.id}/deliveries.csv">配信一覧 (CSV)</a>${
      ctx.canExportResidents
        ? html` <a class="button" id="download-residents" href="/api/v1/tenants/${tenant.id}/residents.csv">住民の登録内容 (CSV)</a> <a class="button" id="download-friends" href="/api/v1/tenants/${tenant.id}/residents.csv?friends=1">住民の登録内容・友だちのみ (CSV)</a>`
        : ''
    }</div>
<div id="live-deliveries" class="card" data-tenant="${tenant.id}"${ctx.canDeliver ? html` data-can-deliver` : ''} aria-live="polite">読み込み中…</div>`,
  };
}

/**
 * 配信設定: the areas, the 関心のある分野 tree, extra registration items, test devices and the rich
 * menu, drawn and changed by /assets/delivery-settings.js over delivery's API (which checks the
 * tenant and the deliver permission again).
 */
export function deliverySettingsPage(tenant: Pick<Tenant, 'id' | 'name'>, ctx: { canEdit: boolean }): PageContent {
  return {
    title: `${tenant.name} の配信設定`,
    scripts: ['delivery-settings.js'],
    styles: ['records.css', 'composer.css', 'delivery-settings.css'],
    body: html`<h1>${tenant.name} の配信設定 <small><a href="/municipalities/${tenant.id}/deliveries">配信に戻る</a> <a id="rich-menus-link" href="/municipalities/${tenant.id}/rich-menus">リッチメニューの編集</a></small></h1>
<div id="delivery-settings" data-tenant="${tenant.id}"${ctx.canEdit ? html` data-can-edit` : ''}></div>`,
  };
}
