import { ROLE_LABELS, type Principal } from '../core/auth.ts';
import { html, jsonBlock, type HtmlValue, type SafeHtml } from '../core/html.ts';
import type { NavEntry, Notice } from '../core/page-shell.ts';
import { VOCABULARY } from '../core/vocabulary.ts';
import type { Tenant } from '../core/tenants.ts';
import { addMonths, tokyoMonth as currentMonth } from '../core/time.ts';
import {
  attributeChartOptions,
  DASH,
  deliveryRatesOptions,
  FIGURES,
  followsVsBlocksOptions,
  formatChange,
  formatCount,
  formatPercent,
  friendsChartOptions,
  MISSING_REASONS,
  mileageActivityOptions,
  mileageGrowthOptions,
  sparklineOptions,
  type AttributeBreakdown,
  type Figure,
  type FigureName,
  type MissingReason,
  type MileageOverview,
  type MunicipalityView,
  type Overview,
  type OverviewRow,
} from '../metrics/index.ts';
import { mileageMunicipalitySection, mileageOverviewSection } from './mileage-section.ts';

/** Navigation entries capabilities add through the page shell (by href: a second suite in one process adds the same). */
const noticeSources: Array<(p: Principal) => Notice[]> = [];
export function addNoticeSource(source: (p: Principal) => Notice[]): void {
  noticeSources.push(source);
}

/** The notices for this caller on this page: every page's, and the overview's on 県全体. */
function noticesHtml(p: Principal, overview: boolean): SafeHtml | '' {
  const list = noticeSources
    .flatMap((source) => {
      try {
        return source(p);
      } catch {
        return [];
      }
    })
    .filter((n) => n.where === 'every' || overview);
  if (!list.length) return '';
  return html`<section class="notices" aria-label="お知らせ">${list.map(
    (n) =>
      html`<p class="notice notice-${n.level}">${n.level === 'warning' ? html`<strong>お知らせ:</strong> ` : ''}${n.text}${
        n.href ? html` <a href="${n.href}">詳しく見る</a>` : ''
      }</p>`,
  )}</section>`;
}

const navEntries = new Map<string, NavEntry>();
export function addNav(entry: NavEntry): void {
  navEntries.set(entry.href, entry);
}

/**
 * The page frame. `scripts: false` loads no script; a list loads dashboard.js and those files from
 * /assets/ (no apexcharts); the default loads apexcharts, dashboard.js and charts.js. `styles`
 * are extra stylesheets from /assets/ (dashboard.css always). No inline style or script: the
 * Content-Security-Policy allows only files from this site.
 */
export function layout(opts: {
  title: string;
  principal?: Principal;
  body: SafeHtml;
  tenants?: Tenant[];
  scripts?: boolean | string[];
  styles?: string[];
  /** The 県全体 page: it also shows the overview's notices (availability). */
  overview?: boolean;
}): SafeHtml {
  const p = opts.principal;
  const who = p?.kind === 'staff' ? `${p.displayName} (${ROLE_LABELS[p.role]})` : p ? '運用トークン' : '';
  const csrf = p?.kind === 'staff' && p.via === 'session' ? p.csrfToken : '';
  const seesAll = p && (p.kind === 'operator' || p.role !== 'municipality');
  const municipalities = (opts.tenants ?? []).filter((t) => t.kind === 'municipality');
  const nav = p
    ? html`<nav>${seesAll ? html`<a href="/overview">県全体</a>` : ''}
${
  municipalities.length === 1
    ? municipalities.map((t) => html`<a href="/municipalities/${t.id}">${t.name}</a>`)
    : municipalities.length
      ? html`<label>市町: <select id="tenant-nav" aria-label="市町を選ぶ"><option value="">選んでください</option>${municipalities.map(
          (t) => html`<option value="${t.id}">${t.name}</option>`,
        )}</select></label>`
      : ''
}
${[...navEntries.values()].filter((e) => !e.visible || e.visible(p)).map((e) => html`<a href="${e.href}">${e.label}</a>`)}
${p.kind === 'operator' || p.role === 'admin' ? html`<a href="/admin/users">ユーザー管理</a>` : ''}</nav>
<span>${who}</span>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" id="sign-out">サインアウト</button></form>`
    : '';
  const script = (f: string) => html`<script src="/assets/${f}"></script>`;
  const charts = opts.scripts === undefined || opts.scripts === true;
  const scripts =
    opts.scripts === false
      ? ''
      : Array.isArray(opts.scripts)
        ? ['dashboard.js', ...opts.scripts].map(script)
        : ['apexcharts.js', 'dashboard.js', 'charts.js'].map(script);
  const styles = [
    'dashboard.css',
    ...(charts ? ['apexcharts.css', 'apexcharts-legend.css'] : []),
    ...(opts.styles ?? []),
  ];
  return html`<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>${opts.title} — Tayori</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${csrf ? html`<meta name="csrf-token" content="${csrf}">` : ''}
${styles.map((f) => html`<link rel="stylesheet" href="/assets/${f}">`)}</head><body>
<header><a class="brand" href="/">Tayori 便り</a>${nav}</header>
<main>${p ? noticesHtml(p, opts.overview === true) : ''}${opts.body}</main>
${opts.scripts === false ? '' : jsonBlock('vocabulary', VOCABULARY)}
${scripts}
</body></html>`;
}

