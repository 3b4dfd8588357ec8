/**
 * The FAQ chatbot's figures (faq/'s events, sql/queries/faq_metrics.sql): per node and per day for one
 * tenant (the FAQ's statistics page and API), each tenant's totals over a period, and a month's figures
 * per tenant and prefecture-wide with the month's top questions (the monthly KPI report). Resolution
 * rate = はい ÷ (はい + いいえ); AI answers are counted apart from the scenario's nodes.
 */
import { query } from '../core/clickhouse.ts';
import type { Tenant } from '../core/tenants.ts';
import { chDateTime, formatWarekiMonth, monthSchema, tokyoMonthRange } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { int64, type MetricsReader } from './reader.ts';

/** The node an AI answer's views and はい／いいえ are recorded on (faq/schemas.ts AI_NODE). */
export const FAQ_AI_NODE = '_ai';
/** The context of a typed question asked before any node was viewed (from the top). */
export const FAQ_TOP_NODE = '_top';

export interface FaqFigureDefinition {
  label: string;
  unit: '回' | '件' | '%';
  definition: string;
}

/** What each FAQ figure means, shown on the pages and in the reports. */
export const FAQ_FIGURES = {
  views: {
    label: '表示回数',
    unit: '回',
    definition: 'FAQ の項目 (カテゴリ・質問) が住民に表示された回数 (AI の回答を除く)',
  },
  yes: {
    label: 'はい (解決)',
    unit: '件',
    definition: '回答のあとの「解決しましたか？」に「はい」と答えた数 (AI の回答を除く)',
  },
  no: {
    label: 'いいえ (未解決)',
    unit: '件',
    definition: '回答のあとの「解決しましたか？」に「いいえ」と答えた数 (AI の回答を除く)',
  },
  rate: { label: '解決率', unit: '%', definition: 'はい ÷ (はい + いいえ)。答えた人がいなければ「—」' },
  unmatched: {
    label: '未一致の質問',
    unit: '件',
    definition: '住民が入力した質問のうち、FAQ のどの質問にも当てはまらなかった数 (文面は保存を有効にした市町だけ保存)',
  },
  fallback: {
    label: '案内で終わった質問',
    unit: '件',
    definition: '当てはまらなかった質問のうち、AI の回答もなく、お詫びとメニューの案内で終わった数',
  },
  ai: { label: 'AI の回答', unit: '件', definition: '当てはまらなかった質問に、市町が設定した AI が回答した数' },
} as const satisfies Record<string, FaqFigureDefinition>;

export type FaqFigureName = keyof typeof FAQ_FIGURES;

/** One node's counts in a period. */
export interface FaqNodeCounts {
  nodeId: string;
  views: number;
  yes: number;
  no: number;
  /** Typed questions asked after viewing this node that matched nothing … */
  unmatched: number;
  /** … of which ended in the polite fallback … */
  fallback: number;
  /** … or were answered by the AI. */
  ai: number;
}

/** One tenant's counts in a period: per node, per kind, per day, per day and node, per month and node. */
export interface FaqCounts {
  nodes: FaqNodeCounts[];
  kinds: Record<string, number>;
  daily: Array<{ day: string; count: number }>;
  nodeDaily: Array<{ day: string; nodeId: string; count: number }>;
  monthly: Array<{ month: string; nodeId: string; views: number }>;
}

/** A tenant's (or the prefecture's) totals in a period. */
export interface FaqTotals {
  views: number;
  yes: number;
  no: number;
  /** はい ÷ (はい + いいえ); null when nobody answered. */
  rate: number | null;
  unmatched: number;
  fallback: number;
  candidates: number;
  ai: number;
  aiYes: number;
  aiNo: number;
}

export const faqRate = (yes: number, no: number): number | null => (yes + no ? yes / (yes + no) : null);

const range = (from: number, to: number) => ({ from: chDateTime(from), to: chDateTime(to) });

