/**
 * The staff pages of surveys/, in the staff shell (nav 「アンケート」):
 *
 *   /surveys                                   the surveys of every tenant the caller sees
 *   /surveys/:tenantId/new                     the builder (questions, branching, window, anonymity)
 *   /surveys/:tenantId/:surveyId/edit          the builder for a survey (after the first answer only
 *                                              wording and the window; the API refuses the rest)
 *   /surveys/:tenantId/:surveyId/preview       the questions as residents see them (drafts too; read-only)
 *   /surveys/:tenantId/:surveyId               results: answers over time, counts and shares per option
 *                                              (charts), cross-tabulation (?by=&question=) with groups
 *                                              under 5 as 「—」, free texts with search (?text=&q=),
 *                                              exports, the delivery draft, a preview link
 *
 * Tables and charts are drawn on the server (charts by the dashboard's charts.js from chart-data);
 * the builder and the delivery button are browser/staff.ts, which posts to the surveys API.
 */
import { hasPermission } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import { html, jsonBlock, type SafeHtml } from '../core/html.ts';
import { type PageShell, staffPages, pageTenant as tenantOf } from '../core/page-shell.ts';
import type { Tenant } from '../core/tenants.ts';
import { tokyoMinute } from '../core/time.ts';
import { answersOverTimeOptions, optionCountsOptions } from './charts.ts';
import type { SurveyResultsReader } from './results.ts';
import {
  END,
  OTHER,
  optionsOf,
  CROSS_DIMENSION_LABELS,
  CROSS_DIMENSIONS,
  type CrossDimension,
  MIN_GROUP,
  QUESTION_TYPE_LABELS,
  type Survey,
} from './schemas.ts';
import { phaseOf, type SurveyStore } from './store.ts';

export interface SurveyPageDeps {
  store: SurveyStore;
  reader: SurveyResultsReader;
  formUrl(tenantId: string, surveyId: string): Promise<string | undefined>;
  /** The tenant's first-use survey (invited to on follow). */
  firstUse?: { get(tenantId: string): Promise<string> };
}

const API = '/api/v1/surveys/tenants';
const PHASE_LABELS = { draft: '下書き', not_open: '受付前', open: '受付中', closed: '受付終了' } as const;
const when = (iso: string) => tokyoMinute(Date.parse(iso));

/** The builder form; the survey's data for browser/staff.ts in a JSON block. */
function builder(tenant: Tenant, s: Survey | undefined): SafeHtml {
  const locked = (s?.answerRows ?? 0) > 0;
  return html`<form id="survey-form" class="s-builder" data-method="${s ? 'PUT' : 'POST'}" data-url="${API}/${tenant.id}/surveys${s ? `/${s.surveyId}` : ''}" data-next="/surveys/${tenant.id}/{surveyId}" data-locked="${locked ? '1' : '0'}" novalidate>
<div class="form-summary" role="alert" hidden></div>
${locked ? html`<p class="note" data-testid="locked-note">回答が届いているため、変更できるのは受付期間・状態と文言 (タイトル・説明・設問文・補足) だけです。</p>` : ''}
<div class="form-grid">
<div class="field wide"><label for="sv-title">タイトル <span class="req">必須</span></label><input id="sv-title" data-field="title" maxlength="100" required aria-required="true" aria-describedby="sv-title-error"><p class="field-error" id="sv-title-error" hidden></p></div>
<div class="field wide"><label for="sv-introduction">説明</label><textarea id="sv-introduction" data-field="introduction" rows="3" maxlength="2000" aria-describedby="sv-introduction-error"></textarea><p class="field-error" id="sv-introduction-error" hidden></p></div>
<div class="field"><label for="sv-opensAt">受付開始 <span class="req">必須</span></label><input id="sv-opensAt" type="datetime-local" data-field="opensAt" required aria-required="true" aria-describedby="sv-opensAt-error"><p class="field-error" id="sv-opensAt-error" hidden></p></div>
<div class="field"><label for="sv-closesAt">受付終了 <span class="req">必須</span></label><input id="sv-closesAt" type="datetime-local" data-field="closesAt" required aria-required="true" aria-describedby="sv-closesAt-error"><p class="field-error" id="sv-closesAt-error" hidden></p></div>
<div class="field"><label for="sv-status">状態</label><select id="sv-status" data-field="status"><option value="draft">下書き</option><option value="open">公開 (受付期間中は回答できます)</option><option value="closed">締め切り</option></select></div>
<div class="field"><label><input type="checkbox" id="sv-anonymous" data-field="anonymous"${locked ? html` disabled` : ''}> 匿名で回答を集める (回答者の LINE ユーザー ID を保存しません)</label></div>
</div>
<fieldset class="s-questions-set"><legend>設問</legend>
<p class="hint">種類: ${Object.values(QUESTION_TYPE_LABELS).join('・')}。選択肢は 1 行に 1 つ。分岐は「選択肢=設問番号」(または「選択肢=終了」) を 1 行に 1 つ、単一選択と5段階評価の設問に設定できます (後ろの設問にだけ進めます)。</p>
<ol id="sv-questions" class="s-questions"></ol>
<p><button type="button" class="secondary" id="sv-add"${locked ? html` disabled` : ''}>設問を追加</button></p>
</fieldset>
<p class="actions"><button type="submit">${s ? '保存' : 'アンケートを作成'}</button></p>
<p class="status" role="status" aria-live="polite"></p>
</form>
${jsonBlock('survey-data', s ?? null)}`;
}

