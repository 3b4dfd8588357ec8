/**
 * The residents' mileage pages inside LINE (LIFF), drawn in the resident frame (core/resident-shell.ts):
 *
 *   mileage            points, progress to the goal (in words and a bar), recent activities, the
 *                      period's end, the member number, a link to the card
 *   mileage/scan?c=…   sends an event's code on opening: 「○ポイント獲得しました」, 「この会場のポイントは
 *                      付与済みです」, or the API's Japanese refusal (expired, another municipality's …)
 *   mileage/history    every entry, newest first, a page at a time
 *   mileage/card       the とこわか健康応援カード with a live clock and today's date (a screenshot stands
 *                      still), 「有効期限切れ」 for an expired card, or how many points are still missing
 *
 * The pages are frames: the browser scripts (browser/resident-*.ts) fetch the resident's own data with
 * the LIFF ID token (residentFetch); a published design's artwork comes from printable-routes.ts.
 */
import { fileURLToPath } from 'node:url';
import { html } from '../core/html.ts';
import type { ResidentShell } from '../core/resident-shell.ts';

/** Nothing yet: the pages read everything through the resident API (mileage/resident-api.ts). */
export type MileageResidentPageDeps = Record<string, never>;

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export function registerMileageResidentPages(residents: ResidentShell, _deps: MileageResidentPageDeps = {}): void {
  residents.assets({
    'mileage-resident.css': file('./browser/resident.css'),
    'mileage-home.js': file('./browser/resident-home.ts'),
    'mileage-scan.js': file('./browser/resident-scan.ts'),
    'mileage-history.js': file('./browser/resident-history.ts'),
    'mileage-card.js': file('./browser/resident-card.ts'),
  });
  const styles = ['mileage-resident.css'];

  residents.page(
    'mileage',
    async ({ tenant }) => ({
      title: 'マイレージ',
      styles,
      scripts: ['mileage-home.js'],
      body: html`<div id="m-home" data-tenant="${tenant.id}" aria-busy="true">
<section class="r-card m-points" aria-labelledby="m-points-h">
<h2 id="m-points-h">現在のポイント</h2>
<p class="m-balance"><span id="m-balance" data-testid="balance">—</span> <span class="m-unit">ポイント</span></p>
<label class="m-progress-label" for="m-progress" id="m-progress-label">目標までの進み具合</label>
<progress id="m-progress" max="100" value="0"></progress>
<p id="m-progress-text" data-testid="progress-text"></p>
<dl class="m-facts">
<div><dt>実施期間</dt><dd id="m-period">—</dd></div>
<div><dt>会員番号</dt><dd id="m-member" data-testid="member-no">—</dd></div>
</dl>
</section>
<p><a class="r-button" href="/liff/${tenant.id}/mileage/card" id="m-card-link">とこわか健康応援カードを見る</a></p>
<section class="r-card" aria-labelledby="m-recent-h">
<h2 id="m-recent-h">最近の記録</h2>
<ul id="m-recent" class="m-entries"></ul>
<p><a href="/liff/${tenant.id}/mileage/history">これまでの記録をすべて見る</a></p>
</section>
<section class="r-card" aria-labelledby="m-activities-h">
<h2 id="m-activities-h">ポイントがたまる活動</h2>
<ul id="m-activities" class="m-entries"></ul>
</section>
</div>`,
    }),
    { menu: 'マイレージ' },
  );

  residents.page('mileage/scan', async ({ tenant }) => ({
    title: 'QR コードの読み取り',
    styles,
    scripts: ['mileage-scan.js'],
    body: html`<section class="r-card m-scan" aria-labelledby="m-scan-h" id="m-scan" aria-busy="true">
<h2 id="m-scan-h">読み取り結果</h2>
<p id="m-scan-result" class="m-scan-result" data-testid="scan-result" aria-live="polite">確認しています…</p>
<p id="m-scan-balance" class="m-scan-balance" data-testid="scan-balance"></p>
</section>
<p><a class="r-button" href="/liff/${tenant.id}/mileage">マイレージを見る</a></p>
<p id="m-scan-card" hidden><a class="r-button" href="/liff/${tenant.id}/mileage/card">とこわか健康応援カードを見る</a></p>`,
  }));

  residents.page('mileage/history', async ({ tenant }) => ({
    title: 'ポイントの記録',
    styles,
    scripts: ['mileage-history.js'],
    body: html`<section class="r-card" aria-labelledby="m-history-h">
<h2 id="m-history-h">これまでの記録 <span id="m-history-count" class="m-count"></span></h2>
<ul id="m-history" class="m-entries" aria-busy="true" data-testid="history"></ul>
<p><button type="button" class="r-secondary" id="m-history-more" hidden>さらに表示</button></p>
</section>
<p><a class="r-button" href="/liff/${tenant.id}/mileage">マイレージに戻る</a></p>`,
  }));

  residents.page(
    'mileage/card',
    async ({ tenant }) => ({
      title: 'とこわか健康応援カード',
      styles,
      scripts: ['mileage-card.js'],
      body: html`<div id="m-card-box" aria-busy="true" data-testid="card-box">
<p id="m-no-card" class="r-card m-no-card" hidden data-testid="no-card"></p>
<section id="m-card" class="m-card" aria-labelledby="m-card-title" hidden data-testid="card">
<div class="m-card-head">
<div class="m-card-words">
<p class="m-card-title" id="m-card-title"></p>
<p class="m-card-town">${tenant.name}</p>
<p class="m-card-note" id="m-card-note"></p>
</div>
<img id="m-card-art" class="m-card-art" alt="" hidden>
</div>
<dl class="m-card-data">
<div><dt>カード番号</dt><dd id="m-card-no" class="m-card-no" data-testid="card-no"></dd></div>
<div><dt>発行日</dt><dd id="m-card-issued"></dd></div>
<div><dt>有効期限</dt><dd id="m-card-valid"></dd></div>
</dl>
<p id="m-card-expired" class="m-card-expired" hidden data-testid="card-expired">有効期限切れ</p>
</section>
</div>
<section class="r-card m-clock-box" aria-labelledby="m-clock-h">
<h2 id="m-clock-h">現在の日時</h2>
<p class="m-clock" role="timer" aria-labelledby="m-clock-h"><span id="m-today" data-testid="today"></span><br><span id="m-now" class="m-now" data-testid="clock"></span></p>
<p class="m-hint">お店の方へ: 時計が動いていれば、画面の写しではなくこの場で表示しているカードです。</p>
</section>
<p><a class="r-button" href="/liff/${tenant.id}/mileage">マイレージに戻る</a></p>`,
    }),
    { menu: 'とこわか健康応援カード' },
  );
}
