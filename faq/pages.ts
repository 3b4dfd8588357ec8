/**
 * The staff pages of faq/, in the staff shell (nav 「よくある質問」):
 *
 *   /faq                     every tenant the caller sees: the live version, views, resolution rate and
 *                            unmatched questions of the last 30 days (prefecture-wide for the prefecture)
 *   /faq/:tenantId           the scenario: tree editor (browser/staff.ts), xlsx import with row errors
 *                            before confirming, template and export, publish and rollback, settings
 *                            (typed questions, the AI endpoint, keeping unmatched questions)
 *   /faq/:tenantId/stats     statistics (?days=): views per day and per node per day (charts with their
 *                            tables), per node with resolution rate, the paths ending in いいえ or in the
 *                            fallback, top questions per month, unmatched questions, and the flow view
 *                            (ELK layout as SVG) with each node's figures
 *
 * Reads for whoever sees the tenant; the editing parts only for 配信 (the API refuses the rest anyway).
 */
import { hasPermission } from '../core/auth.ts';
import { html, jsonBlock } from '../core/html.ts';
import { type PageShell, staffPages, pageTenant as tenantOf } from '../core/page-shell.ts';
import { tokyoMinute } from '../core/time.ts';
import { dailyViewsOptions, nodeDailyOptions } from './charts.ts';
import { flowSvg } from './flow.ts';
import { daysQuery } from './routes.ts';
import { NODE_KIND_LABELS } from './schemas.ts';
import type { FaqStatsReader } from './stats.ts';
import type { FaqStore } from './store.ts';

export interface FaqPageDeps {
  store: FaqStore;
  stats: FaqStatsReader;
}

const API = '/api/v1/faq';
const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
const num = (n: number) => n.toLocaleString('ja-JP');
const DAY = 86_400_000;

