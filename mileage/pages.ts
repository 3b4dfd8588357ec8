/**
 * mileage's staff pages, drawn inside the staff shell (core/page-shell.ts), nav 「マイレージ」:
 *
 *   /mileage                                              municipalities (and the card design)
 *   /mileage/:tenantId                        a municipality's programmes; a new one
 *   /mileage/:tenantId/settings?programme=    the programme's settings and activities; the flyer
 *   /mileage/:tenantId/sessions?programme=    event and venue QR codes (PNG, A4 poster)
 *   /mileage/:tenantId/participants?programme=&member=&q=&order=&offset=&limit=
 *                                             participants a page at a time (search by member number), a
 *                                             member's ledger, corrections, the CSV of all
 *   /mileage/:tenantId/grants?programme=      grant one by member number; CSV/xlsx import with preview
 *   /mileage/design                           the とこわか健康応援カード's design (prefecture)
 *
 * Without `programme` a page shows the programme running today (else the newest); a selector switches.
 *
 * Lists are drawn on the server; forms post to the mileage API from browser/staff.ts (one bundle,
 * mileage.js), which checks tenants and permissions again.
 */
import { fileURLToPath } from 'node:url';
import { hasPermission, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import { html, type SafeHtml } from '../core/html.ts';
import { type PageContent, type PageShell, pageTenant, seesEveryTenant } from '../core/page-shell.ts';
import type { Tenant } from '../core/tenants.ts';
import { formatWareki, tokyoMinute, tokyoToday } from '../core/time.ts';
import type { CardService } from './cards.ts';
import type { Catalogue } from './catalogue.ts';
import type { LedgerReads } from './ledger.ts';
import { validityText } from './printables/session-poster.ts';
import {
  METHOD_LABELS,
  METHODS,
  PARTICIPANT_ORDERS,
  PARTICIPANTS_PER_PAGE,
  type ParticipantsPage,
  type Programme,
  participantsQuerySchema,
} from './schemas.ts';

export interface MileagePageDeps {
  catalogue: Pick<Catalogue, 'list' | 'programme' | 'sessions'>;
  ledger: Pick<LedgerReads, 'participants'>;
  cards: Pick<CardService, 'designs'>;
}

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const API = '/api/v1/mileage';

/** What the caller may do (the API decides again; mileage/access.ts). */
function abilities(p: Principal) {
  const staff = p.kind === 'staff' ? p : undefined;
  return {
    manage: hasPermission(p, 'manage_mileage') || hasPermission(p, 'manage_channels'),
    grant: hasPermission(p, 'manage_mileage') && (!staff || staff.role !== 'prefecture'),
    design: hasPermission(p, 'manage_mileage') && (!staff || staff.role === 'admin' || staff.role === 'prefecture'),
  };
}

const pts = (n: number) => `${n.toLocaleString('ja-JP')} ポイント`;
const period = (p: Pick<Programme, 'startsOn' | 'endsOn'>) =>
  `${formatWareki(p.startsOn)} 〜 ${formatWareki(p.endsOn)}`;
const caps = (daily: number, whole: number) =>
  [daily ? `1日${daily}回` : '', whole ? `期間中${whole}回` : ''].filter(Boolean).join('・') || '上限なし';

/** A labelled control with its hint and error slot (the kit's showErrors fills it). */
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

const page = (title: string, body: SafeHtml): PageContent => ({
  title,
  body,
  scripts: ['mileage.js'],
  styles: ['records.css', 'mileage.css'],
});

/** The programme's sub-navigation and a selector of the tenant's programmes (a plain GET form). */
function programmeNav(tenant: Tenant, p: Programme, all: Programme[], current: string): SafeHtml {
  const links: Array<[string, string]> = [
    ['settings', '事業の設定'],
    ['sessions', '会場の QR コード'],
    ['participants', '参加者'],
    ['grants', 'ポイント付与'],
  ];
  const q = `?programme=${encodeURIComponent(p.programmeId)}`;
  return html`<p class="breadcrumbs"><a href="/mileage">マイレージ</a> › <a href="/mileage/${tenant.id}">${tenant.name}</a> › ${p.name}</p>
<nav class="m-subnav" aria-label="事業のメニュー"><ul>${links.map(
    ([path, label]) =>
      html`<li><a href="/mileage/${tenant.id}/${path}${q}"${path === current ? html` aria-current="page"` : ''}>${label}</a></li>`,
  )}</ul></nav>
${
  all.length > 1
    ? html`<form class="filters m-switch" method="get" action="/mileage/${tenant.id}/${current}"><label>事業 <select name="programme">${all.map(
        (x) =>
          html`<option value="${x.programmeId}"${x.programmeId === p.programmeId ? html` selected` : ''}>${x.name}</option>`,
      )}</select></label> <button type="submit" class="secondary">切り替え</button></form>`
    : ''
}`;
}

/** The programme asked for, else the one running today, else the newest. */
function chooseProgramme(all: Programme[], asked: string | undefined, today: string): Programme | undefined {
  if (asked) {
    const p = all.find((x) => x.programmeId === asked);
    if (!p) throw new AppError('programme_not_found', '事業が見つかりません', 404);
    return p;
  }
  const sorted = [...all].sort((a, b) => b.startsOn.localeCompare(a.startsOn));
  return sorted.find((x) => x.startsOn <= today && today <= x.endsOn) ?? sorted[0];
}

function programmeFields(prefix: string, p?: Programme): SafeHtml {
  const fy = p?.fiscalYear ?? new Date().getFullYear() - (new Date().getMonth() < 3 ? 1 : 0);
  return html`<div class="form-grid">
${field({ id: `${prefix}-fiscalYear`, label: '年度 (西暦)', required: true, hint: '例: 2026 (令和8年度)', control: (a) => html`<input ${a} type="number" name="fiscalYear" data-field="fiscalYear" data-type="number" min="2019" max="2100" value="${fy}" required>` })}
${field({ id: `${prefix}-name`, label: '名称', required: true, wide: true, control: (a) => html`<input ${a} name="name" data-field="name" maxlength="100" value="${p?.name ?? ''}" required>` })}
${field({ id: `${prefix}-startsOn`, label: '開始日', required: true, control: (a) => html`<input ${a} type="date" name="startsOn" data-field="startsOn" value="${p?.startsOn ?? ''}" required>` })}
${field({ id: `${prefix}-endsOn`, label: '終了日', required: true, control: (a) => html`<input ${a} type="date" name="endsOn" data-field="endsOn" value="${p?.endsOn ?? ''}" required>` })}
${field({ id: `${prefix}-goalPoints`, label: '目標ポイント', required: true, hint: 'この点数でカードを発行します', control: (a) => html`<input ${a} type="number" name="goalPoints" data-field="goalPoints" data-type="number" min="1" max="100000" value="${p?.goalPoints ?? 100}" required>` })}
${field({ id: `${prefix}-cardValidMonths`, label: 'カードの有効期間 (月)', required: true, hint: '発行日からの月数', control: (a) => html`<input ${a} type="number" name="cardValidMonths" data-field="cardValidMonths" data-type="number" min="1" max="60" value="${p?.cardValidMonths ?? 12}" required>` })}
${field({ id: `${prefix}-description`, label: '説明', wide: true, control: (a) => html`<textarea ${a} name="description" data-field="description" rows="3" maxlength="2000">${p?.description ?? ''}</textarea>` })}
</div>`;
}

/**
 * 「N 件中 a–b 件」 with 前へ / 次へ links (plain links: they work without JavaScript), keeping the
 * search, the order and the page size; `id` names the line the table is described by.
 */
function participantsPager(tenant: Tenant, p: Programme, list: ParticipantsPage, id?: string): SafeHtml {
  const href = (offset: number) => {
    const q = new URLSearchParams({ programme: p.programmeId });
    if (list.q) q.set('q', list.q);
    q.set('order', list.order);
    if (list.limit !== PARTICIPANTS_PER_PAGE) q.set('limit', String(list.limit));
    if (offset > 0) q.set('offset', String(offset));
    return `/mileage/${tenant.id}/participants?${q}`;
  };
  const n = (v: number) => v.toLocaleString('ja-JP');
  const shown = list.participants.length;
  const range =
    shown > 0
      ? `${n(list.total)} 件中 ${n(list.offset + 1)}–${n(list.offset + shown)} 件`
      : `${n(list.total)} 件${list.total ? ' (このページには該当がありません)' : ''}`;
  const prev = list.offset > 0 ? Math.max(0, Math.min(list.offset, list.total) - list.limit) : -1;
  const next = list.offset + list.limit < list.total ? list.offset + list.limit : -1;
  return html`<nav class="m-pager" aria-label="参加者の一覧のページ${id ? '' : ' (下)'}"><p${id ? html` id="${id}"` : ''}>${range}</p>
<ul><li>${prev >= 0 ? html`<a href="${href(prev)}" rel="prev">前へ</a>` : html`<span class="m-pager-off">前へ</span>`}</li>
<li>${next >= 0 ? html`<a href="${href(next)}" rel="next">次へ</a>` : html`<span class="m-pager-off">次へ</span>`}</li></ul></nav>`;
}

// ---------------------------------------------------------------- pages

export function registerMileagePages(shell: PageShell, deps: MileagePageDeps): void {
  shell.assets({ 'mileage.js': file('./browser/staff.ts'), 'mileage.css': file('./browser/staff.css') });
  shell.nav({ href: '/mileage', label: 'マイレージ' });

  shell.page('/mileage', async ({ principal, tenants }) => {
    const may = abilities(principal);
    const towns = tenants.filter((t) => t.kind === 'municipality');
    const lists = await Promise.all(towns.map((t) => deps.catalogue.list(principal, t.id).catch(() => [])));
    const rows = towns.map((t, i) => {
      const list = lists[i]!;
      const latest = [...list].sort((a, b) => b.fiscalYear - a.fiscalYear)[0];
      return html`<tr><th scope="row"><a href="/mileage/${t.id}">${t.name}</a></th><td>${list.length}</td><td>${latest ? html`${latest.name} (${period(latest)})` : '未登録'}</td></tr>`;
    });
    return page(
      'マイレージ',
      html`<h1>マイレージ</h1>
<p class="note">市町ごとの健康マイレージ事業 (期間・目標・活動)、会場の QR コード、参加者とポイントを管理します。目標に達した住民には「三重とこわか健康応援カード」が LINE で届きます。</p>
${seesEveryTenant(principal) ? html`<p><a href="/mileage/design">とこわか健康応援カードのデザイン</a>${may.design ? '' : ' (閲覧のみ)'}</p>` : ''}
<div class="scroll"><table class="m-table"><caption>市町のマイレージ事業</caption>
<thead><tr><th scope="col">市町</th><th scope="col">事業数</th><th scope="col">最新の事業</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="3">表示できる市町はありません</td></tr>`}</tbody></table></div>`,
    );
  });

  shell.page<{ tenantId: string }>('/mileage/:tenantId', async ({ req, principal, tenants }) => {
    const tenant = pageTenant(principal, tenants, req.params.tenantId);
    const may = abilities(principal);
    const list = [...(await deps.catalogue.list(principal, tenant.id))].sort((a, b) => b.fiscalYear - a.fiscalYear);
    const rows = list.map(
      (
        p,
      ) => html`<tr><td>${p.fiscalYear}年度</td><th scope="row"><a href="/mileage/${tenant.id}/settings?programme=${p.programmeId}">${p.name}</a></th>
<td>${period(p)}</td><td class="num">${pts(p.goalPoints)}</td><td class="num">${p.activities.filter((a) => !a.retired).length}</td></tr>`,
    );
    const form = may.manage
      ? html`<section class="card" aria-labelledby="new-programme-h"><h2 id="new-programme-h">新しい事業</h2>
<form id="programme-form" class="m-form" data-method="POST" data-url="${API}/tenants/${tenant.id}/programmes" data-next="/mileage/${tenant.id}/settings?programme={programmeId}" novalidate>
<div class="form-summary" role="alert" hidden></div>
${programmeFields('np')}
<p class="actions"><button type="submit">事業を登録</button></p>
<p class="status" role="status" aria-live="polite"></p></form></section>`
      : html`<p class="note">このアカウントには「マイレージ管理」の権限がないため、閲覧のみできます。</p>`;
    return page(
      `${tenant.name}のマイレージ`,
      html`<p class="breadcrumbs"><a href="/mileage">マイレージ</a> › ${tenant.name}</p>
<h1>${tenant.name}のマイレージ事業</h1>
<div class="scroll"><table class="m-table"><caption>事業の一覧 (新しい年度から)</caption>
<thead><tr><th scope="col">年度</th><th scope="col">名称</th><th scope="col">期間</th><th scope="col">目標</th><th scope="col">活動数</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5">まだ事業はありません</td></tr>`}</tbody></table></div>
${form}`,
    );
  });

  type ProgrammeQuery = {
    programme?: string;
    member?: string;
    q?: string;
    order?: string;
    offset?: string;
    limit?: string;
  };
  const programmePage = (
    name: 'settings' | 'sessions' | 'participants' | 'grants',
    title: string,
    render: (o: {
      tenant: Tenant;
      programme: Programme;
      principal: Principal;
      may: ReturnType<typeof abilities>;
      query: ProgrammeQuery;
    }) => Promise<SafeHtml>,
  ) =>
    shell.page<{ tenantId: string }, ProgrammeQuery>(
      `/mileage/:tenantId/${name}`,
      async ({ req, principal, tenants }) => {
        const tenant = pageTenant(principal, tenants, req.params.tenantId);
        const all = await deps.catalogue.list(principal, tenant.id);
        const programme = chooseProgramme(all, req.query.programme || undefined, tokyoToday());
        if (!programme) {
          return page(
            title,
            html`<p class="breadcrumbs"><a href="/mileage">マイレージ</a> › <a href="/mileage/${tenant.id}">${tenant.name}</a></p>
<h1>${title}</h1><p>${tenant.name}にはまだマイレージ事業がありません。<a href="/mileage/${tenant.id}">事業の一覧</a>から登録してください。</p>`,
          );
        }
        const may = abilities(principal);
        const body = await render({ tenant, programme, principal, may, query: req.query });
        return page(
          `${title} — ${programme.name}`,
          html`${programmeNav(tenant, programme, all, name)}<h1>${title} <small>${programme.name}</small></h1>${body}`,
        );
      },
    );

  programmePage('settings', '事業の設定', async ({ tenant, programme: p, may }) => {
    const url = `${API}/tenants/${tenant.id}/programmes/${p.programmeId}`;
    const activities = [...p.activities].sort((a, b) => a.sort - b.sort);
    const rows = activities.map(
      (
        a,
      ) => html`<tr${a.retired ? html` class="retired"` : ''}><th scope="row">${a.name}</th><td class="num">${pts(a.points)}</td><td>${METHOD_LABELS[a.method]}${a.selfReportLabel ? html`<br><small>ボタン: ${a.selfReportLabel}</small>` : ''}</td>
<td>${caps(a.dailyCap, a.periodCap)}</td><td>${a.retired ? '終了' : '受付中'}</td>
<td>${
        may.manage && !a.retired
          ? html`<button type="button" class="secondary" data-edit-activity="${JSON.stringify(a)}">変更</button> <button type="button" class="danger" data-action="${url}/activities/${a.activityId}/retire" data-confirm="活動「${a.name}」の受付を終了しますか。これまでに付与したポイントは残ります。">終了</button>`
          : ''
      }</td></tr>`,
    );
    const methodOptions = METHODS.map((m) => html`<option value="${m}">${METHOD_LABELS[m]}</option>`);
    return html`<section class="card" aria-labelledby="settings-h"><h2 id="settings-h">期間・目標・カード</h2>
${
  may.manage
    ? html`<form id="programme-edit" class="m-form" data-method="PUT" data-url="${url}" data-reload="1" novalidate>
<div class="form-summary" role="alert" hidden></div>
${programmeFields('ep', p)}
<p class="hint">変更しても、これまでに付与したポイントは変わりません。</p>
<p class="actions"><button type="submit">保存</button></p>
<p class="status" role="status" aria-live="polite"></p></form>`
    : html`<dl class="m-facts"><dt>期間</dt><dd>${period(p)}</dd><dt>目標</dt><dd>${pts(p.goalPoints)}</dd><dt>カードの有効期間</dt><dd>発行から${p.cardValidMonths}か月</dd></dl>`
}</section>
<section class="card" aria-labelledby="activities-h"><h2 id="activities-h">活動とポイント</h2>
<div class="scroll"><table class="m-table"><caption>ポイントがたまる活動</caption>
<thead><tr><th scope="col">活動</th><th scope="col">ポイント</th><th scope="col">獲得方法</th><th scope="col">上限</th><th scope="col">状態</th><th scope="col"><span class="visually-hidden">操作</span></th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">まだ活動はありません</td></tr>`}</tbody></table></div>
${
  may.manage
    ? html`<form id="activity-form" class="m-form" data-method="POST" data-url="${url}/activities" data-reload="1" data-base="${url}/activities" novalidate aria-labelledby="activity-form-h">
<h3 id="activity-form-h">活動を追加</h3>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
${field({ id: 'a-name', label: '活動名', required: true, hint: '例: 健康診断の受診、ウォーキング 30 分', control: (a) => html`<input ${a} name="name" data-field="name" maxlength="60" required>` })}
${field({ id: 'a-points', label: 'ポイント', required: true, control: (a) => html`<input ${a} type="number" name="points" data-field="points" data-type="number" min="1" max="10000" value="10" required>` })}
${field({ id: 'a-method', label: '獲得方法', required: true, control: (a) => html`<select ${a} name="method" data-field="method">${methodOptions}</select>` })}
${field({ id: 'a-selfReportLabel', label: '自己申告のボタン名', hint: '自己申告のときに必須 (20 文字まで、例: 今日30分歩いた)', control: (a) => html`<input ${a} name="selfReportLabel" data-field="selfReportLabel" maxlength="20">` })}
${field({ id: 'a-dailyCap', label: '1 日の上限回数', hint: '0 は上限なし', control: (a) => html`<input ${a} type="number" name="dailyCap" data-field="dailyCap" data-type="number" min="0" max="1000" value="0">` })}
${field({ id: 'a-periodCap', label: '期間中の上限回数', hint: '0 は上限なし', control: (a) => html`<input ${a} type="number" name="periodCap" data-field="periodCap" data-type="number" min="0" max="1000" value="0">` })}
${field({ id: 'a-sort', label: '表示順', control: (a) => html`<input ${a} type="number" name="sort" data-field="sort" data-type="number" min="-1000" max="1000" value="${activities.length * 10}">` })}
</div>
<p class="actions"><button type="submit" id="activity-submit">活動を追加</button> <button type="button" class="secondary" id="activity-cancel" hidden>変更をやめる</button></p>
<p class="status" role="status" aria-live="polite"></p></form>`
    : ''
}</section>
<section class="card" aria-labelledby="flyer-h"><h2 id="flyer-h">広報用チラシ</h2>
<p>友だち追加の QR コードとアカウント ID、活動とポイント、目標、期間を載せた${tenant.name}のチラシです。印刷用 (A4 PDF) と、ホームページ・広報誌用の画像 (PNG) があります。</p>
${
  tenant.hasCredentials
    ? html`<p class="m-downloads"><a href="${url}/flyer.pdf" download>チラシ (PDF, A4)</a> <a href="${url}/flyer.png" download>チラシ (PNG 画像)</a></p>`
    : html`<p class="note">チャネル情報 (アクセストークン) が未設定のため、友だち追加の QR コードと ID を LINE から取得できません。チャネルを登録するとチラシを作れます。</p>`
}</section>`;
  });

  programmePage('sessions', '会場の QR コード', async ({ tenant, programme: p, principal, may }) => {
    const sessions = (await deps.catalogue.sessions(principal, tenant.id, p.programmeId)).sort((a, b) =>
      b.heldOn.localeCompare(a.heldOn),
    );
    const activityName = new Map(p.activities.map((a) => [a.activityId, a]));
    const base = `${API}/tenants/${tenant.id}/sessions`;
    const rows = sessions.map((s) => {
      const a = activityName.get(s.activityId);
      return html`<tr><th scope="row">${s.title}</th><td>${formatWareki(s.heldOn, { weekday: true })}</td><td>${s.place || '—'}</td>
<td>${a ? html`${a.name} (${pts(a.points)})` : '—'}</td><td>${validityText(Date.parse(s.validFrom), Date.parse(s.validUntil))}</td>
<td class="m-downloads">${
        tenant.liffId
          ? html`<a href="${base}/${s.sessionId}/qr.png" download aria-label="${s.title}の QR コード (PNG)">QR コード</a> <a href="${base}/${s.sessionId}/poster.pdf" download aria-label="${s.title}のポスター (PDF)">ポスター</a>`
          : 'LIFF 未設定'
      }
${may.manage ? html`<button type="button" class="danger" data-action="${base}/${s.sessionId}" data-method="DELETE" data-confirm="「${s.title}」の QR コードを使えなくしますか。これまでに付与したポイントは残ります。" aria-label="${s.title}の QR コードを使えなくする">使えなくする</button>` : ''}</td></tr>`;
    });
    const qrActivities = p.activities.filter((a) => a.method === 'qr' && !a.retired);
    // a day's event by default: today, 9:00 to 17:00 (Tokyo)
    const today = tokyoToday();
    const form = !may.manage
      ? ''
      : qrActivities.length === 0
        ? html`<p class="note">「QR コード読み取り」の活動がまだありません。先に<a href="/mileage/${tenant.id}/settings?programme=${p.programmeId}">事業の設定</a>で追加してください。</p>`
        : html`<section class="card" aria-labelledby="new-session-h"><h2 id="new-session-h">会場を追加</h2>
<form id="session-form" class="m-form" data-method="POST" data-url="${base}" data-reload="1" novalidate>
<div class="form-summary" role="alert" hidden></div>
<input type="hidden" name="programmeId" value="${p.programmeId}">
<div class="form-grid">
${field({ id: 's-title', label: '名称', required: true, wide: true, hint: '例: 健康ウォーキング大会', control: (a) => html`<input ${a} name="title" data-field="title" maxlength="100" required>` })}
${field({ id: 's-activityId', label: '活動', required: true, control: (a) => html`<select ${a} name="activityId" data-field="activityId">${qrActivities.map((x) => html`<option value="${x.activityId}">${x.name} (${pts(x.points)})</option>`)}</select>` })}
${field({ id: 's-heldOn', label: '開催日', required: true, control: (a) => html`<input ${a} type="date" name="heldOn" data-field="heldOn" value="${today}" required>` })}
${field({ id: 's-place', label: '場所', control: (a) => html`<input ${a} name="place" data-field="place" maxlength="100">` })}
${field({ id: 's-validFrom', label: '受付開始', required: true, hint: '日本時間', control: (a) => html`<input ${a} type="datetime-local" name="validFrom" data-field="validFrom" data-type="tokyo" value="${today}T09:00" required>` })}
${field({ id: 's-validUntil', label: '受付終了', required: true, hint: '日本時間。この時刻を過ぎると QR コードは使えません', control: (a) => html`<input ${a} type="datetime-local" name="validUntil" data-field="validUntil" data-type="tokyo" value="${today}T17:00" required>` })}
</div>
<p class="actions"><button type="submit">会場を追加</button></p>
<p class="status" role="status" aria-live="polite"></p></form></section>`;
    const noLiff = tenant.liffId
      ? ''
      : html`<p class="error" role="note">${tenant.name}には LIFF アプリが設定されていないため、QR コードとポスターを作れません。チャネル設定で LIFF ID を登録してください。</p>`;
    return html`${noLiff}<p class="note">イベントや会場ごとに QR コードを作ります。住民が LINE のカメラで読み取ると、1 人 1 回ポイントがたまります。受付期間を過ぎた QR コードや、ほかの市町の QR コードでは付与されません。</p>
${form}
<div class="scroll"><table class="m-table" id="sessions-table"><caption>会場の一覧 (新しい開催日から)</caption>
<thead><tr><th scope="col">名称</th><th scope="col">開催日</th><th scope="col">場所</th><th scope="col">活動</th><th scope="col">受付期間</th><th scope="col">ダウンロード・操作</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">まだ会場はありません</td></tr>`}</tbody></table></div>`;
  });

  programmePage('participants', '参加者', async ({ tenant, programme: p, may, query }) => {
    const url = `${API}/tenants/${tenant.id}/programmes/${p.programmeId}`;
    const asked = participantsQuerySchema.safeParse({
      q: query.q,
      order: query.order || undefined,
      offset: query.offset || undefined,
      limit: query.limit || undefined,
    });
    if (!asked.success) throw new AppError('invalid_query', asked.error.issues[0]!.message, 400);
    const list = await deps.ledger.participants(tenant.id, p, asked.data);
    const rows = list.participants.map(
      (
        x,
      ) => html`<tr><th scope="row"><a href="?programme=${p.programmeId}&amp;member=${encodeURIComponent(x.memberNo)}">${x.memberNo}</a></th><td class="num">${pts(x.balance)}</td>
<td class="num">${x.entries}</td><td>${tokyoMinute(Date.parse(x.lastAt))}</td>
<td>${x.card ? html`${x.card.cardNo} (${x.card.expired ? '有効期限切れ' : `${formatWareki(x.card.validUntil)}まで`})` : 'なし'}</td></tr>`,
    );
    const orders = Object.entries(PARTICIPANT_ORDERS).map(
      ([k, label]) => html`<option value="${k}"${k === list.order ? html` selected` : ''}>${label}</option>`,
    );
    return html`<section class="card" aria-labelledby="lookup-h"><h2 id="lookup-h">会員番号で探す</h2>
<form id="member-lookup" class="m-lookup" role="search" data-url="${url}/members" data-corrections="${may.grant ? `${url}/corrections` : ''}" novalidate>
<label for="lookup-no">会員番号 (カード番号)</label> <input id="lookup-no" name="memberNo" value="${query.member ?? ''}" autocomplete="off" inputmode="numeric" aria-describedby="lookup-hint">
<button type="submit">表示</button>
<p class="hint" id="lookup-hint">例: 24201-000123-7。ハイフンは省略できます。表示した記録は監査記録に残ります。</p>
</form>
<div id="member-ledger" aria-live="polite"></div></section>
<section class="card" aria-labelledby="participants-h"><h2 id="participants-h">参加者の一覧</h2>
<p>参加者 ${list.summary.participants.toLocaleString('ja-JP')} 人、目標 (${pts(p.goalPoints)}) に到達 ${list.summary.reachedGoal.toLocaleString('ja-JP')} 人。
<a href="${url}/participants.csv" download>すべての参加者を CSV でダウンロード</a> (出力は監査記録に残ります)</p>
<form class="filters m-lookup" method="get" action="/mileage/${tenant.id}/participants" role="search" aria-label="参加者の絞り込み">
<input type="hidden" name="programme" value="${p.programmeId}">
<label for="participants-q">会員番号 (カード番号) の一部</label> <input id="participants-q" name="q" value="${list.q}" maxlength="40" autocomplete="off" inputmode="numeric">
<label for="participants-order">並び順</label> <select id="participants-order" name="order">${orders}</select>
<button type="submit" class="secondary">絞り込む</button>${list.q ? html` <a href="?programme=${p.programmeId}&amp;order=${list.order}">絞り込みを解除</a>` : ''}
</form>
${participantsPager(tenant, p, list, 'participants-range')}
<div class="scroll"><table class="m-table" aria-describedby="participants-range"><caption>${PARTICIPANT_ORDERS[list.order]}${list.q ? `、会員番号に「${list.q}」を含む参加者` : ''}</caption>
<thead><tr><th scope="col">会員番号</th><th scope="col">ポイント</th><th scope="col">記録数</th><th scope="col">最後の記録</th><th scope="col">カード</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5">${list.q ? '該当する参加者はいません' : list.total ? 'このページには参加者がいません' : 'まだ参加者はいません'}</td></tr>`}</tbody></table></div>
${participantsPager(tenant, p, list)}</section>`;
  });

  programmePage('grants', 'ポイント付与', async ({ tenant, programme: p, may }) => {
    const url = `${API}/tenants/${tenant.id}/programmes/${p.programmeId}`;
    if (!may.grant) {
      return html`<p class="note">ポイントの付与と取り込みは、「マイレージ管理」の権限がある市町・受託者のアカウントで行います。</p>`;
    }
    const activities = p.activities.filter((a) => !a.retired);
    return html`<section class="card" aria-labelledby="grant-h"><h2 id="grant-h">1 件ずつ付与</h2>
<p class="note">健診の受診など、市町が確認した活動のポイントを会員番号で付与します。付与は理由とともに記録され、取り消すときは参加者のページから訂正します。</p>
<form id="grant-form" class="m-form" data-method="POST" data-url="${url}/grants" data-result="grant" novalidate>
<div class="form-summary" role="alert" hidden></div>
<input type="hidden" name="key" data-key="1" value="">
<div class="form-grid">
${field({ id: 'g-memberNo', label: '会員番号', required: true, hint: '住民のカードやマイレージ画面に表示されている番号', control: (a) => html`<input ${a} name="memberNo" data-field="memberNo" maxlength="40" autocomplete="off" required>` })}
${field({ id: 'g-activityId', label: '活動', required: true, control: (a) => html`<select ${a} name="activityId" data-field="activityId">${activities.map((x) => html`<option value="${x.activityId}">${x.name} (${pts(x.points)})</option>`)}</select>` })}
${field({ id: 'g-activityOn', label: '活動日', hint: '空欄は今日', control: (a) => html`<input ${a} type="date" name="activityOn" data-field="activityOn">` })}
${field({ id: 'g-reason', label: '理由', required: true, wide: true, hint: '例: 令和8年度 特定健診の受診を確認', control: (a) => html`<input ${a} name="reason" data-field="reason" maxlength="200" required>` })}
</div>
<p class="actions"><button type="submit">付与する</button></p>
<p class="status" role="status" aria-live="polite"></p></form></section>
<section class="card" aria-labelledby="import-h"><h2 id="import-h">ファイルから取り込む (CSV・Excel)</h2>
<p>1 行目に見出し「会員番号」「活動」「活動日」「理由」を置いたファイル (CSV は UTF-8 か Shift_JIS、または xlsx) を選ぶと、取り込む前に内容を確認できます。「活動」は活動名で書きます。</p>
<form id="import-form" data-url="${url}/imports" novalidate>
<div class="form-summary" role="alert" hidden></div>
<div class="form-grid">
${field({ id: 'i-file', label: 'ファイル', required: true, hint: 'CSV または xlsx、3 MB まで', control: (a) => html`<input ${a} type="file" name="file" data-field="data" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required>` })}
${field({ id: 'i-reason', label: '理由 (行に理由がないとき)', wide: true, control: (a) => html`<input ${a} name="reason" data-field="reason" maxlength="200">` })}
</div>
<p class="actions"><button type="submit">内容を確認</button></p>
<p class="status" role="status" aria-live="polite"></p></form>
<div id="import-preview" aria-live="polite"></div></section>`;
  });

  shell.page('/mileage/design', async ({ principal }) => {
    if (!seesEveryTenant(principal)) {
      throw new AppError('forbidden', 'カードのデザインは県と受託者のアカウントで表示できます', 403);
    }
    const may = abilities(principal);
    const designs = (await deps.cards.designs()).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const current = designs
      .filter((d) => d.status === 'published')
      .sort((a, b) => (b.publishedAt ?? '').localeCompare(a.publishedAt ?? ''))[0];
    const items = designs.map(
      (
        d,
      ) => html`<li class="m-design${d === current ? ' current' : ''}"><h3>${d.name} <small>${d === current ? '使用中' : d.status === 'published' ? '公開済み (過去)' : '下書き'}</small></h3>
<img class="m-card-preview" src="${API}/designs/${d.designId}/card.png" alt="${d.name}のカードの見本: ${d.title}、${d.note}" width="360" height="227" loading="lazy">
<p>表題: ${d.title} / 色: <span class="m-swatch-text">${d.colour}</span>${d.hasImage ? ' / 画像あり' : ''}</p>
<p class="actions">${
        may.design && d.status === 'draft'
          ? html`<button type="button" class="secondary" data-edit-design="${JSON.stringify({ ...d })}">編集</button> <button type="button" data-action="${API}/designs/${d.designId}/publish" data-confirm="デザイン「${d.name}」を公開して、これから使用するカードのデザインにしますか。">公開して使用する</button>`
          : ''
      } <a href="${API}/designs/${d.designId}/card.svg" download>SVG</a></p></li>`,
    );
    const form = may.design
      ? html`<section class="card" aria-labelledby="design-form-h"><h2 id="design-form-h">新しいデザイン (下書き)</h2>
<form id="design-form" data-url="${API}/designs" novalidate>
<div class="form-summary" role="alert" hidden></div>
<input type="hidden" name="designId" value="">
<div class="form-grid">
${field({ id: 'd-name', label: 'デザイン名 (管理用)', required: true, control: (a) => html`<input ${a} name="name" data-field="name" maxlength="60" required>` })}
${field({ id: 'd-title', label: 'カードの表題', required: true, control: (a) => html`<input ${a} name="title" data-field="title" maxlength="40" value="三重とこわか健康応援カード" required>` })}
${field({ id: 'd-note', label: '注記', wide: true, hint: '例: 協力店で提示すると特典が受けられます', control: (a) => html`<input ${a} name="note" data-field="note" maxlength="200">` })}
${field({ id: 'd-colour', label: 'カードの色', required: true, hint: '文字の色は読みやすい方 (黒か白) を自動で選びます', control: (a) => html`<input ${a} type="color" name="colour" data-field="colour" value="#1d6fa5">` })}
${field({ id: 'd-image', label: 'イラスト (PNG・JPEG、1 MB まで)', hint: '横長 (横:縦 が 1.3〜2.0)、横 600 × 縦 300 ピクセル以上。下書きを保存すると見本に表示されます', control: (a) => html`<input ${a} type="file" name="image" data-field="image" accept="image/png,image/jpeg">` })}
</div>
<p class="actions"><button type="submit" id="design-submit">下書きを保存</button> <button type="button" class="secondary" id="design-cancel" hidden>編集をやめる</button></p>
<p class="status" role="status" aria-live="polite"></p></form></section>`
      : html`<p class="note">デザインの編集と公開は、「マイレージ管理」の権限がある県のアカウントで行います。</p>`;
    return page(
      'とこわか健康応援カードのデザイン',
      html`<p class="breadcrumbs"><a href="/mileage">マイレージ</a> › カードのデザイン</p>
<h1>とこわか健康応援カードのデザイン</h1>
<p class="note">すべての市町で同じデザインを使います。見本はスマートフォンでの表示の大きさ (幅 360 ピクセル) です。公開すると、それ以降に発行するカードと住民のカード画面がこのデザインになります。</p>
${form}
<section aria-labelledby="designs-h"><h2 id="designs-h">デザインの一覧</h2>
${items.length ? html`<ul class="m-designs">${items}</ul>` : html`<p>まだデザインはありません (既定の表示: 表題「三重とこわか健康応援カード」、青)。</p>`}</section>`,
    );
  });
}