export function registerSurveyPages(shell: PageShell, deps: SurveyPageDeps): void {
  const page = staffPages(shell, 'surveys', import.meta.url);
  shell.nav({ href: '/surveys', label: 'アンケート' });

  // one table of every survey the caller may see (the 市町 column when that is more than one tenant),
  // with how many residents answered, so that a prefecture or its contractor sees every town at once
  shell.page('/surveys', async ({ principal, tenants }) => {
    const now = Date.now();
    const towns = tenants.filter((t) => t.kind === 'municipality' || t.kind === 'prefecture');
    const [lists, counts] = await Promise.all([
      Promise.all(towns.map((t) => deps.store.list(t.id).catch(() => [] as Survey[]))),
      deps.store.respondents(towns.map((t) => t.id)).catch(() => undefined),
    ]);
    const mayBuild = hasPermission(principal, 'deliver');
    const many = towns.length > 1;
    const answered = (t: Tenant, s: Survey) => {
      const c = counts?.get(`${t.id}/${s.surveyId}`) ?? (counts ? { complete: 0, partial: 0 } : undefined);
      if (!c) return '—';
      return `${c.complete.toLocaleString('ja-JP')} 人${c.partial ? ` (回答途中 ${c.partial.toLocaleString('ja-JP')} 人)` : ''}`;
    };
    const rows = towns.flatMap((t, i) =>
      lists[i]!.map(
        (s) =>
          html`<tr>${many ? html`<td>${t.name}</td>` : ''}<th scope="row"><a href="/surveys/${t.id}/${s.surveyId}">${s.title}</a></th><td>${PHASE_LABELS[phaseOf(s, now)]}</td><td>${when(s.opensAt)} 〜 ${when(s.closesAt)}</td><td class="num">${answered(t, s)}</td><td>${s.anonymous ? '匿名' : '記名'}</td></tr>`,
      ),
    );
    const without = towns.filter((_, i) => lists[i]!.length === 0);
    const table = rows.length
      ? html`<div class="scroll"><table data-testid="survey-list"><caption class="visually-hidden">アンケートの一覧</caption><thead><tr>${many ? html`<th scope="col">市町</th>` : ''}<th scope="col">タイトル</th><th scope="col">状態</th><th scope="col">受付期間</th><th scope="col">回答 (送信済み)</th><th scope="col">回答者</th></tr></thead><tbody>${rows}</tbody></table></div>`
      : html`<p>まだアンケートはありません。</p>`;
    const build = !mayBuild
      ? ''
      : many
        ? html`<details class="s-new"><summary>新しいアンケートを作る</summary><p>どのアカウントのアンケートを作りますか。</p><ul>${towns.map(
            (t) => html`<li><a href="/surveys/${t.id}/new">${t.name}</a></li>`,
          )}</ul></details>`
        : html`<p><a href="/surveys/${towns[0]!.id}/new">新しいアンケートを作る</a></p>`;
    return page(
      'アンケート',
      html`<h1>アンケート</h1>
<p class="note">住民が LINE の中で回答するアンケートを作り、回答フォームへのボタンを配信して、結果を集計・出力します。作成・変更・配信には「配信」の権限、記名式の回答の出力には「住民データの出力」の権限が必要です。</p>
${
  towns.length
    ? html`<section class="card">${table}${
        many && rows.length && without.length
          ? html`<p class="note" data-testid="without-surveys">アンケートがまだないアカウント: ${without.map((t) => t.name).join('、')}</p>`
          : ''
      }${build}</section>`
    : html`<p>表示できるテナントはありません。</p>`
}`,
    );
  });

  shell.page<{ tenantId: string }>('/surveys/:tenantId/new', async ({ req, principal, tenants }) => {
    const tenant = tenantOf(principal, tenants, req.params.tenantId);
    if (!hasPermission(principal, 'deliver'))
      throw new AppError('forbidden', 'この操作には「配信」の権限が必要です', 403);
    return page(
      '新しいアンケート',
      html`<p class="breadcrumbs"><a href="/surveys">アンケート</a> › ${tenant.name}</p><h1>新しいアンケート</h1>${builder(tenant, undefined)}`,
    );
  });

  shell.page<{ tenantId: string; surveyId: string }>(
    '/surveys/:tenantId/:surveyId/edit',
    async ({ req, principal, tenants }) => {
      const tenant = tenantOf(principal, tenants, req.params.tenantId);
      if (!hasPermission(principal, 'deliver'))
        throw new AppError('forbidden', 'この操作には「配信」の権限が必要です', 403);
      const s = await deps.store.get(tenant.id, req.params.surveyId);
      return page(
        `${s.title}の編集`,
        html`<p class="breadcrumbs"><a href="/surveys">アンケート</a> › ${tenant.name} › <a href="/surveys/${tenant.id}/${s.surveyId}">${s.title}</a></p><h1>アンケートの編集</h1>${builder(tenant, s)}`,
      );
    },
  );

  shell.page<{ tenantId: string; surveyId: string }>(
    '/surveys/:tenantId/:surveyId/preview',
    async ({ req, principal, tenants }) => {
      const tenant = tenantOf(principal, tenants, req.params.tenantId);
      const s = await deps.store.get(tenant.id, req.params.surveyId);
      const qs = s.questions.map((q, i) => {
        const head = html`Q${i + 1}. ${q.text}${q.required ? html` <span class="req">必須</span>` : ''}`;
        const help = q.help ? html`<p class="hint">${q.help}</p>` : '';
        const branch = q.branches.length
          ? html`<p class="hint">分岐: ${q.branches
              .map((b) => {
                const o = optionsOf(q).find((x) => x.id === b.option)?.label ?? b.option;
                const to = b.goTo === END ? '終了' : `Q${s.questions.findIndex((x) => x.id === b.goTo) + 1}`;
                return `「${o}」→ ${to}`;
              })
              .join('、')}</p>`
          : '';
        const body =
          q.type === 'single' || q.type === 'multiple' || q.type === 'rating'
            ? html`<ul class="s-preview-options">${optionsOf(q).map((o) => html`<li>${q.type === 'multiple' ? '☐' : '○'} ${o.id === OTHER ? 'その他 (自由記述)' : o.label}</li>`)}</ul>`
            : html`<p class="s-preview-input">${QUESTION_TYPE_LABELS[q.type]}の入力欄</p>`;
        return html`<li><p class="s-preview-q">${head}</p>${help}${body}${branch}</li>`;
      });
      return page(
        `${s.title}のプレビュー`,
        html`<p class="breadcrumbs"><a href="/surveys">アンケート</a> › ${tenant.name} › <a href="/surveys/${tenant.id}/${s.surveyId}">${s.title}</a> › プレビュー</p>
<h1>プレビュー (住民の画面)</h1>
<p class="note">住民が LINE で開く回答フォームの内容です (操作はできません)。分岐は回答に応じて設問を飛ばします。</p>
<div class="s-preview" data-testid="preview"><h2>${s.title}</h2>${s.introduction ? html`<p>${s.introduction}</p>` : ''}
<p class="hint">受付期間: ${when(s.opensAt)} 〜 ${when(s.closesAt)}${s.anonymous ? '（匿名のアンケートです）' : ''}</p>
<ol class="s-preview-list">${qs}</ol></div>`,
      );
    },
  );

  type ResultQuery = { by?: string; question?: string; text?: string; q?: string };
  shell.page<{ tenantId: string; surveyId: string }, ResultQuery>(
    '/surveys/:tenantId/:surveyId',
    async ({ req, principal, tenants }) => {
      const tenant = tenantOf(principal, tenants, req.params.tenantId);
      const s = await deps.store.get(tenant.id, req.params.surveyId);
      const r = await deps.reader.results(s);
      const choiceQs = s.questions.filter((q) => q.type === 'single' || q.type === 'multiple' || q.type === 'rating');
      const textQs = s.questions.filter((q) => q.type === 'text' || q.other);
      const by: CrossDimension = CROSS_DIMENSIONS.includes(req.query.by as CrossDimension)
        ? (req.query.by as CrossDimension)
        : 'gender';
      const crossQ = choiceQs.find((q) => q.id === req.query.question) ?? choiceQs[0];
      const cross = crossQ ? await deps.reader.crossTab(s, crossQ.id, by) : undefined;
      const textQ = textQs.find((q) => q.id === req.query.text) ?? textQs[0];
      const search = (req.query.q ?? '').slice(0, 100);
      const texts = textQ ? await deps.reader.texts(s, textQ.id, search) : [];
      const charts: Record<string, unknown> = { daily: answersOverTimeOptions(r.daily) };
      const qn = (id: string) => s.questions.findIndex((q) => q.id === id) + 1;
      for (const q of r.questions)
        if (q.options.length) charts[`q-${q.questionId}`] = optionCountsOptions(q, qn(q.questionId));
      const url = await deps.formUrl(tenant.id, s.surveyId);
      const mayDeliver = hasPermission(principal, 'deliver');
      const isFirstUse = (await deps.firstUse?.get(tenant.id)) === s.surveyId;
      const mayExport = s.anonymous || hasPermission(principal, 'export_residents');
      const dash = (v: number | null) => (v === null ? '—' : v.toLocaleString('ja-JP'));

      const optionTables = r.questions
        .filter((q) => q.options.length)
        .map(
          (
            q,
          ) => html`<section class="card" aria-labelledby="h-${q.questionId}"><h3 id="h-${q.questionId}">Q${qn(q.questionId)}. ${q.text} <small>(${QUESTION_TYPE_LABELS[q.type as keyof typeof QUESTION_TYPE_LABELS]})</small></h3>
<div class="chart" data-chart="q-${q.questionId}" role="figure" aria-label="Q${qn(q.questionId)} の選択肢ごとの回答数 (表は下にあります)"></div>
<div class="scroll"><table data-testid="options-${q.questionId}"><thead><tr><th scope="col">選択肢</th><th scope="col">回答数</th><th scope="col">割合</th></tr></thead>
<tbody>${q.options.map((o) => html`<tr><th scope="row">${o.label}</th><td class="num">${o.count.toLocaleString('ja-JP')}</td><td class="num">${o.share.toFixed(1)}%</td></tr>`)}</tbody></table></div></section>`,
        );

      const crossSection = cross
        ? html`<section class="card" aria-labelledby="cross-h"><h2 id="cross-h">属性別のクロス集計</h2>
<form class="filters" method="get" action="/surveys/${tenant.id}/${s.surveyId}">
<label>設問 <select name="question">${choiceQs.map((q) => html`<option value="${q.id}"${q.id === crossQ!.id ? html` selected` : ''}>Q${qn(q.id)}. ${q.text}</option>`)}</select></label>
<label>属性 <select name="by">${CROSS_DIMENSIONS.map((d) => html`<option value="${d}"${d === by ? html` selected` : ''}>${CROSS_DIMENSION_LABELS[d]}</option>`)}</select></label>
<button type="submit" class="secondary">集計する</button></form>
<p class="hint">回答時に登録されていた属性で集計します。回答が ${MIN_GROUP} 件未満の区分は、個人が特定されないよう「—」で表示します。</p>
<div class="scroll"><table data-testid="crosstab"><caption>Q${qn(crossQ!.id)}. ${crossQ!.text} × ${CROSS_DIMENSION_LABELS[by]}</caption>
<thead><tr><th scope="col">選択肢</th>${cross.groups.map((g) => html`<th scope="col">${g.label}<br><small>(${dash(g.answers)} 件)</small></th>`)}</tr></thead>
<tbody>${cross.rows.map((row) => html`<tr><th scope="row">${row.label}</th>${row.counts.map((c) => html`<td class="num">${dash(c)}</td>`)}</tr>`)}</tbody></table></div></section>`
        : '';

      const textSection = textQ
        ? html`<section class="card" aria-labelledby="texts-h"><h2 id="texts-h">自由記述の回答</h2>
<form class="filters" method="get" action="/surveys/${tenant.id}/${s.surveyId}">
<label>設問 <select name="text">${textQs.map((q) => html`<option value="${q.id}"${q.id === textQ.id ? html` selected` : ''}>Q${qn(q.id)}. ${q.text}</option>`)}</select></label>
<label>検索 <input type="search" name="q" value="${search}" maxlength="100"></label>
<button type="submit" class="secondary">検索</button></form>
<ul class="s-texts" data-testid="texts">${texts.length ? texts.map((t) => html`<li><p>${t.text}</p><small>${when(t.answeredAt)}</small></li>`) : html`<li>該当する回答はありません。</li>`}</ul>
<p class="hint">新しい順に最大 200 件を表示します。すべての回答は CSV / Excel で出力できます。</p></section>`
        : '';

      return page(
        s.title,
        html`<p class="breadcrumbs"><a href="/surveys">アンケート</a> › ${tenant.name} › ${s.title}</p>
<h1>${s.title}</h1>
<section class="card" aria-labelledby="summary-h"><h2 id="summary-h">概要</h2>
<dl class="s-facts"><div><dt>状態</dt><dd>${PHASE_LABELS[phaseOf(s, Date.now())]}</dd></div>
<div><dt>受付期間</dt><dd>${when(s.opensAt)} 〜 ${when(s.closesAt)}</dd></div>
<div><dt>回答者</dt><dd>${s.anonymous ? '匿名' : '記名 (LINE ユーザー ID)'}</dd></div>
<div><dt>回答済み</dt><dd data-testid="complete">${r.complete.toLocaleString('ja-JP')} 人</dd></div>
<div><dt>回答途中</dt><dd>${r.partial.toLocaleString('ja-JP')} 人</dd></div></dl>
<p class="actions">
${mayDeliver ? html`<a class="button secondary" href="/surveys/${tenant.id}/${s.surveyId}/edit">編集</a>` : ''}
<a class="button secondary" href="/surveys/${tenant.id}/${s.surveyId}/preview">プレビュー</a>
${url && s.status !== 'draft' ? html`<a class="button secondary" href="${url}" target="_blank" rel="noopener">回答フォームを開く</a>` : ''}
${mayExport ? html`<a class="button secondary" href="${API}/${tenant.id}/surveys/${s.surveyId}/answers.csv" download>CSV で出力</a> <a class="button secondary" href="${API}/${tenant.id}/surveys/${s.surveyId}/answers.xlsx" download>Excel で出力</a>` : html`<span class="note">記名式の回答の出力には「住民データの出力」の権限が必要です。</span>`}
</p>
${
  mayDeliver && deps.firstUse && (isFirstUse || s.status === 'open')
    ? html`<p><button type="button" class="secondary" id="sv-first-use" data-url="${API}/${tenant.id}/first-use" data-survey="${isFirstUse ? '' : s.surveyId}">${isFirstUse ? '友だち追加時の案内をやめる' : '友だち追加時にこのアンケートを案内する'}</button></p><p class="status" id="sv-first-use-status" role="status" aria-live="polite">${isFirstUse ? '友だち追加した住民に、登録メニューの前にこのアンケートを案内しています。' : ''}</p>`
    : ''
}
${mayDeliver && s.status !== 'draft' ? html`<p><button type="button" id="sv-deliver" data-url="${API}/${tenant.id}/surveys/${s.surveyId}/delivery">「回答する」ボタンの配信を下書きで作る (全員あて)</button></p><p class="status" id="sv-deliver-status" role="status" aria-live="polite"></p>` : ''}
</section>
<section class="card" aria-labelledby="daily-h"><h2 id="daily-h">回答数の推移</h2>
<div class="chart" data-chart="daily" role="figure" aria-label="日別の回答数と累計"></div>
<div class="scroll"><table><caption class="visually-hidden">日別の回答数</caption><thead><tr><th scope="col">日付</th><th scope="col">回答数</th></tr></thead><tbody>${r.daily.map((d) => html`<tr><th scope="row">${d.day}</th><td class="num">${d.count}</td></tr>`)}</tbody></table></div></section>
<h2>選択肢ごとの回答</h2>
${optionTables}
${crossSection}
${textSection}
${jsonBlock('chart-data', charts)}`,
        ['apexcharts.js', 'charts.js', 'surveys.js'],
      );
    },
  );
}
