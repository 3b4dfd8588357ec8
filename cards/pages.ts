/**
 * The cards' staff page (/cards) in the dashboard's frame:
 *  - counts for every tenant the caller sees (registered households, eligible, by kind, by month);
 *  - with カード利用者情報 only: the holder search (audited as it is drawn), the CSV export and a push
 *    to the holders ticked in the results;
 *  - for prefecture, contractor and admin accounts: the card and pass images (upload a draft, see it
 *    at 360 px, publish) and the shop code, with the barcode residents' cards show.
 */
import { fileURLToPath } from 'node:url';
import { hasPermission } from '../core/auth.ts';
import { auditContext } from '../core/audit.ts';
import { html, type SafeHtml } from '../core/html.ts';
import { seesEveryTenant, type PageShell } from '../core/page-shell.ts';
import { formatWarekiMonth } from '../core/time.ts';
import { shopCodeBarcodeUrl } from './barcode.ts';
import type { CardImages } from './images.ts';
import type { CardStaff, HolderRow } from './staff.ts';

const file = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export function registerCardsPages(shell: PageShell, deps: { staff: CardStaff; images: CardImages }): void {
  shell.assets({ 'cards-staff.js': file('./browser/staff.ts') });
  shell.nav({ href: '/cards', label: '優待カード' });

  shell.page<Record<string, string>, { tenant?: string; q?: string }>('/cards', async ({ req, principal, tenants }) => {
    const rows = tenants.map((t) => ({ t, c: deps.staff.counts(principal, t.id) }));
    const months = new Map<string, number>();
    for (const { c } of rows) for (const m of c.byMonth) months.set(m.month, (months.get(m.month) ?? 0) + m.registered);
    const total = rows.reduce(
      (a, { c }) => ({ registered: a.registered + c.registered, eligible: a.eligible + c.eligible }),
      { registered: 0, eligible: 0 },
    );
    const counts = html`<section aria-labelledby="counts-h"><h2 id="counts-h">登録世帯数</h2>
<table><caption>市町 (テナント) 別の登録世帯数 (個人情報は含みません)</caption>
<thead><tr><th scope="col">市町</th><th scope="col">登録世帯</th><th scope="col">利用可</th><th scope="col">対象外</th><th scope="col">子育て世帯</th><th scope="col">妊娠中</th><th scope="col">祖父母</th></tr></thead>
<tbody>${rows.map(
      ({ t, c }) =>
        html`<tr><th scope="row">${t.name}</th><td class="num">${c.registered.toLocaleString('ja-JP')}</td><td class="num">${c.eligible.toLocaleString('ja-JP')}</td><td class="num">${c.ineligible.toLocaleString('ja-JP')}</td><td class="num">${c.byKind.children}</td><td class="num">${c.byKind.pregnant}</td><td class="num">${c.byKind.grandparent}</td></tr>`,
    )}</tbody>
<tfoot><tr><th scope="row">合計</th><td class="num" data-testid="total-registered">${total.registered.toLocaleString('ja-JP')}</td><td class="num">${total.eligible.toLocaleString('ja-JP')}</td><td colspan="4"></td></tr></tfoot></table>
${
  months.size
    ? html`<table><caption>月別の新規登録世帯数</caption><thead><tr><th scope="col">月</th><th scope="col">新規登録</th></tr></thead>
<tbody>${[...months].sort(([a], [b]) => a.localeCompare(b)).map(([m, n]) => html`<tr><th scope="row">${formatWarekiMonth(m)}</th><td class="num">${n}</td></tr>`)}</tbody></table>`
    : html`<p data-testid="no-registrations">月別の新規登録: まだ登録はありません。</p>`
}</section>`;

    let holders: SafeHtml = html`<p class="note" data-testid="no-permission">利用者の氏名などの個人情報は、「カード利用者情報」の権限があるアカウントだけが表示・出力できます (権限は管理者が付与します)。</p>`;
    if (hasPermission(principal, 'card_holders')) {
      const tenantId =
        req.query.tenant && tenants.some((t) => t.id === req.query.tenant) ? req.query.tenant : tenants[0]?.id;
      let results: SafeHtml = html``;
      if (tenantId && req.query.q !== undefined) {
        const r = await deps.staff.search(auditContext(req, principal), tenantId, { q: req.query.q, limit: 200 });
        results = html`<form id="push-form" data-url="/api/v1/cards/tenants/${tenantId}/push" novalidate>
<p>${r.total} 件${r.total > r.holders.length ? ` (先頭 ${r.holders.length} 件を表示)` : ''}</p>
<table><caption>カード利用者</caption><thead><tr><th scope="col">選択</th><th scope="col">カード対象者</th><th scope="col">続柄</th><th scope="col">区分</th><th scope="col">お子さま</th><th scope="col">利用</th></tr></thead>
<tbody>${r.holders.map((h: HolderRow, i) => html`<tr><td><input type="checkbox" name="userIds" value="${h.userId}" id="h-${i}" aria-label="${h.holderName}さんに送る"></td><th scope="row">${h.holderName}</th><td>${h.relationship}</td><td>${h.kind}</td><td>${h.children.map((c) => `${c.name} (${c.birthDate})`).join('、')}</td><td>${h.eligible ? '利用可' : '対象外'}</td></tr>`)}</tbody></table>
<label for="push-text">選んだ利用者に送るメッセージ</label>
<textarea id="push-text" name="text" rows="3" maxlength="5000"></textarea>
<p class="actions"><button type="submit">選んだ利用者に送信</button></p>
<p class="status" role="status" aria-live="polite"></p></form>`;
      }
      holders = html`<section aria-labelledby="holders-h"><h2 id="holders-h">カード利用者の検索 (カード利用者情報)</h2>
<form method="get" action="/cards" class="form-grid">
<label for="h-tenant">市町</label><select id="h-tenant" name="tenant">${tenants.map((t) => html`<option value="${t.id}"${t.id === tenantId ? html` selected` : ''}>${t.name}</option>`)}</select>
<label for="h-q">氏名 (カード対象者・お子さま、空欄ですべて)</label><input id="h-q" name="q" value="${req.query.q ?? ''}" maxlength="50">
<p class="actions"><button type="submit">検索</button> ${tenantId ? html`<a href="/api/v1/cards/tenants/${tenantId}/holders.csv" download>CSV を出力 (監査ログに記録されます)</a>` : ''}</p>
</form>${results}</section>`;
    }

    const imageSection = (kind: 'card' | 'pass', label: string, tenantId: string) => {
      const published = deps.images.has(tenantId, kind);
      const draft = deps.images.has(tenantId, kind, 'draft');
      const api = `/api/v1/cards/tenants/${tenantId}/images/${kind}`;
      return html`<section aria-labelledby="img-${kind}-h" class="card"><h3 id="img-${kind}-h">${label}</h3>
<div class="c-previews">
<figure><figcaption>公開中</figcaption>${published ? html`<img src="${api}/published" alt="公開中の${label}" width="360">` : html`<p>未登録</p>`}</figure>
<figure><figcaption>下書き (プレビュー、幅 360 ピクセル)</figcaption>${draft ? html`<img src="${api}/draft" alt="下書きの${label}" width="360">` : html`<p>なし</p>`}</figure>
</div>
<form class="image-form" data-url="${api}" novalidate>
<label for="file-${kind}">画像 (PNG・JPEG、2 MB まで、縦横 100〜4000 ピクセル)</label>
<input type="file" id="file-${kind}" name="image" accept="image/png,image/jpeg">
<p class="actions"><button type="submit">下書きとしてアップロード</button>${draft ? html` <button type="button" data-publish="${api}/publish">下書きを公開する</button>` : ''}</p>
<p class="status" role="status" aria-live="polite"></p></form></section>`;
    };
    const canImages = seesEveryTenant(principal);
    // the tenant picked in the search, else the prefecture's account (Saitama runs one), else the first
    const imageTenant =
      tenants.find((t) => t.id === req.query.tenant) ?? tenants.find((t) => t.kind === 'prefecture') ?? tenants[0];
    const shopCode = imageTenant ? deps.images.shopCode(imageTenant.id) : '';
    const images =
      canImages && imageTenant
        ? html`<section aria-labelledby="images-h"><h2 id="images-h">カードとパスの画像 (${imageTenant.name})</h2>
${imageSection('card', 'パパ・ママ応援ショップ優待カードの画像', imageTenant.id)}
${imageSection('pass', 'まいたまパスの画像', imageTenant.id)}
<form id="shop-code-form" data-url="/api/v1/cards/tenants/${imageTenant.id}/shop-code" novalidate>
<label for="shop-code">カードに表示するショップコード (全利用者共通)</label>
<input id="shop-code" name="shopCode" value="${shopCode}" maxlength="32">
<p class="actions"><button type="submit">保存</button></p><p class="status" role="status" aria-live="polite"></p></form>
${shopCode ? html`<figure><figcaption>利用者のカードに表示されるバーコード (Code 128)</figcaption><img src="${shopCodeBarcodeUrl(imageTenant.id, shopCode)}" alt="ショップコード ${shopCode} のバーコード" width="320" data-testid="shop-barcode-preview"></figure>` : ''}</section>`
        : html``;
    return {
      title: 'パパ・ママ応援ショップ優待カード',
      scripts: ['cards-staff.js'],
      // the staff pages' forms and buttons, as every other staff page has them
      styles: ['records.css'],
      body: html`<h1>パパ・ママ応援ショップ優待カード</h1>${counts}${holders}${images}`,
    };
  });
}