export function registerFaqPages(shell: PageShell, deps: FaqPageDeps): void {
  const page = staffPages(shell, 'faq', import.meta.url);
  shell.nav({ href: '/faq', label: 'よくある質問' });

  shell.page('/faq', async ({ tenants }) => {
    const to = Date.now();
    const totals = await deps.stats.tenantTotals(
      tenants.map((t) => t.id),
      to - 30 * DAY,
      to,
    );
    const rows = await Promise.all(
      tenants.map(async (t) => {
        const live = await deps.store.liveNumber(t.id).catch(() => 0);
        const s = totals.get(t.id);
        return html`<tr><th scope="row"><a href="/faq/${t.id}">${t.name}</a></th><td>${live ? `第 ${live} 版` : '未公開'}</td><td class="num">${num(s?.views ?? 0)}</td><td class="num">${pct(s?.rate ?? null)}</td><td class="num">${num(s?.unmatched ?? 0)}</td><td><a href="/faq/${t.id}/stats">統計</a></td></tr>`;
      }),
    );
    const all = [...totals.values()];
    const yes = all.reduce((a, t) => a + t.yes, 0);
    const no = all.reduce((a, t) => a + t.no, 0);
    return page(
      'よくある質問 (FAQ)',
      html`<h1>よくある質問 (FAQ チャットボット)</h1>
<p class="note">住民が LINE のトークでメニューや入力した質問から回答を探せるシナリオ型の FAQ です。シナリオの編集・Excel での取り込み・公開には「配信」の権限が必要です。</p>
<section class="card" aria-labelledby="faq-all-h"><h2 id="faq-all-h">テナント別の利用状況 (直近 30 日)</h2>
<div class="scroll"><table data-testid="faq-tenants"><caption class="visually-hidden">テナント別の FAQ の利用状況</caption>
<thead><tr><th scope="col">テナント</th><th scope="col">公開中</th><th scope="col">表示回数</th><th scope="col">解決率</th><th scope="col">未一致の質問</th><th scope="col">統計</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th scope="row">合計</th><td></td><td class="num">${num(all.reduce((a, t) => a + t.views, 0))}</td><td class="num">${pct(yes + no ? yes / (yes + no) : null)}</td><td class="num">${num(all.reduce((a, t) => a + t.unmatched, 0))}</td><td></td></tr></tfoot></table></div>
<p class="hint">解決率 = 「解決しましたか？」に「はい」と答えた数 ÷ (はい + いいえ)。</p></section>`,
      [],
    );
  });

  shell.page<{ tenantId: string }>('/faq/:tenantId', async ({ req, principal, tenants }) => {
    const tenant = tenantOf(principal, tenants, req.params.tenantId);
    const mayEdit = hasPermission(principal, 'deliver');
    const [draft, versions, settings] = await Promise.all([
      deps.store.draft(tenant.id),
      deps.store.versions(tenant.id),
      deps.store.settings(tenant.id),
    ]);
    const base = `${API}/tenants/${tenant.id}`;
    const versionRows = versions.map(
      (v) =>
        html`<tr><th scope="row">第 ${v.number} 版${v.number === draft.live ? html` <strong>(公開中)</strong>` : ''}</th><td>${tokyoMinute(Date.parse(v.publishedAt))}</td><td>${v.publishedBy}</td><td class="num">${num(v.nodeCount)}</td><td>${v.note}</td><td>${mayEdit && v.number !== draft.live ? html`<button type="button" class="secondary" data-rollback="${v.number}">この版に戻す</button>` : ''}</td></tr>`,
    );
    const editor = mayEdit
      ? html`<div class="faq-editor" id="faq-editor" data-url="${base}/scenario">
<div class="faq-tree-pane"><h3 id="faq-tree-h">ツリー</h3><p class="hint">項目を選ぶと右で編集できます。</p>
<ul id="faq-tree" class="faq-tree" role="tree" aria-labelledby="faq-tree-h" data-testid="faq-tree"></ul>
<p><button type="button" class="secondary" id="faq-add-top">最上位にカテゴリを追加</button></p></div>
<form id="faq-node-form" class="faq-node-form" novalidate aria-labelledby="faq-node-h"><h3 id="faq-node-h">選んだ項目</h3>
<p id="faq-none" class="hint">左のツリーから項目を選んでください。</p>
<div id="faq-fields" hidden>
<div class="field"><label for="fn-id">ID (半角英数字)</label><input id="fn-id" maxlength="40" autocomplete="off"></div>
<div class="field"><label for="fn-kind">種類</label><select id="fn-kind"><option value="category">カテゴリ</option><option value="question">質問</option></select></div>
<div class="field wide"><label for="fn-title">タイトル・質問文</label><input id="fn-title" maxlength="100"></div>
<div class="field wide"><label for="fn-keywords">キーワード (「、」区切り)</label><input id="fn-keywords" maxlength="600"></div>
<div class="field wide"><label for="fn-answer">回答</label><textarea id="fn-answer" rows="5" maxlength="2000"></textarea></div>
<div class="field wide"><label for="fn-image">画像 URL (https://)</label><input id="fn-image" maxlength="1000" inputmode="url"></div>
<div class="field wide"><label for="fn-links">リンク (「表示名|URL」を 1 行に 1 つ、3 つまで)</label><textarea id="fn-links" rows="3"></textarea></div>
<div class="field"><label for="fn-goto">移動先 (別の項目を表示)</label><select id="fn-goto"></select></div>
<p class="actions"><button type="button" class="secondary" id="fn-child">子の項目を追加</button> <button type="button" class="secondary" id="fn-up">上へ</button> <button type="button" class="secondary" id="fn-down">下へ</button> <button type="button" class="secondary" id="fn-delete">削除</button></p>
</div></form></div>
<p class="actions"><button type="button" id="faq-save">下書きを保存</button></p>
<p class="status" id="faq-save-status" role="status" aria-live="polite"></p>`
      : html`<ul class="faq-readonly" data-testid="faq-tree">${draft.nodes
          .filter((n) => !n.parentId)
          .map(
            (n) => html`<li>${NODE_KIND_LABELS[n.kind]}: ${n.title}</li>`,
          )}</ul><p class="note">編集には「配信」の権限が必要です。</p>`;
    return page(
      `${tenant.name}のよくある質問`,
      html`<p class="breadcrumbs"><a href="/faq">よくある質問</a> › ${tenant.name}</p>
<h1>${tenant.name}のよくある質問</h1>
<p class="actions"><a class="button secondary" href="/faq/${tenant.id}/stats">統計とシナリオの流れ</a> <a class="button secondary" href="${base}/scenario.xlsx" download>Excel で出力</a> <a class="button secondary" href="${base}/scenario.csv" download>CSV で出力</a> <a class="button secondary" href="${API}/template.xlsx" download>取り込み用テンプレート</a></p>
<section class="card" aria-labelledby="faq-pub-h"><h2 id="faq-pub-h">公開</h2>
<p data-testid="faq-live">${draft.live ? `住民に公開中: 第 ${draft.live} 版` : 'まだ公開していません。'}${draft.updatedAt ? ` ／ 下書きの最終保存: ${tokyoMinute(Date.parse(draft.updatedAt))} (${draft.updatedBy})` : ''}</p>
${mayEdit ? html`<form id="faq-publish" class="filters" data-url="${base}/publish" novalidate><label for="faq-note">メモ (任意)</label> <input id="faq-note" maxlength="200"> <button type="submit">下書きを公開する</button></form><p class="status" id="faq-publish-status" role="status" aria-live="polite"></p>` : ''}
${versions.length ? html`<div class="scroll"><table data-testid="faq-versions" data-rollback-url="${base}/rollback"><caption>公開した版</caption><thead><tr><th scope="col">版</th><th scope="col">公開日時</th><th scope="col">公開者</th><th scope="col">項目数</th><th scope="col">メモ</th><th scope="col">操作</th></tr></thead><tbody>${versionRows}</tbody></table></div>` : ''}
</section>
<section class="card" aria-labelledby="faq-edit-h"><h2 id="faq-edit-h">シナリオの編集 (下書き)</h2>
<p class="hint">カテゴリ → 質問 → 回答 の木構造です。質問の子の項目は、回答のあとに続けて選べる選択肢になります。保存した下書きは「公開する」まで住民には見えません。</p>
${editor}</section>
${
  mayEdit
    ? html`<section class="card" aria-labelledby="faq-import-h"><h2 id="faq-import-h">Excel・CSV から取り込む</h2>
<form id="faq-import" data-url="${base}/import" novalidate>
<p class="hint">テンプレートと同じ列の xlsx を選ぶと、まず内容を確認します。誤りがあれば行番号と内容を表示し、取り込みません。取り込むと下書きが置き換わります。</p>
<div class="field"><label for="faq-file">ファイル (xlsx または CSV UTF-8)</label><input type="file" id="faq-file" accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"></div>
<p class="actions"><button type="submit" class="secondary">内容を確認する</button> <button type="button" id="faq-import-confirm" disabled>下書きに取り込む</button></p>
<p class="status" id="faq-import-status" role="status" aria-live="polite"></p>
<div id="faq-import-errors" hidden><table data-testid="faq-import-errors"><caption>取り込めない行</caption><thead><tr><th scope="col">行</th><th scope="col">内容</th></tr></thead><tbody></tbody></table></div>
</form></section>
<section class="card" aria-labelledby="faq-set-h"><h2 id="faq-set-h">設定</h2>
<form id="faq-settings" data-url="${base}/settings" novalidate>
<div class="form-grid">
<div class="field wide"><label><input type="checkbox" id="fs-typed"> 入力された質問に FAQ で答える (オフのときは自動応答文を返します)</label></div>
<div class="field wide"><label for="fs-ai">AI の接続先 URL (任意。当てはまる質問がないときに問い合わせます)</label><input id="fs-ai" maxlength="500" inputmode="url"></div>
<div class="field"><label for="fs-timeout">AI の待ち時間 (ミリ秒)</label><input id="fs-timeout" type="number" min="500" max="10000" step="100"></div>
<div class="field wide"><label><input type="checkbox" id="fs-keep"> 当てはまらなかった質問の文面を保存する (改善のため)</label></div>
<div class="field"><label for="fs-days">保存期間 (日)</label><input id="fs-days" type="number" min="1" max="365"></div>
<div class="field wide"><label for="fs-contact">問い合わせ先 (解決しなかったときに案内)</label><input id="fs-contact" maxlength="200"></div>
</div>
<p class="actions"><button type="submit">設定を保存</button></p>
<p class="status" id="faq-settings-status" role="status" aria-live="polite"></p></form></section>`
    : ''
}
${jsonBlock('faq-data', { nodes: draft.nodes, settings, mayEdit })}`,
    );
  });

  shell.page<{ tenantId: string }, { days?: string }>('/faq/:tenantId/stats', async ({ req, principal, tenants }) => {
    const tenant = tenantOf(principal, tenants, req.params.tenantId);
    const { days } = daysQuery.parse(req.query ?? {});
    const to = Date.now();
    const { number, nodes } = await deps.store.live(tenant.id);
    const s = await deps.stats.stats(tenant.id, nodes, to - days * DAY, to);
    const unmatched = await deps.stats.unmatched(tenant.id, 100);
    const svg = nodes.length ? await flowSvg(nodes, s.nodes) : html`<p>公開したシナリオがありません。</p>`;
    const k = (name: string) => num(s.kinds[name] ?? 0);
    const nodeRows = nodes
      .filter((n) => n.kind === 'question')
      .map((n) => ({ n, x: s.nodes.get(n.id) }))
      .sort((a, b) => (b.x?.views ?? 0) - (a.x?.views ?? 0))
      .map(
        ({ n, x }) =>
          html`<tr data-node="${n.id}"><th scope="row">${n.title}</th><td class="num">${num(x?.views ?? 0)}</td><td class="num">${num(x?.yes ?? 0)}</td><td class="num">${num(x?.no ?? 0)}</td><td class="num">${pct(x?.rate ?? null)}</td><td class="num">${num(x?.fallback ?? 0)}</td></tr>`,
      );
    return page(
      `${tenant.name}の FAQ 統計`,
      html`<p class="breadcrumbs"><a href="/faq">よくある質問</a> › <a href="/faq/${tenant.id}">${tenant.name}</a> › 統計</p>
<h1>${tenant.name}の FAQ 統計</h1>
<form class="filters" method="get" action="/faq/${tenant.id}/stats"><label for="faq-days">期間</label> <select id="faq-days" name="days">${[7, 30, 90, 365].map((d) => html`<option value="${d}"${d === days ? html` selected` : ''}>直近 ${d} 日</option>`)}</select> <button type="submit" class="secondary">表示</button></form>
<section class="card" aria-labelledby="faq-sum-h"><h2 id="faq-sum-h">概要 ${number ? `(公開中: 第 ${number} 版)` : ''}</h2>
<dl class="s-facts" data-testid="faq-facts"><div><dt>表示回数</dt><dd data-testid="faq-views">${num(s.totals.views)}</dd></div>
<div><dt>はい (解決)</dt><dd data-testid="faq-yes">${num(s.totals.yes)}</dd></div>
<div><dt>いいえ (未解決)</dt><dd data-testid="faq-no">${num(s.totals.no)}</dd></div>
<div><dt>解決率</dt><dd data-testid="faq-rate">${pct(s.totals.rate)}</dd></div>
<div><dt>未一致の質問</dt><dd data-testid="faq-unmatched">${k('unmatched')}</dd></div>
<div><dt>候補を提示</dt><dd>${k('candidates')}</dd></div>
<div><dt>AI の回答</dt><dd>${k('ai')} (解決率 ${pct(s.ai.rate)})</dd></div>
<div><dt>案内に回した質問</dt><dd>${k('fallback')}</dd></div></dl></section>
<section class="card" aria-labelledby="faq-daily-h"><h2 id="faq-daily-h">表示回数の推移</h2>
<div class="chart" data-chart="daily" role="figure" aria-label="日別の表示回数 (表は下にあります)"></div>
<div class="scroll"><table><caption class="visually-hidden">日別の表示回数</caption><thead><tr><th scope="col">日付</th><th scope="col">表示回数</th></tr></thead><tbody>${s.daily.map((d) => html`<tr><th scope="row">${d.day}</th><td class="num">${num(d.count)}</td></tr>`)}</tbody></table></div></section>
<section class="card" aria-labelledby="faq-node-daily-h"><h2 id="faq-node-daily-h">項目別・日別の表示回数</h2>
<p class="hint">期間中によく表示された上位 ${s.nodeDaily.series.length} 項目の、日ごとの表示回数です。</p>
${
  s.nodeDaily.series.length
    ? html`<div class="faq-chart-table"><div class="chart" data-chart="nodeDaily" role="figure" aria-label="項目別・日別の表示回数 (同じ値を右の表に示しています)"></div>
<div class="scroll faq-side-table" tabindex="0" role="region" aria-label="項目別・日別の表示回数の表"><table data-testid="faq-node-daily"><caption class="visually-hidden">項目別・日別の表示回数</caption><thead><tr><th scope="col">日付</th>${s.nodeDaily.series.map((x) => html`<th scope="col" data-node="${x.nodeId}">${x.title}</th>`)}</tr></thead><tbody>${s.nodeDaily.days.map((d, i) => html`<tr><th scope="row">${d}</th>${s.nodeDaily.series.map((x) => html`<td class="num">${num(x.counts[i] ?? 0)}</td>`)}</tr>`)}</tbody></table></div></div>`
    : html`<p>この期間に表示された項目はありません。</p>`
}</section>
<section class="card" aria-labelledby="faq-flow-h"><h2 id="faq-flow-h">シナリオの流れ</h2>
<p class="hint">各項目に表示回数と解決率、「いいえ」の数と、その項目を見たあとの入力が案内で終わった数を表示しています。メニューの「案内」は何も選ばずに入力した質問です。点線は「移動先」です。<a href="${API}/tenants/${tenant.id}/flow.svg?days=${days}" download="faq-flow.svg">SVG で保存</a> ／ <a href="${API}/tenants/${tenant.id}/flow.png?days=${days}" download>PNG で保存</a> ／ <a href="${API}/tenants/${tenant.id}/flow.pdf?days=${days}" download>PDF で保存</a></p>
<div class="faq-flow scroll" data-testid="faq-flow">${svg}</div></section>
<section class="card" aria-labelledby="faq-nodes-h"><h2 id="faq-nodes-h">質問ごとの利用状況</h2>
<div class="scroll"><table data-testid="faq-node-stats"><caption class="visually-hidden">質問ごとの表示回数と解決率</caption><thead><tr><th scope="col">質問</th><th scope="col">表示</th><th scope="col">はい</th><th scope="col">いいえ</th><th scope="col">解決率</th><th scope="col">その後の入力が案内で終了</th></tr></thead><tbody>${nodeRows}</tbody></table></div></section>
<section class="card" aria-labelledby="faq-no-h"><h2 id="faq-no-h">「いいえ」または案内で終わった経路</h2>
<p class="hint">「いいえ」: 回答に「解決しなかった」と答えた項目。案内: その項目を見たあと (または何も選ばずに) 入力した質問に当てはまる回答がなく、AI の回答もないままお詫びとメニューの案内で終わったもの。入力した文面は保存していません。</p>
${
  s.endings.length
    ? html`<div class="scroll"><table data-testid="faq-endings"><caption class="visually-hidden">「いいえ」または案内で終わった経路</caption><thead><tr><th scope="col">経路</th><th scope="col">終わり方</th><th scope="col">件数</th></tr></thead><tbody>${s.endings.map((e) => html`<tr data-node="${e.nodeId}" data-ending="${e.ending}"><th scope="row">${e.path}</th><td>${e.ending === 'no' ? '「いいえ」' : '案内 (該当なし)'}</td><td class="num">${num(e.count)}</td></tr>`)}</tbody></table></div>`
    : html`<p>ありません。</p>`
}
${
  s.fallbacks.length
    ? html`<h3>当てはまらなかった質問が入力された場所</h3><div class="scroll"><table data-testid="faq-fallbacks"><caption class="visually-hidden">当てはまらなかった質問が入力された場所</caption><thead><tr><th scope="col">直前に見ていた項目</th><th scope="col">未一致</th><th scope="col">AI が回答</th><th scope="col">案内で終了</th></tr></thead><tbody>${s.fallbacks.map((f) => html`<tr data-node="${f.nodeId}"><th scope="row">${f.path}</th><td class="num">${num(f.unmatched)}</td><td class="num">${num(f.ai)}</td><td class="num">${num(f.fallback)}</td></tr>`)}</tbody></table></div>`
    : ''
}</section>
<section class="card" aria-labelledby="faq-top-h"><h2 id="faq-top-h">月別のよく見られた質問</h2>
${s.monthlyTop.length ? s.monthlyTop.map((m) => html`<h3>${m.month}</h3><ol>${m.top.map((t) => html`<li>${t.title} (${num(t.views)} 回)</li>`)}</ol>`) : html`<p>まだありません。</p>`}</section>
<section class="card" aria-labelledby="faq-um-h"><h2 id="faq-um-h">当てはまらなかった質問</h2>
<p class="hint">設定で保存を有効にしたテナントだけ、保存期間のあいだ文面を表示します (件数は常に数えます: ${k('unmatched')} 件)。</p>
${unmatched.length ? html`<ul class="s-texts" data-testid="faq-unmatched-list">${unmatched.map((u) => html`<li><p>${u.text}</p><small>${tokyoMinute(Date.parse(u.at))}</small></li>`)}</ul>` : html`<p>保存された質問はありません。</p>`}</section>
${jsonBlock('chart-data', { daily: dailyViewsOptions(s.daily), nodeDaily: nodeDailyOptions(s.nodeDaily) })}`,
      ['apexcharts.js', 'charts.js'],
    );
  });
}
