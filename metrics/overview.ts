import { query } from '../core/clickhouse.ts';
import { addMonths, formatWarekiMonth, monthBounds, monthSchema } from '../core/time.ts';
import type { Tenant } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import { aggregateDeliveries, type DeliveryFigures, deliveryFigures, type Missing } from './deliveries.ts';
import {
  blockRate,
  change,
  friendsPerPopulation,
  ratio,
  roundRatio,
  sumKnown,
  type Figure,
  type FigureName,
  type MissingReason,
} from './figures.ts';
import { figure, int64, type MetricsReader } from './reader.ts';

// LINE's (followers, targeted reaches, blocks) on a month's last ready day
const monthEndRow = z.object({
  tenant_id: z.string(),
  cur_n: int64,
  cur_day: z.string(),
  cur: z.array(figure),
  prev_n: int64,
  prev: z.array(figure),
});
const webhookMonthRow = z.object({
  tenant_id: z.string(),
  month: z.string(),
  follows: int64,
  unblocks: int64,
  unfollows: int64,
});

export interface OverviewRow {
  tenantId: string;
  name: string;
  population: number | null;
  friends: Figure;
  /** The day LINE's figures are from (the month's last ready day). */
  friendsAsOf: string | null;
  friendsChange: Figure;
  friendsPerPopulation: Figure;
  targetedReaches: Figure;
  blocks: Figure;
  blockRate: Figure;
  follows: number;
  unblocks: number;
  unfollows: number;
  deliveries: number;
  delivered: Figure;
  uniqueImpressions: Figure;
  openRate: Figure;
  clicks: Figure;
  /** Net friends per month over the last 12 months (follows + unblocks − blocks, from webhooks). */
  sparkline: { months: string[]; values: number[] };
  missing: Missing;
}

export interface Overview {
  month: string;
  monthLabel: string;
  from: string;
  to: string;
  /** One row per municipality. */
  rows: OverviewRow[];
  /** The prefecture's own accounts (e.g. 三重県's), outside the municipalities' totals. */
  accounts: OverviewRow[];
  totals: Omit<OverviewRow, 'tenantId' | 'name' | 'friendsAsOf' | 'sparkline'> & {
    municipalities: number;
    partial: FigureName[];
  };
  sources: { insightFollowers: boolean; deliveryStats: boolean; deliveryRecords: boolean };
}

/**
 * One row per municipality of `visible` (the tenants the caller may see: the caller decides), and the
 * prefecture's own accounts beside them, for a month (Asia/Tokyo).
 */
export async function overview(reader: MetricsReader, visible: Tenant[], month: string): Promise<Overview> {
  monthSchema.parse(month);
  const { from, to } = monthBounds(month);
  const prevFrom = monthBounds(addMonths(month, -1)).from;
  const sparkFrom = monthBounds(addMonths(month, -11)).from;
  const municipalities = visible.filter((t) => t.kind === 'municipality');
  // the prefecture's own accounts: shown beside the municipalities, never in their totals
  const prefectureAccounts = visible.filter((t) => t.kind === 'prefecture');
  const ids = [...municipalities, ...prefectureAccounts].map((t) => t.id);

  const [followers, webhooks, deliveries] = ids.length
    ? await Promise.all([
        query(reader.ch, 'metrics.followers_month_end', { tenants: ids, from, to, prevFrom }, monthEndRow),
        query(reader.ch, 'metrics.webhooks_per_month', { tenants: ids, from: sparkFrom, to }, webhookMonthRow),
        deliveryFigures(reader, ids, from, to),
      ])
    : [[], [], []];

  const fByTenant = new Map(followers.map((r) => [r.tenant_id, r]));
  const months = Array.from({ length: 12 }, (_, i) => addMonths(month, i - 11));
  const wByTenant = new Map<string, Map<string, { follows: number; unblocks: number; unfollows: number }>>();
  for (const r of webhooks) {
    const m = wByTenant.get(r.tenant_id) ?? new Map();
    m.set(r.month.slice(0, 7), { follows: r.follows, unblocks: r.unblocks, unfollows: r.unfollows });
    wByTenant.set(r.tenant_id, m);
  }
  const dByTenant = new Map<string, DeliveryFigures[]>();
  for (const d of deliveries) dByTenant.set(d.tenantId, [...(dByTenant.get(d.tenantId) ?? []), d]);

  const rowOf = (t: Tenant): OverviewRow => {
    const missing: Missing = {};
    const f = fByTenant.get(t.id);
    const hasCur = !!f && f.cur_n > 0;
    const hasPrev = !!f && f.prev_n > 0;
    const cur = hasCur ? f.cur : [null, null, null];
    const prev = hasPrev ? f.prev : [null, null, null];
    const [friends, targetedReaches, blocks] = cur as [Figure, Figure, Figure];
    const curWhy: MissingReason = hasCur ? 'privacy' : 'not_fetched';
    if (friends === null) missing.friends = curWhy;
    if (targetedReaches === null) missing.targetedReaches = curWhy;
    if (blocks === null) missing.blocks = curWhy;
    const friendsChange = change(friends, prev[0]!);
    if (friendsChange === null) missing.friendsChange = missing.friends ?? (hasPrev ? 'privacy' : 'not_fetched');
    const perPop = friendsPerPopulation({ friends, population: t.population });
    if (perPop === null)
      missing.friendsPerPopulation = missing.friends ?? (t.population ? 'no_denominator' : 'no_population');
    const br = blockRate({ blocks, friends });
    if (br === null) missing.blockRate = missing.blocks ?? missing.friends ?? 'no_denominator';

    const w = wByTenant.get(t.id);
    const thisMonth = w?.get(month) ?? { follows: 0, unblocks: 0, unfollows: 0 };
    const ds = dByTenant.get(t.id) ?? [];
    const agg = aggregateDeliveries(ds);
    Object.assign(missing, agg.missing);
    return {
      tenantId: t.id,
      name: t.name,
      population: t.population,
      friends,
      friendsAsOf: hasCur ? f.cur_day : null,
      friendsChange,
      friendsPerPopulation: roundRatio(perPop),
      targetedReaches,
      blocks,
      blockRate: roundRatio(br),
      ...thisMonth,
      deliveries: ds.length,
      delivered: agg.delivered,
      uniqueImpressions: agg.uniqueImpressions,
      openRate: agg.openRate,
      clicks: agg.clicks,
      sparkline: {
        months,
        values: months.map((m) => {
          const x = w?.get(m);
          return x ? x.follows + x.unblocks - x.unfollows : 0;
        }),
      },
      missing,
    };
  };
  const rows = municipalities.map(rowOf);
  const municipal = new Set(municipalities.map((t) => t.id));

  return {
    month,
    monthLabel: formatWarekiMonth(month),
    from,
    to,
    rows,
    totals: totalsOf(
      rows,
      deliveries.filter((d) => municipal.has(d.tenantId)),
    ),
    accounts: prefectureAccounts.map(rowOf),
    sources: {
      insightFollowers: followers.some((r) => r.cur_n > 0),
      deliveryStats: deliveries.some((d) => d.hasStats),
      deliveryRecords: (await reader.present()).has('deliveries'),
    },
  };
}

