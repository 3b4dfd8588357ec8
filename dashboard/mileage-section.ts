/**
 * The health-mileage part of the overview (every municipality's row and 県全体) and of a
 * municipality's page: the figures of a month and of the fiscal year so far, their definitions, and
 * the chart specs metrics/ builds (the browser draws them from the page's chart-data).
 */
import { html, type SafeHtml } from '../core/html.ts';
import {
  DASH,
  MILEAGE_FIGURES,
  MISSING_REASONS,
  formatCount,
  mileageValue,
  type Figure,
  type MileageFigureName,
  type MileageOverview,
  type MileageRow,
  type MissingReason,
} from '../metrics/index.ts';

/** The columns of the overview's table, in order. */
export const MILEAGE_TABLE: readonly MileageFigureName[] = [
  'participants',
  'newParticipants',
  'active',
  'points',
  'pointsToDate',
  'reachedGoal',
  'cardsIssuedToDate',
  'cardsValid',
  'participantsPerThousand',
];

const formatOf = (key: MileageFigureName, v: Figure): string =>
  v === null
    ? DASH
    : key === 'participantsPerThousand'
      ? v.toLocaleString('ja-JP', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
      : formatCount(v);

function cell(
  key: MileageFigureName,
  r: Pick<MileageRow, 'figures' | 'participantsPerThousand' | 'missing'>,
  marks: Map<MissingReason, number>,
): SafeHtml {
  const v = mileageValue(r, key);
  if (v === null) {
    const reason = r.missing[key] ?? 'no_source';
    if (!marks.has(reason)) marks.set(reason, marks.size + 1);
    return html`<td class="num missing" data-field="${key}" data-v=""><abbr title="${MISSING_REASONS[reason]}">${DASH}<sup>※${marks.get(reason)}</sup></abbr></td>`;
  }
  return html`<td class="num" data-field="${key}" data-v="${v}">${formatOf(key, v)}</td>`;
}

function definitions(keys: readonly MileageFigureName[]): SafeHtml {
  return html`<h3>マイレージの指標の定義</h3><dl class="defs" id="mileage-definitions">${keys.map(
    (k) => html`<dt>${MILEAGE_FIGURES[k].label}</dt><dd>${MILEAGE_FIGURES[k].definition}</dd>`,
  )}</dl>`;
}

const lead = (m: MileageOverview) =>
  html`<p class="note">${m.fiscalYearLabel}の事業の、${m.monthLabel}と年度の初め (4月) からの累計です。有効なカードは ${m.asOf} 時点の枚数です。</p>`;

/**
 * The overview's section: one row per municipality, the prefecture-wide total, the year's months as
 * a chart (`chart-growth` in chart-data). Reasons for "—" take marks from `marks` (the page's notes).
 */
export function mileageOverviewSection(m: MileageOverview, marks: Map<MissingReason, number>): SafeHtml {
  const row = (r: MileageRow) =>
    html`<tr data-tenant="${r.tenantId}"><td data-v="${r.tenantId}"><a href="/municipalities/${r.tenantId}#mileage">${r.name}</a></td>${MILEAGE_TABLE.map((k) => cell(k, r, marks))}</tr>`;
  return html`<section id="mileage" aria-labelledby="mileage-heading">
<h2 id="mileage-heading">健康マイレージ <small>${m.fiscalYearLabel}・${m.monthLabel}</small></h2>
${lead(m)}
<div class="scroll"><table id="mileage-table" aria-label="市町別の健康マイレージ">
<thead><tr><th data-sort="text" scope="col">市町</th>${MILEAGE_TABLE.map(
    (k) =>
      html`<th data-sort="num" scope="col" title="${MILEAGE_FIGURES[k].definition}">${MILEAGE_FIGURES[k].label}</th>`,
  )}</tr></thead>
<tbody>${m.rows.map(row)}</tbody>
<tfoot><tr data-tenant="total"><td>県全体 (${m.totals.municipalities} 市町)</td>${MILEAGE_TABLE.map((k) => cell(k, m.totals, marks))}</tr></tfoot></table></div>
<div class="grid charts"><div class="card"><div id="chart-mileage-growth" class="chart" data-chart="mileageGrowth" role="figure" aria-label="健康マイレージの月別の推移 (県全体)"></div></div>
<div class="card"><div id="chart-mileage-activities" class="chart" data-chart="mileageActivities" role="figure" aria-label="活動別の獲得ポイント (県全体)"></div></div></div>
${definitions(MILEAGE_TABLE)}
</section>`;
}

/** A municipality's section: the month's and the year's figures as tiles, the charts, the activities. */
export function mileageMunicipalitySection(m: MileageOverview): SafeHtml {
  const r = m.rows[0];
  if (!r) return html``;
  if (!r.programme)
    return html`<section id="mileage" aria-labelledby="mileage-heading"><h2 id="mileage-heading">健康マイレージ <small>${m.fiscalYearLabel}</small></h2>
<p class="note">${MISSING_REASONS.no_programme}。有効なカード (${m.asOf} 時点): ${formatCount(r.figures.cardsValid)} 枚</p></section>`;
  const keys: MileageFigureName[] = [
    'participants',
    'newParticipants',
    'active',
    'points',
    'pointsToDate',
    'reachedGoalNew',
    'reachedGoal',
    'cardsIssued',
    'cardsIssuedToDate',
    'cardsValid',
    'participantsPerThousand',
  ];
  const stat = (k: MileageFigureName) => {
    const v = mileageValue(r, k);
    const why = v === null ? MISSING_REASONS[r.missing[k] ?? 'no_source'] : '';
    return html`<div class="stat" data-field="${k}"><div class="l">${MILEAGE_FIGURES[k].label}</div><div class="v">${
      v === null ? html`<abbr title="${why}">${DASH}</abbr>` : `${formatOf(k, v)} ${MILEAGE_FIGURES[k].unit}`
    }</div>${v === null ? html`<div class="note">${why}</div>` : ''}</div>`;
  };
  const p = r.programme;
  return html`<section id="mileage" aria-labelledby="mileage-heading">
<h2 id="mileage-heading">健康マイレージ <small>${p.name} (${p.startsOn}〜${p.endsOn}、目標 ${formatCount(p.goalPoints)} pt)・${m.monthLabel}</small></h2>
${lead(m)}
<div class="grid">${keys.map(stat)}</div>
<div class="grid charts"><div class="card"><div id="chart-mileage-growth" class="chart" data-chart="mileageGrowth" role="figure" aria-label="健康マイレージの月別の推移"></div></div>
<div class="card"><div id="chart-mileage-activities" class="chart" data-chart="mileageActivities" role="figure" aria-label="活動別の獲得ポイント"></div></div></div>
<div class="scroll"><table id="mileage-activities" aria-label="活動別の獲得ポイント"><thead><tr><th scope="col">活動</th><th scope="col">獲得方法</th><th scope="col">獲得ポイント (月)</th><th scope="col">獲得回数 (月)</th><th scope="col">獲得ポイント (年度累計)</th><th scope="col">獲得回数 (年度累計)</th></tr></thead>
<tbody>${r.activities.map(
    (a) =>
      html`<tr><td>${a.name}</td><td>${a.methodLabel}</td><td class="num">${formatCount(a.points)}</td><td class="num">${formatCount(a.awards)}</td><td class="num">${formatCount(a.pointsToDate)}</td><td class="num">${formatCount(a.awardsToDate)}</td></tr>`,
  )}</tbody></table></div>
${definitions(keys)}
</section>`;
}