const nodeRow = z.object({
  node_id: z.string(),
  views: int64,
  yes: int64,
  no: int64,
  unmatched: int64,
  fallback: int64,
  ai: int64,
});
const kindRow = z.object({ kind: z.string(), n: int64 });
const dayRow = z.object({ day: z.string(), n: int64 });
const nodeDayRow = z.object({ day: z.string(), node_id: z.string(), n: int64 });
const monthRow = z.object({ month: z.string(), node_id: z.string(), n: int64 });
const totalsRow = z.object({
  tenant_id: z.string(),
  views: int64,
  yes: int64,
  no: int64,
  unmatched: int64,
  fallback: int64,
  candidates: int64,
  ai: int64,
  ai_yes: int64,
  ai_no: int64,
});
const topRow = z.object({ tenant_id: z.string(), node_id: z.string(), views: int64, yes: int64, no: int64 });
const liveRow = z.object({ tenant_id: z.string(), number: int64, nodes: z.string() });
const nodeTitles = z.array(z.object({ id: z.string(), title: z.string() }));

/** One tenant's counts in [from, to) (epoch ms). */
export async function faqCounts(reader: MetricsReader, tenantId: string, from: number, to: number): Promise<FaqCounts> {
  const p = { tenant: tenantId, ...range(from, to) };
  const [nodes, kinds, daily, nodeDaily, monthly] = await Promise.all([
    query(reader.ch, 'faq_metrics.node_counts', p, nodeRow),
    query(reader.ch, 'faq_metrics.kind_totals', p, kindRow),
    query(reader.ch, 'faq_metrics.daily_views', p, dayRow),
    query(reader.ch, 'faq_metrics.node_daily_views', p, nodeDayRow),
    query(reader.ch, 'faq_metrics.monthly_top', p, monthRow),
  ]);
  return {
    nodes: nodes.map((r) => ({
      nodeId: r.node_id,
      views: r.views,
      yes: r.yes,
      no: r.no,
      unmatched: r.unmatched,
      fallback: r.fallback,
      ai: r.ai,
    })),
    kinds: Object.fromEntries(kinds.map((k) => [k.kind, k.n])),
    daily: daily.map((d) => ({ day: d.day, count: d.n })),
    nodeDaily: nodeDaily.map((d) => ({ day: d.day, nodeId: d.node_id, count: d.n })),
    monthly: monthly.map((m) => ({ month: m.month.slice(0, 7), nodeId: m.node_id, views: m.n })),
  };
}

/** A node's counts when nobody viewed it. */
export const emptyFaqNodeCounts = (nodeId: string): FaqNodeCounts => ({
  nodeId,
  views: 0,
  yes: 0,
  no: 0,
  unmatched: 0,
  fallback: 0,
  ai: 0,
});

const emptyTotals = (): FaqTotals => ({
  views: 0,
  yes: 0,
  no: 0,
  rate: null,
  unmatched: 0,
  fallback: 0,
  candidates: 0,
  ai: 0,
  aiYes: 0,
  aiNo: 0,
});

/** Sums totals (the rate recomputed from the sums). */
export function sumFaqTotals(list: readonly FaqTotals[]): FaqTotals {
  const s = emptyTotals();
  for (const t of list)
    for (const k of Object.keys(s) as Array<keyof FaqTotals>) if (k !== 'rate') s[k] += t[k] as number;
  s.rate = faqRate(s.yes, s.no);
  return s;
}

/** Each tenant's totals in [from, to) (epoch ms); every tenant asked for gets an entry. */
export async function faqTenantTotals(
  reader: MetricsReader,
  tenantIds: readonly string[],
  from: number,
  to: number,
): Promise<Map<string, FaqTotals>> {
  const out = new Map(tenantIds.map((id) => [id, emptyTotals()]));
  if (!tenantIds.length) return out;
  const rows = await query(
    reader.ch,
    'faq_metrics.tenant_totals',
    { tenants: [...tenantIds], ...range(from, to) },
    totalsRow,
  );
  for (const r of rows)
    out.set(r.tenant_id, {
      views: r.views,
      yes: r.yes,
      no: r.no,
      rate: faqRate(r.yes, r.no),
      unmatched: r.unmatched,
      fallback: r.fallback,
      candidates: r.candidates,
      ai: r.ai,
      aiYes: r.ai_yes,
      aiNo: r.ai_no,
    });
  return out;
}

