/**
 * The FAQ's statistics of one tenant's live scenario, from metrics/' counts (metrics/faq.ts; the
 * monthly KPI report reads the same): views per node and per day (and per node per day), resolution
 * rate (はい ÷ answered), the paths that end in いいえ or in the fallback (the node the resident viewed
 * last before typing a question nothing matched, or the top), AI answers, candidates offered, unmatched
 * questions, the top questions per month, and every tenant's totals (prefecture-wide). The unmatched
 * questions' text (kept only where the tenant turned that on) is faq/'s own.
 */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import type { TenantStore } from '../core/tenants.ts';
import { addDays, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import {
  emptyFaqNodeCounts,
  FAQ_TOP_NODE,
  type FaqNodeCounts,
  type FaqTotals,
  faqRate,
  Metrics,
} from '../metrics/index.ts';
import { AI_NODE, type FaqNode, pathOf } from './schemas.ts';

const unmatchedRow = z.object({ at_ms: z.coerce.number(), text: z.string() });

/** A node's counts (typed questions after it, or after '_top': unmatched, fallback, ai) and はい ÷ (はい + いいえ). */
export type NodeStat = FaqNodeCounts & { rate: number | null };

/** A path that ended badly: いいえ on its last node, or a typed question after it that ended in the fallback. */
export interface Ending {
  nodeId: string;
  path: string;
  ending: 'no' | 'fallback';
  count: number;
}

export interface FaqStats {
  from: string;
  to: string;
  nodes: Map<string, NodeStat>;
  totals: { views: number; yes: number; no: number; rate: number | null };
  kinds: Record<string, number>;
  daily: Array<{ day: string; count: number }>;
  /** Views per day of the most viewed nodes (every Tokyo day of the period), for the chart and its table. */
  nodeDaily: { days: string[]; series: Array<{ nodeId: string; title: string; counts: number[] }> };
  /** Nodes answered いいえ, most first, with their path in the tree. */
  unresolved: Array<{ nodeId: string; path: string; no: number }>;
  /** Where typed questions that matched nothing were asked (the last node viewed, or the top), most first. */
  fallbacks: Array<{ nodeId: string; path: string; unmatched: number; fallback: number; ai: number }>;
  /** Paths that end in いいえ or in the fallback, most first. */
  endings: Ending[];
  monthlyTop: Array<{ month: string; top: Array<{ nodeId: string; title: string; views: number }> }>;
  ai: NodeStat;
}

export const rate = faqRate;
/** The nodes drawn as series in the views-per-node-per-day chart. */
export const NODE_DAILY_SERIES = 5;
export const TOP_PATH = 'メニュー (何も選ばずに入力)';
const UNKNOWN_PATH = '(経路の記録なし)';

/** Every Tokyo day of [from, to). */
function daysOf(from: number, to: number): string[] {
  const out: string[] = [];
  const last = tokyoToday(to - 1);
  for (let d = tokyoToday(from); d <= last && out.length <= 400; d = addDays(d, 1)) out.push(d);
  return out;
}

export class FaqStatsReader {
  readonly #metrics: Metrics;

  constructor(
    private readonly ch: ClickHouseClient,
    tenants: TenantStore,
  ) {
    this.#metrics = new Metrics(ch, tenants);
  }

  async stats(tenantId: string, nodes: FaqNode[], from: number, to: number): Promise<FaqStats> {
    const c = await this.#metrics.faqCounts(tenantId, from, to);
    const map = new Map<string, NodeStat>();
    for (const r of c.nodes) map.set(r.nodeId, { ...r, rate: rate(r.yes, r.no) });
    const all = [...map.values()].filter((s) => s.nodeId !== AI_NODE);
    const views = all.reduce((a, s) => a + s.views, 0);
    const yes = all.reduce((a, s) => a + s.yes, 0);
    const no = all.reduce((a, s) => a + s.no, 0);
    const title = (id: string) => nodes.find((n) => n.id === id)?.title ?? `(削除された項目 ${id})`;
    const path = (id: string) =>
      id === FAQ_TOP_NODE
        ? TOP_PATH
        : id === ''
          ? UNKNOWN_PATH
          : pathOf(nodes, id)
              .map((n) => n.title)
              .join(' › ') || title(id);
    const byMonth = new Map<string, FaqStats['monthlyTop'][number]['top']>();
    for (const m of c.monthly) {
      const list = byMonth.get(m.month) ?? [];
      if (list.length < 5) list.push({ nodeId: m.nodeId, title: title(m.nodeId), views: m.views });
      byMonth.set(m.month, list);
    }
    const unresolved = all
      .filter((s) => s.no > 0)
      .sort((a, b) => b.no - a.no || a.nodeId.localeCompare(b.nodeId))
      .slice(0, 20)
      .map((s) => ({ nodeId: s.nodeId, path: path(s.nodeId), no: s.no }));
    const fallbacks = all
      .filter((s) => s.unmatched > 0)
      .sort((a, b) => b.fallback - a.fallback || b.unmatched - a.unmatched || a.nodeId.localeCompare(b.nodeId))
      .slice(0, 20)
      .map((s) => ({ nodeId: s.nodeId, path: path(s.nodeId), unmatched: s.unmatched, fallback: s.fallback, ai: s.ai }));
    const endings: Ending[] = [
      ...unresolved.map((u) => ({ nodeId: u.nodeId, path: u.path, ending: 'no' as const, count: u.no })),
      ...fallbacks
        .filter((f) => f.fallback > 0)
        .map((f) => ({ nodeId: f.nodeId, path: f.path, ending: 'fallback' as const, count: f.fallback })),
    ]
      .sort((a, b) => b.count - a.count || a.path.localeCompare(b.path) || a.ending.localeCompare(b.ending))
      .slice(0, 20);
    const days = daysOf(from, to);
    const top = all
      .filter((s) => s.views > 0 && nodes.some((n) => n.id === s.nodeId))
      .sort((a, b) => b.views - a.views || a.nodeId.localeCompare(b.nodeId))
      .slice(0, NODE_DAILY_SERIES);
    const at = new Map(days.map((d, i) => [d, i]));
    const series = top.map((s) => ({ nodeId: s.nodeId, title: title(s.nodeId), counts: days.map(() => 0) }));
    for (const d of c.nodeDaily) {
      const i = at.get(d.day);
      const s = series.find((x) => x.nodeId === d.nodeId);
      if (s && i !== undefined) s.counts[i] = d.count;
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      nodes: map,
      totals: { views, yes, no, rate: rate(yes, no) },
      kinds: c.kinds,
      daily: c.daily,
      nodeDaily: { days, series },
      unresolved,
      fallbacks,
      endings,
      monthlyTop: [...byMonth].map(([month, list]) => ({ month, top: list })),
      ai: map.get(AI_NODE) ?? { ...emptyFaqNodeCounts(AI_NODE), rate: null },
    };
  }

  /** Each tenant's totals in [from, to) (the prefecture-wide table). */
  async tenantTotals(tenantIds: readonly string[], from: number, to: number): Promise<Map<string, FaqTotals>> {
    return this.#metrics.faqTotals(tenantIds, from, to);
  }

  async unmatched(tenantId: string, limit = 200): Promise<Array<{ at: string; text: string }>> {
    const rows = await query(this.ch, 'faq.unmatched', { tenant: tenantId, limit }, unmatchedRow);
    return rows.map((r) => ({ at: new Date(r.at_ms).toISOString(), text: r.text }));
  }
}