export function loginPage(opts: { next: string; error?: string; username?: string; signedOut?: boolean }): SafeHtml {
  return layout({
    title: 'サインイン',
    scripts: false,
    body: html`<div class="login"><h1>サインイン</h1>
<p class="note">三重県 健康マイレージ LINE 公式アカウント 運用ダッシュボード (県・受託者・市町の担当者用)</p>
${opts.signedOut ? html`<p class="note" role="status">サインアウトしました。</p>` : ''}
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="next" value="${opts.next}">
<label for="username">ユーザー名</label><input id="username" name="username" autocomplete="username" required value="${opts.username ?? ''}">
<label for="password">パスワード</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">サインイン</button></form></div>`,
  });
}

export function errorPage(opts: {
  status: number;
  message: string;
  principal?: Principal;
  tenants?: Tenant[];
}): SafeHtml {
  const title = opts.status === 403 ? '閲覧できません' : opts.status === 404 ? '見つかりません' : 'エラー';
  return layout({
    title,
    principal: opts.principal,
    tenants: opts.tenants,
    scripts: false,
    body: html`<h1>${title}</h1><p class="error" role="alert">${opts.message}</p><p><a href="/">最初のページへ戻る</a></p>`,
  });
}

/** A figure cell: the formatted value, or "—" with the reason (and a footnote mark). */
function cell(
  field: FigureName | 'population',
  v: Figure,
  text: HtmlValue,
  reason: MissingReason | undefined,
  marks: Map<MissingReason, number>,
): SafeHtml {
  if (v === null) {
    const r = reason ?? 'not_fetched';
    if (!marks.has(r)) marks.set(r, marks.size + 1);
    return html`<td class="num missing" data-field="${field}" data-v=""><abbr title="${MISSING_REASONS[r]}">${DASH}<sup>※${marks.get(r)}</sup></abbr></td>`;
  }
  return html`<td class="num" data-field="${field}" data-v="${v}">${text}</td>`;
}

type OverviewKey = Exclude<FigureName, 'clickRate'>;
const COLUMNS: Array<{ key: OverviewKey; fmt: (v: Figure) => string }> = [
  { key: 'friends', fmt: formatCount },
  { key: 'friendsChange', fmt: formatChange },
  { key: 'friendsPerPopulation', fmt: (v) => formatPercent(v, 2) },
  { key: 'blocks', fmt: formatCount },
  { key: 'blockRate', fmt: (v) => formatPercent(v, 1) },
  { key: 'follows', fmt: formatCount },
  { key: 'unfollows', fmt: formatCount },
  { key: 'deliveries', fmt: formatCount },
  { key: 'openRate', fmt: (v) => formatPercent(v, 1) },
  { key: 'clicks', fmt: formatCount },
];

function definitions(keys: FigureName[], marks: Map<MissingReason, number>): SafeHtml {
  const notes = [...marks.entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([r, n]) => html`<dt>※${n} ${DASH}</dt><dd>${MISSING_REASONS[r]} (0 ではありません)</dd>`);
  return html`<h2>指標の定義</h2><dl class="defs" id="definitions">${keys.map((k) => html`<dt>${FIGURES[k].label}</dt><dd>${FIGURES[k].definition}</dd>`)}${notes}</dl>`;
}

/** The mileage charts of a section (growth by month, points by activity), as chart-data entries. */
function mileageCharts(m: MileageOverview, scope: Pick<MileageOverview['totals'], 'series' | 'activities'>) {
  return {
    mileageGrowth: mileageGrowthOptions(scope.series),
    mileageActivities: mileageActivityOptions(scope.activities, {
      title: `活動別の獲得ポイント (${m.fiscalYearLabel}、pt)`,
    }),
  };
}

