/**
 * The findings in the reports: the final report's proposals drafted from them (marked 【下書き】 for
 * the contractor to edit; 【記入してください】 stays only where nothing could be found), their charts
 * (the 分析 page's specs as PNG), and the monthly KPI report's three most notable findings.
 */
import type { Tenant } from '../../core/tenants.ts';
import { monthBounds } from '../../core/time.ts';
import { Metrics, findingsCharts, notable, type Finding, type FindingsResult } from '../../metrics/index.ts';
import { renderCharts, type ChartImage } from './charts.ts';
import type { ReportSources } from './sources.ts';

export const DRAFT = '【下書き】';
export const DRAFT_NOTE =
  'Tayori が配信・ブロック・友だち追加などの記録から自動で作成した所見です。内容を確認し、必要に応じて書き換えてください。';

/** Which findings draft which proposal (PROPOSALS' headings, in their order). */
const PROPOSAL_KEYS: ReadonlyArray<(f: Finding) => boolean> = [
  (f) => f.topic === 'growth' || f.key === 'peers.friendsPerPopulation' || f.key === 'peers.growthPer1000',
  (f) =>
    f.topic === 'timing' || ['content.type', 'content.length', 'content.link', 'frequency.bubbles'].includes(f.key),
  (f) => ['frequency.level', 'content.segment_blocks', 'peers.blocksPer1000'].includes(f.key),
  (f) => f.key.startsWith('content.segment') || f.key === 'content.interest',
  (f) => f.topic === 'peers',
  (f) => f.topic === 'mileage',
];

/** The chart each proposal shows (index into FinalFindings.charts), if any. */
const PROPOSAL_CHART: ReadonlyArray<number | undefined> = [undefined, 0, 1, undefined, 2, undefined];

export interface FinalFindings {
  all: FindingsResult;
  byTenant: Map<string, FindingsResult>;
  /** heatmap, blocks after delivery, peers */
  charts: ChartImage[];
}

/** The prefecture-wide findings and each municipality's, over one read of the period. */
export async function readFinalFindings(
  src: ReportSources,
  period: { from: string; to: string },
): Promise<Omit<FinalFindings, 'charts'>> {
  const munis: Tenant[] = (await src.tenants.list()).filter((t) => t.kind === 'municipality');
  const [all, ...each] = await new Metrics(src.ch, src.tenants).findingsMany(
    munis,
    { from: monthBounds(period.from).from, to: monthBounds(period.to).to },
    [{ focus: null, namedPeers: true }, ...munis.map((t) => ({ focus: t, namedPeers: true }))],
  );
  return { all: all!, byTenant: new Map(each.map((r) => [r.tenantId!, r])) };
}

export function findingsChartImages(r: FindingsResult, label: string): Promise<ChartImage[]> {
  const c = findingsCharts(r);
  return renderCharts([
    { caption: `曜日・送信時刻ごとの開封率 (県全体、${label})`, options: c.heatmap, width: 1200, height: 560 },
    { caption: `配信後 3 日間のブロック (配信頻度別、県全体、${label})`, options: c.blocks, width: 1200, height: 560 },
    { caption: `市町別の開封率 (人口規模、${label})`, options: c.peers, width: 1200, height: 900 },
  ]);
}

/** Each proposal's draft: its findings (none: the contractor fills it in) and its chart. */
export function proposalDrafts(f: FinalFindings | undefined): Array<{ findings: Finding[]; chart?: ChartImage }> {
  return PROPOSAL_KEYS.map((pick, i) => ({
    findings: f ? f.all.findings.filter(pick) : [],
    chart: f && PROPOSAL_CHART[i] !== undefined ? f.charts[PROPOSAL_CHART[i]!] : undefined,
  }));
}

/** A finding as one line of draft text, with its sample. */
export const findingLine = (f: Finding) => `${f.text} (標本: ${f.sample})`;

/** A municipality's draft proposal (its two most notable findings), or null. */
export function municipalityDraft(f: FinalFindings | undefined, tenantId: string): string | null {
  const r = f?.byTenant.get(tenantId);
  const top = r ? notable(r, 2).filter((x) => x.topic !== 'peers') : [];
  return top.length ? `${DRAFT} ${top.map(findingLine).join(' ')}` : null;
}

/** The monthly KPI report's three most notable findings of the month, as lines (a heading first). */
export function notableLines(r: FindingsResult | undefined): string[] {
  if (!r) return [];
  const top = notable(r, 3);
  if (!top.length)
    return [
      `今月の注目すべき所見: この月の配信 ${r.deliveries} 件からは、はっきり言える所見はありませんでした (データが少ないか、差が偶然の範囲内です。詳しくは 分析 ページ)。`,
    ];
  return [
    `今月の注目すべき所見 (${DRAFT}Tayori が自動で作成):`,
    ...top.map((f, i) => `(${i + 1}) ${f.title}: ${findingLine(f)}`),
  ];
}
