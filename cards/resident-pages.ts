/**
 * The residents' card pages inside LINE (LIFF), drawn in the resident frame (core/resident-shell.ts):
 *
 *   cards/card       パパ・ママ応援ショップ優待カード: the prefecture's card image, the holder's registered
 *                    data (no extra tap), the shop code as a Code 128 barcode (cards/barcode.ts) and as
 *                    text, a live clock with seconds and the date; for a
 *                    household no longer eligible, the card image hidden and why
 *   cards/register   registration and change: holder, relationship, up to five children, or a
 *                    pregnant household, or supporting grandparents
 *   cards/pass       まいたまパス: the image anyone may show, no registration
 *
 * The pages are frames; the browser scripts (browser/*.ts) fetch the resident's own data with the
 * LIFF ID token (residentFetch).
 */
import { fileURLToPath } from 'node:url';
import { html } from '../core/html.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import { MAX_CHILDREN } from './schemas.ts';

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export function registerCardsResidentPages(residents: ResidentShell): void {
  residents.assets({
    'cards-resident.css': file('./browser/cards.css'),
    'cards-card.js': file('./browser/card.ts'),
    'cards-register.js': file('./browser/register.ts'),
    'cards-pass.js': file('./browser/pass.ts'),
  });
  const styles = ['cards-resident.css'];

  residents.page(
    'cards/card',
    async ({ tenant }) => ({
      title: 'パパ・ママ応援ショップ優待カード',
      styles,
      scripts: ['cards-card.js'],
      body: html`<div id="c-box" aria-busy="true" data-testid="card-box">
<section id="c-unregistered" class="r-card" hidden data-testid="unregistered">
<h2>カードの登録</h2>
<p>優待カードを表示するには、カード対象者とお子さまの情報を登録してください。</p>
<p><a class="r-button" href="/liff/${tenant.id}/cards/register">登録する</a></p>
</section>
<section id="c-ineligible" class="r-card c-ineligible" hidden data-testid="ineligible">
<h2>カードを表示できません</h2>
<p id="c-reason" data-testid="ineligible-reason"></p>
</section>
<section id="c-card" class="c-card" hidden aria-labelledby="c-card-h" data-testid="card">
<h2 id="c-card-h" class="c-card-h">パパ・ママ応援ショップ優待カード</h2>
<img id="c-image" class="c-image" alt="パパ・ママ応援ショップ優待カード (埼玉県)" hidden data-testid="card-image">
<div id="c-shop" class="c-shop" hidden>
<img id="c-barcode" class="c-barcode" alt="" data-src="/liff/${tenant.id}/cards/shop-code.svg" data-testid="shop-barcode">
<p><span class="c-shop-label">ショップコード</span> <span id="c-shop-code" class="c-shop-code" data-testid="shop-code"></span></p>
</div>
</section>
<section id="c-holder" class="r-card" hidden aria-labelledby="c-holder-h" data-testid="holder">
<h2 id="c-holder-h">登録情報</h2>
<dl class="c-facts">
<div><dt>カード対象者</dt><dd id="c-holder-name" data-testid="holder-name"></dd></div>
<div><dt>続柄</dt><dd id="c-relationship"></dd></div>
<div><dt>区分</dt><dd id="c-kind"></dd></div>
</dl>
<ul id="c-children" class="c-children" data-testid="children"></ul>
<p><a href="/liff/${tenant.id}/cards/register">登録内容を変更する</a></p>
</section>
</div>
<section class="r-card c-clock-box" aria-labelledby="c-clock-h">
<h2 id="c-clock-h">現在の日時</h2>
<p class="c-clock" role="timer" aria-labelledby="c-clock-h"><span id="c-today" data-testid="today"></span><br><span id="c-now" class="c-now" data-testid="clock"></span></p>
<p class="c-hint">お店の方へ: 時計が動いていれば、画面の写しではなくこの場で表示しているカードです。</p>
</section>`,
    }),
    { menu: 'パパ・ママ応援ショップ優待カード' },
  );

  const childRows = Array.from({ length: MAX_CHILDREN }, (_, i) => {
    const n = i + 1;
    const required = n === 1;
    return html`<fieldset class="c-child" id="c-child-${n}">
<legend>第${n}子${required ? html` <span class="c-required">(必須)</span>` : ''}</legend>
<label for="child-${i}-name">氏名</label>
<input id="child-${i}-name" name="children.${i}.name" autocomplete="off" maxlength="50" aria-describedby="err-children.${i}.name">
<p class="c-error" id="err-children.${i}.name" data-field="children.${i}.name"></p>
<label for="child-${i}-birth">生年月日</label>
<input id="child-${i}-birth" name="children.${i}.birthDate" type="date" max="2100-12-31" aria-describedby="err-children.${i}.birthDate">
<p class="c-error" id="err-children.${i}.birthDate" data-field="children.${i}.birthDate"></p>
</fieldset>`;
  });

  residents.page(
    'cards/register',
    async ({ tenant }) => ({
      title: '優待カードの登録・変更',
      styles,
      scripts: ['cards-register.js'],
      body: html`<form id="c-form" class="r-card c-form" novalidate aria-busy="true" data-tenant="${tenant.id}">
<p>登録した情報は暗号化して保存され、カードの表示と県の担当者 (権限のある職員のみ) の確認にだけ使われます。</p>
<label for="holderName">カード対象者の氏名 <span class="c-required">(必須)</span></label>
<input id="holderName" name="holderName" autocomplete="name" maxlength="50" required aria-describedby="err-holderName">
<p class="c-error" id="err-holderName" data-field="holderName"></p>
<label for="relationship">続柄 <span class="c-required">(必須)</span></label>
<input id="relationship" name="relationship" maxlength="20" required list="relationships" aria-describedby="err-relationship">
<datalist id="relationships"><option value="父"></option><option value="母"></option><option value="祖父"></option><option value="祖母"></option></datalist>
<p class="c-error" id="err-relationship" data-field="relationship"></p>
<fieldset class="c-kinds" aria-describedby="err-kind">
<legend>世帯の区分 <span class="c-required">(必須)</span></legend>
<label class="c-radio"><input type="radio" name="kind" value="children" checked> 18歳に達した後の3月31日までのお子さまがいる世帯</label>
<label class="c-radio"><input type="radio" name="kind" value="pregnant"> 妊娠中の世帯</label>
<label class="c-radio"><input type="radio" name="kind" value="grandparent"> 子育てを応援する祖父母</label>
</fieldset>
<p class="c-error" id="err-kind" data-field="kind"></p>
<div id="c-children-box">
<p class="c-note">お子さまは 5 人まで登録できます。</p>
${childRows}
<p class="c-error" id="err-children" data-field="children"></p>
</div>
<p><button type="submit" class="r-button" id="c-save">登録する</button></p>
<p id="c-saved" role="status" class="c-saved"></p>
</form>
<p><a class="r-button" href="/liff/${tenant.id}/cards/card">カードを表示する</a></p>`,
    }),
    { menu: '優待カードの登録・変更' },
  );

  residents.page(
    'cards/pass',
    async () => ({
      title: 'まいたまパス',
      styles,
      scripts: ['cards-pass.js'],
      body: html`<section class="c-pass" aria-labelledby="c-pass-h" aria-busy="true" id="c-pass-box">
<h2 id="c-pass-h">まいたまパス</h2>
<img id="c-pass" class="c-image" alt="まいたまパス" hidden data-testid="pass-image">
<p id="c-no-pass" class="r-card" hidden>まいたまパスの画像はまだ準備中です。</p>
<p class="c-hint">県内の協賛施設・店舗でこの画面を提示してください。</p>
</section>`,
    }),
    { menu: 'まいたまパス' },
  );
}