export function overviewPage(
  o: Overview,
  ctx: { principal: Principal; tenants: Tenant[] },
  mileage?: MileageOverview,
): SafeHtml {
  const marks = new Map<MissingReason, number>();
  const months = Array.from({ length: 24 }, (_, i) => addMonths(currentMonth(), -i));
  if (!months.includes(o.month)) months.unshift(o.month);
  const rowHtml = (r: OverviewRow, note: SafeHtml | '' = '') =>
    html`<tr data-tenant="${r.tenantId}"><td data-v="${r.tenantId}"><a href="/municipalities/${r.tenantId}">${r.name}</a>${note}</td>
${cell('population', r.population, formatCount(r.population), 'no_population', marks)}
${COLUMNS.map((c) => cell(c.key, r[c.key] as Figure, c.fmt(r[c.key] as Figure), r.missing[c.key], marks))}
<td><div class="spark" data-spark="${JSON.stringify(sparklineOptions(r.sparkline.values, r.sparkline.months))}"></div></td></tr>`;
  const t = o.totals;
  const totalRow = html`<tr data-tenant="total"><td>県全体 (${t.municipalities} 市町)</td>
${cell('population', t.population, formatCount(t.population), 'no_population', marks)}
${COLUMNS.map((c) => cell(c.key, t[c.key] as Figure, [c.fmt(t[c.key] as Figure), t.partial.includes(c.key) ? html`<sup title="一部の市町の値が不明なため、分かる値だけの合計です">*</sup>` : ''], t.missing[c.key], marks))}<td></td></tr>`;
  const body = html`<h1>県全体の状況 <small>${o.monthLabel} (${o.from}〜${o.to})</small></h1>
<div class="toolbar">
<form method="get" action="/overview"><label>月: <select name="month" id="month" data-submit-on-change>${months.map(
    (m) => html`<option value="${m}"${m === o.month ? html` selected` : ''}>${m.replace('-', '年')}月</option>`,
  )}</select></label>
<noscript><button type="submit">表示</button></noscript></form>
<a class="button" id="download-csv" href="/api/v1/dashboard/overview.csv?month=${o.month}">CSV をダウンロード</a>
<a class="button" id="download-xlsx" href="/api/v1/dashboard/overview.xlsx?month=${o.month}">Excel をダウンロード</a>
<a class="button" id="download-deliveries" href="/api/v1/deliveries.csv">全団体の配信一覧 (CSV)</a>
</div>
${o.sources.insightFollowers ? '' : html`<p class="note" role="note">この月の LINE の統計 (友だち数・ブロック数) はまだ取得されていません。友だち追加・新規ブロックは LINE からの通知 (Webhook) で数えた値です。</p>`}
<div class="scroll"><table id="overview" aria-label="市町別の状況">
<thead><tr><th data-sort="text" scope="col">市町</th><th data-sort="num" scope="col">人口</th>${COLUMNS.map(
    (c) => html`<th data-sort="num" scope="col" title="${FIGURES[c.key].definition}">${FIGURES[c.key].label}</th>`,
  )}<th scope="col">直近12か月の純増</th></tr></thead>
<tbody>${o.rows.map((r) => rowHtml(r))}</tbody>
<tfoot>${totalRow}${o.accounts.map((r) => rowHtml(r, html` <small class="account-note">(県のアカウント・合計に含みません)</small>`))}</tfoot></table></div>
<p class="note">列見出しを押すと並べ替えます。「直近12か月の純増」は月ごとの 友だち追加 + ブロック解除 − 新規ブロック (LINE からの通知で集計) です。</p>
${mileage ? mileageOverviewSection(mileage, marks) : ''}
${definitions([...COLUMNS.map((c) => c.key), 'unblocks'], marks)}
${mileage ? jsonBlock('chart-data', mileageCharts(mileage, mileage.totals)) : ''}`;
  return layout({ title: '県全体', principal: ctx.principal, tenants: ctx.tenants, body, overview: true });
}

