/**
 * The FAQ's statistics from faq_events: views per node and per day, resolution rate (はい ÷ answered),
 * nodes whose answers end in いいえ (with their path), fallbacks, AI answers, candidates offered,
 * unmatched questions, the top questions per month, and every tenant's totals (prefecture-wide).
 */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { chDateTime } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { AI_NODE, type FaqNode, pathOf } from './schemas.ts';

const nodeRow = z.object({
  node_id: z.string(),
  views: z.coerce.number(),
  yes: z.coerce.number(),
  no: z.coerce.number(),
});
const kindRow = z.object({ kind: z.string(), n: z.coerce.number() });
const dayRow = z.object({ day: z.string(), n: z.coerce.number() });
const monthRow = z.object({ month: z.string(), node_id: z.string(), n: z.coerce.number() });
const tenantRow = z.object({
  tenant_id: z.string(),
  views: z.coerce.number(),
  yes: z.coerce.number(),
  no: z.coerce.number(),
  unmatched: z.coerce.number(),
});
const unmatchedRow = z.object({ at_ms: z.coerce.number(), text: z.string() });

export interface NodeStat {
  nodeId: string;
  views: number;
  yes: number;
  no: number;
  /** はい ÷ (はい + いいえ), null when nobody answered. */
  rate: number | null;
}

export interface FaqStats {
  from: string;
  to: string;
  nodes: Map<string, NodeStat>;
  totals: { views: number; yes: number; no: number; rate: number | null };
  kinds: Record<string, number>;
  daily: Array<{ day: string; count: number }>;
  /** Nodes answered いいえ, most first, with their path in the tree. */
  unresolved: Array<{ nodeId: string; path: string; no: number }>;
  monthlyTop: Array<{ month: string; top: Array<{ nodeId: string; title: string; views: number }> }>;
  ai: NodeStat;
}

export const rate = (yes: number, no: number): number | null => (yes + no ? yes / (yes + no) : null);
const range = (from: number, to: number) => ({ from: chDateTime(from), to: chDateTime(to) });

export class FaqStatsReader {
  constructor(private readonly ch: ClickHouseClient) {}

  async stats(tenantId: string, nodes: FaqNode[], from: number, to: number): Promise<FaqStats> {
    const p = { tenant: tenantId, ...range(from, to) };
    const [rows, kinds, daily, months] = await Promise.all([
      query(this.ch, 'faq.node_stats', p, nodeRow),
      query(this.ch, 'faq.kind_totals', p, kindRow),
      query(this.ch, 'faq.daily_views', p, dayRow),
      query(this.ch, 'faq.monthly_top', p, monthRow),
    ]);
    const map = new Map<string, NodeStat>();
    for (const r of rows)
      map.set(r.node_id, { nodeId: r.node_id, views: r.views, yes: r.yes, no: r.no, rate: rate(r.yes, r.no) });
    const all = [...map.values()].filter((s) => s.nodeId !== AI_NODE);
    const views = all.reduce((a, s) => a + s.views, 0);
    const yes = all.reduce((a, s) => a + s.yes, 0);
    const no = all.reduce((a, s) => a + s.no, 0);
    const title = (id: string) => nodes.find((n) => n.id === id)?.title ?? `(削除された項目 ${id})`;
    const byMonth = new Map<string, FaqStats['monthlyTop'][number]['top']>();
    for (const m of months) {
      const list = byMonth.get(m.month) ?? [];
      if (list.length < 5) list.push({ nodeId: m.node_id, title: title(m.node_id), views: m.n });
      byMonth.set(m.month, list);
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      nodes: map,
      totals: { views, yes, no, rate: rate(yes, no) },
      kinds: Object.fromEntries(kinds.map((k) => [k.kind, k.n])),
      daily: daily.map((d) => ({ day: d.day, count: d.n })),
      unresolved: all
        .filter((s) => s.no > 0)
        .sort((a, b) => b.no - a.no || a.nodeId.localeCompare(b.nodeId))
        .slice(0, 20)
        .map((s) => ({
          nodeId: s.nodeId,
          path:
            pathOf(nodes, s.nodeId)
              .map((n) => n.title)
              .join(' › ') || title(s.nodeId),
          no: s.no,
        })),
      monthlyTop: [...byMonth].map(([month, top]) => ({ month: month.slice(0, 7), top })),
      ai: map.get(AI_NODE) ?? { nodeId: AI_NODE, views: 0, yes: 0, no: 0, rate: null },
    };
  }

  async tenantTotals(from: number, to: number) {
    const rows = await query(this.ch, 'faq.tenant_totals', range(from, to), tenantRow);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      views: r.views,
      yes: r.yes,
      no: r.no,
      unmatched: r.unmatched,
      rate: rate(r.yes, r.no),
    }));
  }

  async unmatched(tenantId: string, limit = 200): Promise<Array<{ at: string; text: string }>> {
    const rows = await query(this.ch, 'faq.unmatched', { tenant: tenantId, limit }, unmatchedRow);
    return rows.map((r) => ({ at: new Date(r.at_ms).toISOString(), text: r.text }));
  }
}
