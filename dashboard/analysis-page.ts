/**
 * 分析: the findings of a period for a municipality (/municipalities/:id/analysis) and prefecture-wide
 * (/analysis): the timing heatmap, blocks after delivery and the peer comparison, each finding with
 * its sample and the deliveries behind it (linked to delivery's pages), and what was left out and why.
 */
import { fileURLToPath } from 'node:url';
import { canSeeEvery } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import { html, jsonBlock, type SafeHtml } from '../core/html.ts';
import type { PageShell } from '../core/page-shell.ts';
import { tenantIdSchema } from '../core/tenants.ts';
import { addMonths, formatWarekiMonth, monthBounds, monthSchema, tokyoMonth } from '../core/time.ts';
import {
  FINDINGS_MIN,
  TOPICS,
  findingsCharts,
  type Finding,
  type FindingsResult,
  type Topic,
} from '../metrics/index.ts';
import type { DashboardData } from './data.ts';

type Query = { from?: string; to?: string };

/** The months asked for (default: the twelve months up to this one). */
export function analysisPeriod(q: Query): { fromMonth: string; toMonth: string; from: string; to: string } {
  // a month, or a day (its month): the dashboard's other pages take days
  const month = (v: string) => monthSchema.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? v.slice(0, 7) : v);
  const toMonth = q.to ? month(q.to) : tokyoMonth();
  const fromMonth = q.from ? month(q.from) : addMonths(toMonth, -11);
  if (fromMonth > toMonth) throw new AppError('invalid_range', '開始月が終了月より後になっています', 400);
  if (fromMonth < addMonths(toMonth, -35))
    throw new AppError('invalid_range', '期間は 3 年以内で指定してください', 400);
  return { fromMonth, toMonth, from: monthBounds(fromMonth).from, to: monthBounds(toMonth).to };
}

/** Where a delivery's page is (delivery's list of the tenant, at the delivery). */
export const deliveryHref = (tenantId: string, deliveryId: string) =>
  `/municipalities/${encodeURIComponent(tenantId)}/deliveries#delivery-${encodeURIComponent(deliveryId)}`;

const day = (iso: string) => new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 10);

function findingItem(f: Finding, names: Map<string, string>, showTenant: boolean): SafeHtml {
  const evidence = f.evidence.length
    ? html`<details><summary>根拠の配信 (${f.evidenceTotal} 件${f.evidenceTotal > f.evidence.length ? `、新しい ${f.evidence.length} 件を表示` : ''})</summary><ul>${f.evidence.map(
        (e) =>
          html`<li>${day(e.sentAt)} ${showTenant ? `${names.get(e.tenantId) ?? e.tenantId} ` : ''}${
            e.deliveryId
              ? html`<a href="${deliveryHref(e.tenantId, e.deliveryId)}">${e.title}</a>`
              : html`${e.title} (LINE の管理画面などからの配信)`
          }</li>`,
      )}</ul></details>`
    : '';
  return html`<li class="finding" data-finding="${f.key}"><h3>${f.title}</h3><p>${f.text}</p><p class="sample">標本: ${f.sample}</p>${evidence}</li>`;
}