export interface FaqTopQuestion {
  tenantId: string;
  /** The tenant's name. */
  name: string;
  nodeId: string;
  /** The node's title in the live scenario ((削除された項目 id) when it is no longer there). */
  title: string;
  views: number;
  yes: number;
  no: number;
  rate: number | null;
}

export interface FaqMonthRow {
  tenantId: string;
  name: string;
  /** The live scenario's number (0: none published). */
  live: number;
  figures: FaqTotals;
  /** The tenant's most viewed nodes of the month. */
  top: FaqTopQuestion[];
}

export interface FaqMonth {
  month: string;
  monthLabel: string;
  rows: FaqMonthRow[];
  /** Prefecture-wide: the sum of every row. */
  totals: FaqTotals & { tenants: number; published: number };
  /** The month's most viewed nodes over every tenant. */
  top: FaqTopQuestion[];
}

/**
 * The FAQ figures of a month ('YYYY-MM', Tokyo) for these tenants, in their order, with the
 * prefecture-wide total and top questions (`perTenant` a tenant, `overall` over all).
 */
export async function faqMonth(
  reader: MetricsReader,
  tenants: readonly Tenant[],
  month: string,
  opts: { perTenant?: number; overall?: number } = {},
): Promise<FaqMonth> {
  monthSchema.parse(month);
  const { from, to } = tokyoMonthRange(month);
  const ids = tenants.map((t) => t.id);
  const perTenant = opts.perTenant ?? 3;
  const overall = opts.overall ?? 10;
  const [totals, top, live] = await Promise.all([
    faqTenantTotals(reader, ids, from, to),
    ids.length
      ? query(
          reader.ch,
          'faq_metrics.top_nodes',
          { tenants: ids, n: Math.max(perTenant, overall), ...range(from, to) },
          topRow,
        )
      : [],
    ids.length ? query(reader.ch, 'faq_metrics.live_scenarios', { tenants: ids }, liveRow) : [],
  ]);
  const titles = new Map<string, Map<string, string>>();
  const numbers = new Map<string, number>();
  for (const l of live) {
    numbers.set(l.tenant_id, l.number);
    const parsed = nodeTitles.safeParse(JSON.parse(l.nodes));
    titles.set(l.tenant_id, new Map(parsed.success ? parsed.data.map((n) => [n.id, n.title]) : []));
  }
  const names = new Map(tenants.map((t) => [t.id, t.name]));
  const questions: FaqTopQuestion[] = top.map((r) => ({
    tenantId: r.tenant_id,
    name: names.get(r.tenant_id) ?? r.tenant_id,
    nodeId: r.node_id,
    title: titles.get(r.tenant_id)?.get(r.node_id) ?? `(削除された項目 ${r.node_id})`,
    views: r.views,
    yes: r.yes,
    no: r.no,
    rate: faqRate(r.yes, r.no),
  }));
  const rows: FaqMonthRow[] = tenants.map((t) => ({
    tenantId: t.id,
    name: t.name,
    live: numbers.get(t.id) ?? 0,
    figures: totals.get(t.id)!,
    top: questions.filter((q) => q.tenantId === t.id).slice(0, perTenant),
  }));
  return {
    month,
    monthLabel: formatWarekiMonth(month),
    rows,
    totals: {
      ...sumFaqTotals(rows.map((r) => r.figures)),
      tenants: rows.length,
      published: rows.filter((r) => r.live > 0).length,
    },
    top: [...questions]
      .sort((a, b) => b.views - a.views || a.tenantId.localeCompare(b.tenantId) || a.nodeId.localeCompare(b.nodeId))
      .slice(0, overall),
  };
}