function totalsOf(rows: OverviewRow[], deliveries: DeliveryFigures[]): Overview['totals'] {
  const partial: FigureName[] = [];
  const sum = (name: FigureName, values: Figure[]): Figure => {
    const s = sumKnown(values);
    if (s.partial && s.value !== null) partial.push(name);
    return s.value;
  };
  const friends = sum(
    'friends',
    rows.map((r) => r.friends),
  );
  const blocks = sum(
    'blocks',
    rows.map((r) => r.blocks),
  );
  const both = rows.filter((r) => r.friends !== null && r.population);
  const withBlocks = rows.filter((r) => r.friends !== null && r.blocks !== null);
  const agg = aggregateDeliveries(deliveries);
  const missing: Missing = { ...agg.missing };
  const perPop = ratio(
    both.reduce((a, r) => a + r.friends!, 0),
    both.length ? both.reduce((a, r) => a + r.population!, 0) : null,
  );
  const br = withBlocks.length
    ? blockRate({
        blocks: withBlocks.reduce((a, r) => a + r.blocks!, 0),
        friends: withBlocks.reduce((a, r) => a + r.friends!, 0),
      })
    : null;
  if (friends === null) missing.friends = rows[0]?.missing.friends ?? 'not_fetched';
  if (blocks === null) missing.blocks = rows[0]?.missing.blocks ?? 'not_fetched';
  if (perPop === null) missing.friendsPerPopulation = missing.friends ?? 'no_population';
  if (br === null) missing.blockRate = missing.blocks ?? 'no_denominator';
  const friendsChange = sum(
    'friendsChange',
    rows.map((r) => r.friendsChange),
  );
  if (friendsChange === null) missing.friendsChange = rows[0]?.missing.friendsChange ?? 'not_fetched';
  const targetedReaches = sum(
    'targetedReaches',
    rows.map((r) => r.targetedReaches),
  );
  if (targetedReaches === null) missing.targetedReaches = rows[0]?.missing.targetedReaches ?? 'not_fetched';
  const pops = rows.map((r) => r.population);
  return {
    municipalities: rows.length,
    population: pops.every((x) => x === null) ? null : pops.reduce<number>((a, x) => a + (x ?? 0), 0),
    friends,
    friendsChange,
    friendsPerPopulation: roundRatio(perPop),
    targetedReaches,
    blocks,
    blockRate: roundRatio(br),
    follows: rows.reduce((a, r) => a + r.follows, 0),
    unblocks: rows.reduce((a, r) => a + r.unblocks, 0),
    unfollows: rows.reduce((a, r) => a + r.unfollows, 0),
    deliveries: deliveries.length,
    delivered: agg.delivered,
    uniqueImpressions: agg.uniqueImpressions,
    openRate: agg.openRate,
    clicks: agg.clicks,
    missing,
    partial,
  };
}
