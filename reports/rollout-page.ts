/**
 * 業務工程表 (/rollout): the board drawn on the server (a table per municipality and step: planned and
 * actual dates in 和暦, where the actual date comes from, and the step's state in words, late ones
 * marked 「遅延」 with the days past the plan); for the contractor a form that enters a step's dates
 * (browser/rollout.ts, against /api/v1/rollout) and each municipality's history of changes.
 */
import { fileURLToPath } from 'node:url';
import type { Principal } from '../core/auth.ts';
import { html, jsonBlock, type SafeHtml } from '../core/html.ts';
import type { PageContent, PageShell } from '../core/page-shell.ts';
import { formatWareki } from '../core/time.ts';
import { entersRollout } from './rollout-routes.ts';
import { type BoardStep, ROLLOUT_STEPS, type RolloutBoard, type RolloutStore, STEP_STATUS_LABELS } from './rollout.ts';

const asset = (name: string) => fileURLToPath(new URL(`./browser/${name}`, import.meta.url));

export function registerRolloutPage(shell: PageShell, store: RolloutStore): void {
  shell.assets({ 'rollout.js': asset('rollout.ts'), 'rollout.css': asset('rollout.css') });
  shell.nav({ href: '/rollout', label: '業務工程表' });
  shell.page('/rollout', async (ctx) => {
    const p = ctx.principal;
    const own = p.kind === 'staff' && p.role === 'municipality';
    const tenants = own ? ctx.tenants.filter((t) => t.id === p.tenantId) : ctx.tenants;
    return rolloutPage(p, await store.board(tenants));
  });
}

const short = (d: string | null) => (d ? formatWareki(d) : '—');

function stepCell(s: BoardStep): SafeHtml {
  const late = s.status === 'late' || s.status === 'done_late';
  const state = late ? `${STEP_STATUS_LABELS[s.status]} ${s.daysLate}日` : STEP_STATUS_LABELS[s.status];
  return html`<td class="step s-${s.status}" data-step="${s.key}">
<span class="badge st-${s.status}">${late ? html`<span aria-hidden="true">⚠ </span>` : ''}${state}</span>
<dl><dt>予定</dt><dd>${short(s.plannedOn)}</dd><dt>実績</dt><dd>${short(s.actualOn)}${s.actualSource ? html` <span class="source">(${s.actualSource === 'record' ? 'Tayori の記録' : '受託者の入力'})</span>` : ''}</dd></dl>
${s.note ? html`<p class="note">${s.note}</p>` : ''}</td>`;
}

export function rolloutPage(p: Principal, board: RolloutBoard): PageContent {
  const canEnter = entersRollout(p);
  const rows = board.rows.map(
    (r) => html`<tr data-tenant="${r.tenantId}"${r.lateSteps ? html` class="has-late"` : ''}>
<th scope="row">${r.name}${r.lateSteps ? html`<br><span class="late-count">遅延 ${r.lateSteps} 件</span>` : ''}</th>
${r.steps.map(stepCell)}</tr>`,
  );
  const editor = canEnter
    ? html`<section class="card" aria-labelledby="rollout-editor-title">
<h2 id="rollout-editor-title">予定・実績の入力</h2>
<p class="hint">実績日は、Tayori に記録がある工程 (チャネル情報の登録・リッチメニューの設定・マイレージ事業の設定・運用開始) では記録から表示され、入力できません。</p>
<form id="rollout-form" novalidate>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
<div class="field"><label for="r-tenant">市町</label><select id="r-tenant" name="tenant" aria-describedby="r-tenant-error">${board.rows.map((r) => html`<option value="${r.tenantId}">${r.name}</option>`)}</select><p class="field-error" id="r-tenant-error" hidden></p></div>
<div class="field"><label for="r-step">工程</label><select id="r-step" name="step" aria-describedby="r-step-error">${ROLLOUT_STEPS.map((s) => html`<option value="${s.key}">${s.label}</option>`)}</select><p class="field-error" id="r-step-error" hidden></p></div>
<div class="field"><label for="r-plannedOn">予定日</label><input id="r-plannedOn" type="date" name="plannedOn" data-field="plannedOn" aria-describedby="r-plannedOn-error"><p class="field-error" id="r-plannedOn-error" hidden></p></div>
<div class="field"><label for="r-actualOn">実績日</label><input id="r-actualOn" type="date" name="actualOn" data-field="actualOn" aria-describedby="r-actualOn-hint r-actualOn-error"><p class="hint" id="r-actualOn-hint">Tayori の記録がない工程のみ</p><p class="field-error" id="r-actualOn-error" hidden></p></div>
<div class="field wide"><label for="r-note">メモ</label><input id="r-note" name="note" data-field="note" maxlength="500" aria-describedby="r-note-error"><p class="field-error" id="r-note-error" hidden></p></div>
</div>
<button type="submit">保存</button>
<p id="rollout-status" class="status" role="status"></p>
</form></section>`
    : html`<p class="note">予定・実績は受託者が入力します。このアカウントでは閲覧のみできます。</p>`;
  const body = html`<h1>業務工程表</h1>
<p>基準日 ${formatWareki(board.asOf)} 時点。遅延している工程 <strong id="rollout-late">${board.lateSteps}</strong> 件
(予定日を過ぎて完了していない工程と、予定日より後に完了した工程。「⚠ 遅延」と日数で示します)。</p>
<div class="table-wrap"><table id="rollout-board" class="rollout">
<caption>市町別の工程 (予定日・実績日)</caption>
<thead><tr><th scope="col">市町</th>${ROLLOUT_STEPS.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="${ROLLOUT_STEPS.length + 1}">市町が登録されていません</td></tr>`}</tbody>
</table></div>
${editor}
<section class="card" aria-labelledby="rollout-history-title">
<h2 id="rollout-history-title">変更履歴</h2>
<label for="r-history-tenant">市町</label> <select id="r-history-tenant">${board.rows.map((r) => html`<option value="${r.tenantId}">${r.name}</option>`)}</select>
<div id="rollout-history" aria-live="polite"></div>
</section>
${jsonBlock('rollout-data', { rows: board.rows.map((r) => ({ tenantId: r.tenantId, steps: r.steps })) })}`;
  return { title: '業務工程表', body, scripts: ['rollout.js'], styles: ['records.css', 'rollout.css'] };
}
