/**
 * The 運用 record pages: 障害報告書 (/ops/incidents), 対応履歴管理表 (/ops/supports), 運用課題管理表
 * (/ops/issues) and 計画停止 (/ops/stops). Each is a server-rendered frame with an accessible form
 * (labels, hints, the place each field's error is shown); the list, the form's sending and the
 * history field by field run in the browser (browser/records.ts over core/browser/kit.ts, bundled by
 * the shell) against ops' JSON API, which checks the caller and validates again. Reading needs an
 * account that sees every tenant; the form shows for 帳票の管理 (manage_reports).
 */
import { fileURLToPath } from 'node:url';
import { canSeeEvery, hasPermission } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import { html, jsonBlock, type SafeHtml } from '../core/html.ts';
import type { PageContent, PageShell } from '../core/page-shell.ts';
import type { Tenant } from '../core/tenants.ts';
import type { FormField, OpsRecordsWords } from './browser/types.ts';
import { FIELD_LABELS, INCIDENT_STATUSES, ISSUE_STATUSES, KIND_LABELS, type RecordKind } from './schemas.ts';

interface KindPage {
  kind: RecordKind;
  path: string;
  plural: string;
  noun: string;
  lead: string;
  fields: Array<Omit<FormField, 'label'>>;
  columns: string[];
}

const DATETIME_HINT = '日本時間';

export const RECORD_PAGES: KindPage[] = [
  {
    kind: 'incident',
    path: '/ops/incidents',
    plural: 'incidents',
    noun: '障害報告書',
    lead: '障害の検知から復旧、原因と再発防止策までの記録です。自己診断が検知した障害は自動で起票されます。報告期限は復旧から5開庁日です。',
    fields: [
      { name: 'title', type: 'text', required: true, maxLength: 200, wide: true },
      { name: 'detectedAt', type: 'datetime', required: true, hint: DATETIME_HINT, initial: 'now' },
      { name: 'recoveredAt', type: 'datetime', nullable: true, hint: `${DATETIME_HINT}。復旧していなければ空欄` },
      { name: 'status', type: 'select', options: INCIDENT_STATUSES },
      { name: 'impact', type: 'textarea', maxLength: 4000, wide: true },
      { name: 'cause', type: 'textarea', maxLength: 4000, wide: true },
      { name: 'response', type: 'textarea', maxLength: 4000, wide: true },
      { name: 'prevention', type: 'textarea', maxLength: 4000, wide: true },
    ],
    columns: ['title', 'detectedAt', 'recoveredAt', 'status'],
  },
  {
    kind: 'support',
    path: '/ops/supports',
    plural: 'supports',
    noun: '対応履歴',
    lead: '問い合わせの受付から回答までの記録です。回答までの開庁日数は「運用」のページと月次報告に載ります (2開庁日以内が目安)。',
    fields: [
      { name: 'receivedAt', type: 'datetime', required: true, hint: DATETIME_HINT, initial: 'now' },
      { name: 'tenantId', type: 'tenant', hint: '県全体・団体によらない問い合わせは「なし」' },
      { name: 'inquirer', type: 'text', required: true, maxLength: 200, hint: '例: 津市 健康づくり課 山田' },
      { name: 'channel', type: 'text', maxLength: 50, hint: '例: 電話、メール、Web会議', initial: '電話' },
      { name: 'content', type: 'textarea', required: true, maxLength: 4000, wide: true },
      { name: 'responder', type: 'text', maxLength: 100 },
      { name: 'answeredAt', type: 'datetime', nullable: true, hint: `${DATETIME_HINT}。未回答なら空欄` },
      { name: 'response', type: 'textarea', maxLength: 4000, wide: true },
    ],
    columns: ['receivedAt', 'tenantId', 'inquirer', 'content', 'responder', 'answeredAt'],
  },
  {
    kind: 'issue',
    path: '/ops/issues',
    plural: 'issues',
    noun: '運用課題',
    lead: '運用の中で見つかった課題と対応の記録です。月例会議の資料 (運用報告) に載ります。',
    fields: [
      { name: 'raisedOn', type: 'date', required: true, initial: 'today' },
      { name: 'title', type: 'text', required: true, maxLength: 200, wide: true },
      { name: 'description', type: 'textarea', maxLength: 4000, wide: true },
      { name: 'owner', type: 'text', maxLength: 100 },
      { name: 'status', type: 'select', options: ISSUE_STATUSES },
      { name: 'dueOn', type: 'date', nullable: true },
      { name: 'resolvedOn', type: 'date', nullable: true, hint: '完了したら記入' },
      { name: 'response', type: 'textarea', maxLength: 4000, wide: true },
    ],
    columns: ['raisedOn', 'title', 'owner', 'status', 'dueOn', 'resolvedOn'],
  },
  {
    kind: 'stop',
    path: '/ops/stops',
    plural: 'stops',
    noun: '計画停止',
    lead: 'メンテナンスなどで止める予定です。開始の10日前から、すべての職員のページの上部にお知らせが出ます。稼働率の計算では別に数えます。',
    fields: [
      { name: 'startsAt', type: 'datetime', required: true, hint: DATETIME_HINT },
      { name: 'endsAt', type: 'datetime', required: true, hint: DATETIME_HINT },
      {
        name: 'reason',
        type: 'textarea',
        required: true,
        maxLength: 500,
        wide: true,
        hint: '住民・職員への案内にも使います',
      },
    ],
    columns: ['startsAt', 'endsAt', 'reason'],
  },
];

