/**
 * reports' pages, drawn inside the staff shell (core/page-shell.ts): 議事録 (/minutes), 課題管理表
 * (/issues) and 帳票 (/reports): server-rendered frames with accessible forms; the lists, forms and
 * job progress run in the browser (browser/minutes.ts, issues.ts, reports.ts over core/browser/kit.ts,
 * bundled by the shell) against reports' API, which checks tenants and permissions again. The words
 * those scripts show (statuses, field and action names, kinds of file) are handed to them in the page
 * data (browser/types.ts says what each page gets).
 */
import { hasPermission, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import type { Tenant } from '../core/tenants.ts';
import { addMonths, tokyoMonth as currentMonth } from '../core/time.ts';
import { fileURLToPath } from 'node:url';
import { html, jsonBlock, type SafeHtml } from '../core/html.ts';
import { type PageContent, type PageShell, seesEveryTenant } from '../core/page-shell.ts';
import {
  ISSUE_FIELDS,
  type IssueField,
  type IssuesWords,
  type MinutesField,
  type MinutesWords,
  type ReportsWords,
} from './browser/types.ts';
import type { ReportKind } from './documents/index.ts';
import { REPORT_KIND_ORDER } from './files.ts';
import type { ReportJobState } from './jobs.ts';
import { ISSUE_STATUSES, MINUTES_KINDS, MINUTES_STATUS_LABELS, MINUTES_STATUSES } from './schemas.ts';

/** A page's script: browser/<name>.ts, bundled and served as /assets/<name>.js. */
const browserEntry = (name: string) => fileURLToPath(new URL(`./browser/${name}.ts`, import.meta.url));

/** 議事録, 課題管理表 and 帳票 in the shell: pages, navigation entries and their browser files. */
export function registerReportPages(shell: PageShell): void {
  shell.assets(Object.fromEntries(['minutes', 'issues', 'reports'].map((f) => [`${f}.js`, browserEntry(f)])));
  shell.nav({ href: '/minutes', label: '議事録' });
  shell.nav({ href: '/issues', label: '課題管理表' });
  shell.nav({ href: '/reports', label: '帳票', visible: seesEveryTenant });
  shell.page('/minutes', async (ctx) => minutesPage(ctx));
  shell.page('/issues', async (ctx) => issuesPage(ctx));
  shell.page('/reports', async (ctx) => reportsPage(ctx));
}

export interface RecordPageContext {
  principal: Principal;
  tenants: Tenant[];
}

const isMunicipality = (p: Principal) => p.kind === 'staff' && p.role === 'municipality';
const monthLabel = (m: string) => `${Number(m.slice(0, 4))}年${Number(m.slice(5))}月`;

/** A labelled control with its hint and the place its error is shown (aria-describedby ties them). */
function field(o: {
  id: string;
  label: string;
  control: (attrs: SafeHtml) => SafeHtml;
  hint?: string;
  required?: boolean;
  wide?: boolean;
}): SafeHtml {
  const describedBy = [o.hint ? `${o.id}-hint` : '', `${o.id}-error`].filter(Boolean).join(' ');
  return html`<div class="field${o.wide ? ' wide' : ''}"><label for="${o.id}">${o.label}${o.required ? html` <span class="req">必須</span>` : ''}</label>
${o.control(html`id="${o.id}" aria-describedby="${describedBy}"${o.required ? html` aria-required="true"` : ''}`)}
${o.hint ? html`<p class="hint" id="${o.id}-hint">${o.hint}</p>` : ''}<p class="field-error" id="${o.id}-error" hidden></p></div>`;
}

const options = (values: readonly string[], labels?: Record<string, string>, selected = ''): SafeHtml[] =>
  values.map((v) => html`<option value="${v}"${v === selected ? html` selected` : ''}>${labels?.[v] ?? v}</option>`);

function monthOptions(count: number, selected = ''): SafeHtml[] {
  return Array.from({ length: count }, (_, i) => addMonths(currentMonth(), -i)).map(
    (m) => html`<option value="${m}"${m === selected ? html` selected` : ''}>${monthLabel(m)}</option>`,
  );
}

function tenantOptions(tenants: Tenant[]): SafeHtml[] {
  return tenants.map((t) => html`<option value="${t.id}">${t.name}</option>`);
}

/** The visible tenants for the scripts (names for ids), and what the caller may do. */
function pageData(ctx: RecordPageContext, extra: MinutesWords | IssuesWords | ReportsWords): SafeHtml {
  const p = ctx.principal;
  return jsonBlock('page-data', {
    tenants: ctx.tenants.map((t) => ({ id: t.id, name: t.name, kind: t.kind })),
    ownTenant: isMunicipality(p) && p.kind === 'staff' ? p.tenantId : null,
    canManage: hasPermission(p, 'manage_reports'),
    ...extra,
  });
}

/** Month / status / tenant filters above a list (the tenant one only for accounts that see several). */
function filters(id: string, ctx: RecordPageContext, statuses: SafeHtml[], monthHint: string): SafeHtml {
  return html`<form id="${id}" class="filters" role="search" aria-label="絞り込み">
<label>月 <select name="month" title="${monthHint}"><option value="">すべての月</option>${monthOptions(36)}</select></label>
<label>状態 <select name="status"><option value="">すべて</option>${statuses}</select></label>
${isMunicipality(ctx.principal) ? '' : html`<label>市町 <select name="tenant"><option value="">すべて</option>${tenantOptions(ctx.tenants)}</select></label>`}
</form>`;
}

// ---- the words the scripts show ----------------------------------------------------------------

/** A minutes record's fields as the form names them (and its history lists what changed). */
const MINUTES_FIELD_LABELS: Record<MinutesField, string> = {
  heldAt: '開始日時',
  endedAt: '終了日時',
  kind: '種別',
  title: '件名',
  place: '場所',
  tenantIds: '関係団体',
  attendees: '出席者',
  agenda: '議題',
  discussion: '協議内容',
  decisions: '決定事項',
  actionItems: '対応事項',
};

const MINUTES_WORDS: MinutesWords = {
  statusLabels: MINUTES_STATUS_LABELS,
  actionLabels: { created: '作成', updated: '更新', approved: '承認', reopened: '差し戻し', deleted: '削除' },
  fieldLabels: MINUTES_FIELD_LABELS,
};

/** The issue log's columns (the editor's labels, and the history's field names). */
const ISSUE_COLUMN_LABELS: Record<IssueField, string> = {
  tenantId: '市町',
  raisedOn: '起票日',
  category: '分類',
  description: '内容',
  response: '対応',
  owner: '担当',
  status: '状況',
  dueOn: '期限',
  resolvedOn: '完了日',
};

const CLOSED_ISSUE: (typeof ISSUE_STATUSES)[number] = '完了';

const ISSUES_WORDS: IssuesWords = {
  fieldLabels: ISSUE_COLUMN_LABELS,
  actionLabels: { created: '起票', updated: '変更', deleted: '削除' },
  closedStatus: CLOSED_ISSUE,
};

/** The kinds of file as the 帳票 page names them (every kind of the documents' contract, checked by tsc). */
const REPORT_KIND_LABELS: Record<ReportKind, string> = {
  'minutes-docx': '議事録 (Word)',
  'issues-xlsx': '課題管理表 (Excel)',
  'kpi-xlsx': '実績報告 (Excel)',
  'kpi-docx': '実績報告 (Word)',
  'kpi-pdf': '実績報告 (PDF)',
  'final-docx': '最終報告書 (Word)',
  'final-xlsx': '最終報告書 (Excel)',
  'ops-xlsx': '運用報告 (Excel)',
};

const JOB_STATE_LABELS: Record<ReportJobState, string> = {
  waiting: '順番待ち',
  active: '作成中',
  completed: '完了',
  failed: '失敗',
};

const REPORTS_WORDS: ReportsWords = {
  kinds: REPORT_KIND_ORDER.map((id) => ({ id, label: REPORT_KIND_LABELS[id] })),
  jobStates: JOB_STATE_LABELS,
};

const manageNote = html`<p class="note">このアカウントには「帳票の管理」の権限がないため、閲覧のみできます。</p>`;

// ---- 議事録 ---------------------------------------------------------------------------------------

export function minutesPage(ctx: RecordPageContext): PageContent {
  const kinds = MINUTES_KINDS;
  const m = MINUTES_FIELD_LABELS;
  const canManage = hasPermission(ctx.principal, 'manage_reports');
  const own = isMunicipality(ctx.principal);
  const tenantBoxes = ctx.tenants.map(
    (t) =>
      html`<label class="check"><input type="checkbox" name="tenantIds" value="${t.id}"${own ? html` checked` : ''}> ${t.name}</label>`,
  );
  const editor = canManage
    ? html`<section id="minutes-editor" class="card" hidden aria-labelledby="minutes-editor-title">
<h2 id="minutes-editor-title">新しい議事録</h2>
<form id="minutes-form" novalidate>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
${field({ id: 'm-title', label: m.title, required: true, wide: true, control: (a) => html`<input ${a} name="title" data-field="title" maxlength="100" required>` })}
${field({ id: 'm-kind', label: m.kind, required: true, control: (a) => html`<select ${a} name="kind" data-field="kind">${options(kinds)}</select>` })}
${field({ id: 'm-heldAt', label: m.heldAt, required: true, hint: '日本時間', control: (a) => html`<input ${a} type="datetime-local" name="heldAt" data-field="heldAt" required>` })}
${field({ id: 'm-endedAt', label: m.endedAt, hint: '日本時間 (任意)', control: (a) => html`<input ${a} type="datetime-local" name="endedAt" data-field="endedAt">` })}
${field({ id: 'm-place', label: m.place, hint: '例: web会議、県庁 5階 会議室', control: (a) => html`<input ${a} name="place" data-field="place" maxlength="100">` })}
</div>
<fieldset class="tenant-boxes" data-field="tenantIds" aria-describedby="m-tenantIds-error"><legend>${m.tenantIds}${own ? html` <span class="req">必須</span>` : ''}</legend>
<div class="boxes">${tenantBoxes}</div><p class="field-error" id="m-tenantIds-error" hidden></p></fieldset>
<fieldset class="rows" id="m-attendees" data-field="attendees" aria-describedby="m-attendees-error" data-row="attendee"><legend>${m.attendees}</legend>
<div class="row-list"></div><p class="field-error" id="m-attendees-error" hidden></p>
<button type="button" class="secondary" data-add="attendee">出席者を追加</button></fieldset>
<div class="form-grid">
${field({ id: 'm-agenda', label: m.agenda, hint: '1 行に 1 件', wide: true, control: (a) => html`<textarea ${a} name="agenda" data-field="agenda" rows="3"></textarea>` })}
${field({ id: 'm-discussion', label: m.discussion, wide: true, control: (a) => html`<textarea ${a} name="discussion" data-field="discussion" rows="6"></textarea>` })}
${field({ id: 'm-decisions', label: m.decisions, hint: '1 行に 1 件', wide: true, control: (a) => html`<textarea ${a} name="decisions" data-field="decisions" rows="3"></textarea>` })}
</div>
<fieldset class="rows" id="m-actionItems" data-field="actionItems" aria-describedby="m-actionItems-error" data-row="action"><legend>${m.actionItems} (担当・期限)</legend>
<div class="row-list"></div><p class="field-error" id="m-actionItems-error" hidden></p>
<button type="button" class="secondary" data-add="action">対応事項を追加</button></fieldset>
<p class="actions"><button type="submit" id="minutes-save">下書きを保存</button> <button type="button" class="secondary" id="minutes-cancel">閉じる</button></p>
</form></section>`
    : manageNote;
  const body = html`<h1>議事録</h1>
<p class="note">県・市町との会議の記録です。開催した月の分を翌月10日 (閉庁日のときは次の開庁日) までに県へ提出します。下書きを承認すると、その月の帳票に載ります。</p>
<div class="toolbar">${filters('minutes-filter', ctx, options(MINUTES_STATUSES, MINUTES_STATUS_LABELS), '開催した月')}
${canManage ? html`<button type="button" id="minutes-new">新しい議事録</button>` : ''}</div>
<p id="minutes-status" class="status" role="status" aria-live="polite"></p>
${editor}
<section id="minutes-detail" class="card" hidden aria-labelledby="minutes-detail-title" tabindex="-1"></section>
<div id="minutes-list" aria-busy="true">読み込み中…</div>
${pageData(ctx, MINUTES_WORDS)}`;
  return { title: '議事録', body, scripts: ['minutes.js'], styles: ['records.css'] };
}

// ---- 課題管理表 -----------------------------------------------------------------------------------

export function issuesPage(ctx: RecordPageContext): PageContent {
  const statuses = ISSUE_STATUSES;
  const c = ISSUE_COLUMN_LABELS;
  const canManage = hasPermission(ctx.principal, 'manage_reports');
  const own = isMunicipality(ctx.principal);
  const categories = [
    'アカウント開設',
    'リッチメニュー',
    '配信',
    '特典チケット・ポイント',
    '操作方法',
    '広報',
    '問い合わせ',
    'その他',
  ];
  const editor = canManage
    ? html`<section id="issue-editor" class="card" hidden aria-labelledby="issue-editor-title">
<h2 id="issue-editor-title">課題を起票する</h2>
<form id="issue-form" novalidate>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
${field({ id: 'i-tenantId', label: c.tenantId, required: true, control: (a) => html`<select ${a} name="tenantId" data-field="tenantId" required>${own ? '' : html`<option value="">選んでください</option>`}${tenantOptions(ctx.tenants)}</select>` })}
${field({ id: 'i-raisedOn', label: c.raisedOn, hint: '空欄なら今日', control: (a) => html`<input ${a} type="date" name="raisedOn" data-field="raisedOn">` })}
${field({ id: 'i-category', label: c.category, required: true, control: (a) => html`<input ${a} name="category" data-field="category" list="issue-categories" maxlength="50" required><datalist id="issue-categories">${options(categories)}</datalist>` })}
${field({ id: 'i-status', label: c.status, control: (a) => html`<select ${a} name="status" data-field="status">${options(statuses)}</select>` })}
${field({ id: 'i-description', label: c.description, required: true, wide: true, control: (a) => html`<textarea ${a} name="description" data-field="description" rows="3" required></textarea>` })}
${field({ id: 'i-response', label: c.response, wide: true, control: (a) => html`<textarea ${a} name="response" data-field="response" rows="3"></textarea>` })}
${field({ id: 'i-owner', label: c.owner, control: (a) => html`<input ${a} name="owner" data-field="owner" maxlength="60">` })}
${field({ id: 'i-dueOn', label: c.dueOn, control: (a) => html`<input ${a} type="date" name="dueOn" data-field="dueOn">` })}
${field({ id: 'i-resolvedOn', label: c.resolvedOn, hint: '状況が「完了」のときだけ。空欄なら完了にした日', control: (a) => html`<input ${a} type="date" name="resolvedOn" data-field="resolvedOn">` })}
${field({ id: 'i-note', label: '変更の理由', hint: '履歴に残ります (任意)', wide: true, control: (a) => html`<input ${a} name="note" data-field="note" maxlength="500">` })}
</div>
<p class="actions"><button type="submit" id="issue-save">起票する</button> <button type="button" class="secondary" id="issue-cancel">閉じる</button></p>
</form></section>`
    : manageNote;
  const body = html`<h1>課題管理表</h1>
<p class="note">市町ごとの課題と対応の記録です。変更はすべて履歴に残ります。月を選ぶと、その月の課題管理表 (月末までに起票し、月初より前に完了していないもの) を表示します。</p>
<div class="toolbar">${filters('issue-filter', ctx, options(statuses), 'その月の課題管理表')}
${canManage ? html`<button type="button" id="issue-new">課題を起票</button>` : ''}</div>
<p id="issue-status" class="status" role="status" aria-live="polite"></p>
${editor}
<section id="issue-history" class="card" hidden aria-labelledby="issue-history-title" tabindex="-1"></section>
<div class="scroll"><table id="issues" aria-label="課題管理表"><thead><tr>
<th scope="col">No.</th>${ISSUE_FIELDS.map((f) => html`<th scope="col">${c[f]}</th>`)}<th scope="col"><span class="visually-hidden">操作</span></th>
</tr></thead><tbody aria-busy="true"><tr><td colspan="${ISSUE_FIELDS.length + 2}">読み込み中…</td></tr></tbody></table></div>
${pageData(ctx, ISSUES_WORDS)}`;
  return { title: '課題管理表', body, scripts: ['issues.js'], styles: ['records.css'] };
}

// ---- 帳票 -----------------------------------------------------------------------------------------

export function reportsPage(ctx: RecordPageContext): PageContent {
  if (isMunicipality(ctx.principal)) {
    throw new AppError(
      'forbidden',
      '帳票は県・受託者・管理者のアカウントで見られます。議事録と課題管理表は上のメニューから開けます',
      403,
    );
  }
  const canManage = hasPermission(ctx.principal, 'manage_reports');
  const last = addMonths(currentMonth(), -1);
  const create = canManage
    ? html`<section class="card" aria-labelledby="create-title"><h2 id="create-title">帳票を作成する</h2>
<p class="note">作成し直すと新しい版として保存され、以前の版も残ります。作成中は進み具合を表示します。</p>
<div class="create-forms">
<form id="create-monthly" novalidate aria-labelledby="create-monthly-title"><h3 id="create-monthly-title">月次帳票</h3>
<p class="note">議事録 (Word)、課題管理表 (Excel)、実績報告 (Excel・Word・PDF)</p>
<div class="form-summary" role="alert" hidden></div>
${field({ id: 'r-month', label: '対象月', control: (a) => html`<select ${a} name="month" data-field="month">${monthOptions(36, last)}</select>` })}
<p class="actions"><button type="submit">作成</button></p></form>
<form id="create-final" novalidate aria-labelledby="create-final-title"><h3 id="create-final-title">最終報告書</h3>
<p class="note">期間全体の分析と提案 (Word・Excel)</p>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
${field({ id: 'r-from', label: '期間の始め', control: (a) => html`<select ${a} name="from" data-field="from">${monthOptions(60, addMonths(last, -11))}</select>` })}
${field({ id: 'r-to', label: '期間の終わり', control: (a) => html`<select ${a} name="to" data-field="to">${monthOptions(60, last)}</select>` })}
</div>
${field({ id: 'r-due', label: '提出期限 (契約で定めた日・任意)', control: (a) => html`<input type="date" ${a} name="due" data-field="due">` })}
<p class="actions"><button type="submit">作成</button></p></form>
</div></section>`
    : html`<p class="note">このアカウントには「帳票の管理」の権限がないため、作成はできません (ダウンロードはできます)。</p>`;
  const body = html`<h1>帳票</h1>
<p class="note">県へ提出する帳票です。月次帳票は毎月1日に前月分を自動で作成します。提出期限は翌月10日 (閉庁日のときは次の開庁日) です。</p>
${create}
<section aria-labelledby="jobs-title"><h2 id="jobs-title">作成の進み具合</h2>
<div id="report-jobs" class="card" aria-live="polite">読み込み中…</div></section>
<section aria-labelledby="files-title"><h2 id="files-title">作成済みの帳票</h2>
<div id="report-files" aria-busy="true">読み込み中…</div></section>
${pageData(ctx, REPORTS_WORDS)}`;
  return { title: '帳票', body, scripts: ['reports.js'], styles: ['records.css'] };
}