const tokyoTime = (iso: string) =>
  new Intl.DateTimeFormat('ja-JP', {
    timeZone: 'Asia/Tokyo',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(iso));

export function municipalityPage(
  v: MunicipalityView,
  attributes: AttributeBreakdown,
  ctx: { principal: Principal; tenants: Tenant[] },
  mileage?: MileageOverview,
): SafeHtml {
  const marks = new Map<MissingReason, number>();
  const s = v.summary;
  const stat = (label: string, value: Figure, text: string, reason?: MissingReason) => {
    if (value === null) {
      const r = reason ?? 'not_fetched';
      return html`<div class="stat"><div class="l">${label}</div><div class="v"><abbr title="${MISSING_REASONS[r]}">${DASH}</abbr></div><div class="note">${MISSING_REASONS[r]}</div></div>`;
    }
    return html`<div class="stat"><div class="l">${label}</div><div class="v">${text}</div></div>`;
  };
  const charts: Record<string, unknown> = {
    friends: friendsChartOptions(v.days),
    followsBlocks: followsVsBlocksOptions(v.days),
    deliveries: deliveryRatesOptions(v.deliveries),
    ...(mileage?.rows[0]?.programme ? mileageCharts(mileage, mileage.rows[0]) : {}),
  };
  const hasInsight = v.days.some((d) => d.insight);
  const attrs = new Map<string, { label: string; values: Array<{ value: string; residents: number }> }>();
  for (const a of attributes.items) {
    const entry = attrs.get(a.item) ?? { label: a.itemLabel, values: [] };
    entry.values.push({ value: a.label, residents: a.residents });
    attrs.set(a.item, entry);
  }
  [...attrs.entries()].forEach(
    ([item, e]) =>
      (charts[`attr-${item}`] = attributeChartOptions(e.label, e.values, {
        height: Math.max(160, 60 + 28 * e.values.length),
      })),
  );
  const deliveryRows = v.deliveries
    .slice()
    .reverse()
    .map(
      (d) =>
        html`<tr><td>${d.sentAt.slice(0, 16).replace('T', ' ')}</td><td>${d.title}</td>
${cell('delivered', d.delivered, formatCount(d.delivered), d.missing.delivered, marks)}
${cell('uniqueImpressions', d.uniqueImpressions, formatCount(d.uniqueImpressions), d.missing.uniqueImpressions, marks)}
${cell('openRate', d.openRate, formatPercent(d.openRate), d.missing.openRate, marks)}
${cell('clicks', d.clicks, formatCount(d.clicks), d.missing.clicks, marks)}
${cell('clickRate', d.clickRate, formatPercent(d.clickRate), d.missing.clickRate, marks)}</tr>`,
    );
  const body = html`<h1>${v.tenant.name} <small>${v.from}〜${v.to}</small></h1>
<div class="grid">
${stat(`友だち数${s.friendsAsOf ? ` (${s.friendsAsOf})` : ''}`, s.friends, formatCount(s.friends), s.missing.friends)}
${stat('友だち追加 (期間)', s.follows, formatCount(s.follows))}
${stat('新規ブロック (期間)', s.unfollows, formatCount(s.unfollows))}
${stat('配信数 (期間)', s.deliveries, formatCount(s.deliveries))}
${stat('開封率 (期間)', s.openRate, formatPercent(s.openRate), s.missing.openRate)}
</div>
<div class="card"><div id="chart-friends" class="chart" data-chart="friends" role="figure" aria-label="友だち数の推移"></div>
${hasInsight ? '' : html`<p class="note">${MISSING_REASONS.not_fetched}。LINE の統計は取得後に表示されます。</p>`}</div>
<div class="card"><div id="chart-followsBlocks" class="chart" data-chart="followsBlocks" role="figure" aria-label="友だち追加とブロック"></div></div>
<h2>配信の進み具合 <small><a href="/municipalities/${v.tenant.id}/deliveries">配信する・一覧</a></small></h2>
<div id="live-deliveries" class="card" data-tenant="${v.tenant.id}" aria-live="polite">読み込み中…</div>
<h2>配信ごとの開封率・クリック</h2>
${
  v.deliveries.length
    ? html`<div class="card"><div id="chart-deliveries" class="chart" data-chart="deliveries" role="figure" aria-label="配信ごとの開封率"></div></div>
<div class="scroll"><table id="deliveries"><thead><tr><th>送信日時</th><th>配信</th><th>${FIGURES.delivered.label}</th><th>${FIGURES.uniqueImpressions.label}</th><th>${FIGURES.openRate.label}</th><th>${FIGURES.clicks.label}</th><th>${FIGURES.clickRate.label}</th></tr></thead><tbody>${deliveryRows}</tbody></table></div>`
    : html`<p class="note" id="no-deliveries">${MISSING_REASONS.no_deliveries} (統計を追跡している配信が見つかりません)。</p>`
}
<h2>登録属性別の友だち</h2>
${
  !attributes.available
    ? html`<p class="note">${MISSING_REASONS.no_source} (住民の属性登録)。</p>`
    : attrs.size === 0
      ? html`<p class="note">属性を登録した友だちはまだいません。</p>`
      : html`<p class="note">${tokyoTime(attributes.computedAt)} 時点の集計。友だち (ブロック中を除く) のうち属性を登録した人数です。</p><div class="grid charts">${[...attrs.keys()].map((k) => html`<div class="card"><div class="chart" data-chart="attr-${k}"></div></div>`)}</div>`
}
${mileage ? mileageMunicipalitySection(mileage) : ''}
${definitions(['friends', 'targetedReaches', 'blocks', 'follows', 'unblocks', 'unfollows', 'delivered', 'uniqueImpressions', 'openRate', 'clicks', 'clickRate'], marks)}
${jsonBlock('chart-data', charts)}`;
  return layout({
    title: v.tenant.name,
    principal: ctx.principal,
    tenants: ctx.tenants,
    body,
    // the charts (as the default loads them) and delivery's live list of this tenant's deliveries
    scripts: ['apexcharts.js', 'charts.js', 'live-deliveries.js'],
    styles: ['apexcharts.css', 'apexcharts-legend.css', 'line-preview.css'],
  });
}