const ACTION_LABELS = { created: '登録', updated: '変更', deleted: '削除' };

const entry = fileURLToPath(new URL('./browser/records.ts', import.meta.url));

/** One labelled control of the form, with its hint and the place its error is shown. */
function control(f: FormField, tenants: Tenant[]): SafeHtml {
  const id = `f-${f.name}`;
  const describedBy = [f.hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' ');
  const a = html`id="${id}" name="${f.name}" data-field="${f.name}" aria-describedby="${describedBy}"${f.required ? html` required aria-required="true"` : ''}${f.maxLength ? html` maxlength="${f.maxLength}"` : ''}`;
  const input =
    f.type === 'textarea'
      ? html`<textarea ${a} rows="3"></textarea>`
      : f.type === 'select'
        ? html`<select ${a}>${(f.options ?? []).map((o) => html`<option value="${o}">${o}</option>`)}</select>`
        : f.type === 'tenant'
          ? html`<select ${a}><option value="">なし (県全体)</option>${tenants.map((t) => html`<option value="${t.id}">${t.name}</option>`)}</select>`
          : html`<input ${a} type="${f.type === 'datetime' ? 'datetime-local' : f.type === 'date' ? 'date' : 'text'}">`;
  return html`<div class="field${f.wide ? ' wide' : ''}"><label for="${id}">${f.label}${f.required ? html` <span class="req">必須</span>` : ''}</label>
${input}
${f.hint ? html`<p class="hint" id="${id}-hint">${f.hint}</p>` : ''}<p class="field-error" id="${id}-error" hidden></p></div>`;
}

function recordPage(p: KindPage, canManage: boolean, tenants: Tenant[]): PageContent {
  const labels = FIELD_LABELS[p.kind];
  const fields: FormField[] = p.fields.map((f) => ({ ...f, label: labels[f.name] ?? f.name }));
  const words: OpsRecordsWords = {
    plural: p.plural,
    noun: p.noun,
    fields,
    columns: p.columns,
    actionLabels: ACTION_LABELS,
    docx: p.kind === 'incident',
  };
  const title = KIND_LABELS[p.kind];
  const editor = canManage
    ? html`<section id="record-editor" class="card" hidden aria-labelledby="record-editor-title">
<h2 id="record-editor-title">${p.noun}を登録する</h2>
<form id="record-form" novalidate>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
${fields.map((f) => control(f, tenants))}
${control({ name: 'note', label: '変更の理由', type: 'text', maxLength: 500, wide: true, hint: '履歴に残ります (任意)' }, tenants)}
</div>
<p class="actions"><button type="submit" id="record-save">登録する</button> <button type="button" class="secondary" id="record-cancel">閉じる</button></p>
</form></section>`
    : html`<p class="note">登録・変更には「帳票の管理」の権限が必要です。</p>`;
  const body = html`<p class="breadcrumb"><a href="/ops">運用</a> › ${title}</p>
<h1>${title}</h1>
<p class="note">${p.lead} 変更はすべて項目ごとに履歴に残ります。</p>
<div class="toolbar">${canManage ? html`<button type="button" id="record-new">${p.noun}を登録</button>` : ''}</div>
<p id="record-status" class="status" role="status" aria-live="polite"></p>
${editor}
<section id="record-history" class="card" hidden aria-labelledby="record-history-title" tabindex="-1"></section>
<div class="scroll"><table id="records" aria-label="${title}"><thead><tr>
<th scope="col">No.</th>${p.columns.map((c) => html`<th scope="col">${labels[c] ?? c}</th>`)}<th scope="col"><span class="visually-hidden">操作</span></th>
</tr></thead><tbody aria-busy="true"><tr><td colspan="${p.columns.length + 2}">読み込み中…</td></tr></tbody></table></div>
${jsonBlock('page-data', {
  tenants: tenants.map((t) => ({ id: t.id, name: t.name, kind: t.kind })),
  ownTenant: null,
  canManage,
  ...words,
})}`;
  return { title, body, scripts: ['ops-records.js'], styles: ['records.css'] };
}

/** The four record pages in the shell, and their script. */
export function registerOpsRecordPages(shell: PageShell): void {
  shell.assets({ 'ops-records.js': entry });
  for (const p of RECORD_PAGES)
    shell.page(p.path, async ({ principal, tenants }) => {
      if (!canSeeEvery(principal))
        throw new AppError('forbidden', '運用の記録は県・受託者・管理者のアカウントで見られます', 403);
      return recordPage(p, hasPermission(principal, 'manage_reports'), tenants);
    });
}