export function analysisPage(
  r: FindingsResult,
  period: ReturnType<typeof analysisPeriod>,
  names: Map<string, string>,
): SafeHtml {
  const base = r.tenantId ? `/municipalities/${r.tenantId}/analysis` : '/analysis';
  const label =
    period.fromMonth === period.toMonth
      ? formatWarekiMonth(period.fromMonth)
      : `${formatWarekiMonth(period.fromMonth)}〜${formatWarekiMonth(period.toMonth)}`;
  const topics = Object.keys(TOPICS) as Topic[];
  const sections = topics.map((t) => {
    const fs = r.findings.filter((f) => f.topic === t);
    return html`<section aria-labelledby="topic-${t}"><h2 id="topic-${t}">${TOPICS[t]}</h2>${
      fs.length
        ? html`<ul class="findings">${fs.map((f) => findingItem(f, names, !r.tenantId))}</ul>`
        : html`<p class="note">この項目で言えることは見つかりませんでした (下の「省略した分析」に理由があります)。</p>`
    }</section>`;
  });
  return html`<h1>分析 — ${r.scopeName}</h1>
<form class="period-form" method="get" action="${base}">
<label for="from">開始月<input id="from" name="from" type="month" value="${period.fromMonth}"></label>
<label for="to">終了月<input id="to" name="to" type="month" value="${period.toMonth}"></label>
<button type="submit">表示</button></form>
<p class="note">対象期間: ${label} (配信 ${r.deliveries.toLocaleString('ja-JP')} 件)。率は 95% 信頼区間 (Wilson、配信ごとのばらつきを考慮) とともに示し、区間が重ならず ${FINDINGS_MIN.ratio} 倍以上の差があるときだけ所見としています。配信が ${FINDINGS_MIN.deliveries} 件未満、比べる区分の配信が ${FINDINGS_MIN.group} 件未満のときは省略します。配信後のブロックは配信日とその後 2 日間 (約 72 時間、次の配信があればその前日まで) のブロックです (LINE の通知の日別集計から)。</p>
${r.tenantId ? html`<p><a href="/municipalities/${r.tenantId}">${r.scopeName}のページへ戻る</a></p>` : ''}
<div class="grid charts">
<div class="card"><div id="chart-heatmap" class="chart" data-chart="heatmap" role="figure" aria-label="曜日・送信時刻ごとの開封率"></div></div>
<div class="card"><div id="chart-blocks" class="chart" data-chart="blocks" role="figure" aria-label="配信後3日間のブロック"></div></div>
<div class="card"><div id="chart-peers" class="chart" data-chart="peers" role="figure" aria-label="ほかの市町との比較"></div></div>
</div>
${sections}
<section aria-labelledby="left-out"><h2 id="left-out">省略した分析</h2>
${
  r.leftOut.length
    ? html`<table class="left-out"><thead><tr><th scope="col">項目</th><th scope="col">分析</th><th scope="col">省略した理由</th></tr></thead><tbody>${r.leftOut.map(
        (l) =>
          html`<tr data-left-out="${l.key}"><td>${TOPICS[l.topic]}</td><td>${l.title}</td><td>${l.reason}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="note">省略した分析はありません。</p>`
}</section>
${jsonBlock('chart-data', findingsCharts(r))}`;
}

export function registerAnalysisPages(shell: PageShell, data: DashboardData): void {
  shell.assets({ 'analysis.css': fileURLToPath(new URL('./public/analysis.css', import.meta.url)) });
  shell.nav({ href: '/analysis', label: '分析' });
  const content = async (
    p: Parameters<DashboardData['findings']>[0],
    tenantId: string | null,
    q: Query,
    tenants: { id: string; name: string }[],
  ) => {
    const period = analysisPeriod(q);
    const r = await data.findings(p, tenantId, period);
    return {
      title: `分析 — ${r.scopeName}`,
      body: analysisPage(r, period, new Map(tenants.map((t) => [t.id, t.name]))),
      scripts: ['apexcharts.js', 'charts.js'],
      styles: ['apexcharts.css', 'apexcharts-legend.css', 'records.css', 'analysis.css'],
    };
  };
  shell.page<Record<string, string>, Query>('/analysis', async ({ req, principal, tenants }) => {
    // a municipality account: its own municipality's analysis
    if (!canSeeEvery(principal) && principal.kind === 'staff' && principal.tenantId)
      return content(principal, principal.tenantId, req.query, tenants);
    return content(principal, null, req.query, tenants);
  });
  shell.page<{ id: string }, Query>('/municipalities/:id/analysis', async ({ req, principal, tenants }) =>
    content(principal, tenantIdSchema.parse(req.params.id), req.query, tenants),
  );
}
