/**
 * The figures of the final report over a period of months: each month's overview (the dashboard's
 * query), the period's deliveries with who they went to, clicks by the audience's attributes, and
 * per municipality and prefecture-wide the period's registrations, growth, blocks, opens and clicks.
 */
import { query } from '../../core/clickhouse.ts';
import { monthBounds, tokyoToday } from '../../core/time.ts';
import { type RolloutBoard, RolloutStore } from '../rollout.ts';
import { builtinOptionLabel, CLICK_DIMENSION_LABELS } from '../../core/vocabulary.ts';
import { z } from '../../core/zod.ts';
import {
  Metrics,
  aggregateDeliveries,
  figures,
  ratio,
  type Figure,
  type FigureName,
  type MileageHistory,
  type MissingReason,
  type Overview,
  type OverviewRow,
} from '../../metrics/index.ts';
import { monthsOf, type FigureKind } from './common.ts';
import { indexTenants, type DeliveryFigures, type ReportSources, type TenantIndex } from './sources.ts';

const ALL = 100_000;

export interface Audience {
  label: string;
  type: 'all' | 'segment' | 'none';
  targets: number | null;
}

/** A period's delivery figures (open and click rates over the deliveries where both parts are known). */
export type DeliveryTotals = ReturnType<typeof deliveryFigures>;

export type PeriodRow = Pick<
  OverviewRow,
  'population' | 'friendsPerPopulation' | 'blocks' | 'blockRate' | 'follows' | 'unblocks' | 'unfollows'
> &
  Omit<DeliveryTotals, 'missing'> & {
    tenantId: string | null;
    name: string;
    total: boolean;
    /** Friends at the end of the month before the period, and at the period's end. */
    friendsStart: Figure;
    friendsEnd: Figure;
    growth: Figure;
    missing: Partial<Record<PeriodKey, MissingReason>>;
    partial: PeriodKey[];
  };

export type PeriodKey =
  | 'population'
  | 'friendsStart'
  | 'friendsEnd'
  | 'growth'
  | 'friendsPerPopulation'
  | 'blocks'
  | 'blockRate'
  | 'follows'
  | 'unfollows'
  | 'deliveries'
  | 'delivered'
  | 'uniqueImpressions'
  | 'openRate'
  | 'clicks'
  | 'clickRate';

export type AudienceGroup = Audience & DeliveryTotals;

export interface ClickBucket {
  dimension: string;
  bucket: string;
  /** A residence bucket's area name (its id is what clicks are counted under). */
  name?: string;
  clicks: number;
  deliveries: number;
}

export interface FinalData {
  from: string;
  to: string;
  months: string[];
  tenants: TenantIndex;
  overviews: Overview[];
  /** The health-mileage figures month by month, per municipality and by activity. */
  mileage: MileageHistory;
  deliveries: DeliveryFigures[];
  audiences: Map<string, Audience>;
  rows: PeriodRow[];
  audienceGroups: AudienceGroup[];
  clickBuckets: ClickBucket[];
  meetings: { total: number; byKind: Array<[string, number]> };
  issues: { total: number; byStatus: Array<[string, number]> };
  /** 業務工程表 as of the period's last day (or today, while the period runs). */
  rollout?: RolloutBoard;
}

export const audienceKey = (tenantId: string, key: string) => `${tenantId}\u0000${key}`;

export const NO_RECORD: Audience = { label: '配信記録なし (LINE の管理画面などから配信)', type: 'none', targets: null };

/** A rate over the deliveries where both parts are known (as the dashboard computes the open rate). */
function clickRateOf(ds: readonly DeliveryFigures[]): Figure {
  const pairs = ds.filter((d) => d.delivered !== null && d.clicks !== null);
  if (!pairs.length) return null;
  return figures.roundRatio(
    ratio(
      pairs.reduce((a, d) => a + d.clicks!, 0),
      pairs.reduce((a, d) => a + d.delivered!, 0),
    ),
  );
}

function deliveryFigures(ds: readonly DeliveryFigures[]) {
  const agg = aggregateDeliveries([...ds]);
  const clickRate = clickRateOf(ds);
  const missing: Partial<Record<FigureName, MissingReason>> = { ...agg.missing };
  if (clickRate === null)
    missing.clickRate = agg.missing.clicks ?? agg.missing.delivered ?? (ds.length ? 'no_denominator' : 'no_deliveries');
  return {
    deliveries: ds.length,
    delivered: agg.delivered,
    uniqueImpressions: agg.uniqueImpressions,
    openRate: agg.openRate,
    clicks: agg.clicks,
    clickRate,
    missing,
  };
}

// Rows of sql/queries/report_documents.sql (counts and sums: 64-bit integers, quoted by a server).
const audienceRow = z.object({
  tenant_id: z.string(),
  key: z.string(),
  audience_label: z.string(),
  audience_type: z.string(),
  targets: z.coerce.number(),
});
const bucketRow = z.object({
  dimension: z.string(),
  bucket: z.string(),
  clicks: z.coerce.number(),
  deliveries: z.coerce.number(),
  bucket_name: z.string(),
});

const tokyoMidnightUtc = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00+09:00`)).toISOString().replace('T', ' ').replace('Z', '');

export async function readFinal(src: ReportSources, period: { from: string; to: string }): Promise<FinalData> {
  const months = monthsOf(period);
  const from = months[0]!;
  const to = months.at(-1)!;
  const metrics = new Metrics(src.ch, src.tenants);
  const list = await src.tenants.list();
  const tenants = indexTenants(list);
  const ids = tenants.municipalityIds;
  const fromDay = monthBounds(from).from;
  const toDay = monthBounds(to).to;
  const [overviews, mileage, deliveries, audienceRows, buckets, minutes, issues] = await Promise.all([
    // reports cover every tenant
    Promise.all(
      months.map((m) =>
        metrics.overview(
          list.map((t) => t.id),
          m,
        ),
      ),
    ),
    metrics.mileageHistory(ids, { from, to }),
    metrics.deliveries(ids, fromDay, toDay),
    ids.length ? query(src.ch, 'report_documents.delivery_audiences', { tenants: ids }, audienceRow) : [],
    ids.length
      ? query(
          src.ch,
          'report_documents.click_buckets',
          { tenants: ids, from: tokyoMidnightUtc(fromDay), to: tokyoMidnightUtc(nextDay(toDay)) },
          bucketRow,
        )
      : [],
    src.store.listMinutes({ limit: ALL }),
    src.store.listIssues({ limit: ALL }),
  ]);
  const rollout = await new RolloutStore(src.ch).board(list, toDay < tokyoToday() ? toDay : tokyoToday());
  const audiences = new Map(
    audienceRows.map((r) => [
      audienceKey(r.tenant_id, r.key),
      {
        label: r.audience_label || (r.audience_type === 'segment' ? 'セグメント' : 'すべての友だち'),
        type: r.audience_type === 'segment' ? ('segment' as const) : ('all' as const),
        targets: r.targets,
      },
    ]),
  );

  const inPeriod = minutes.filter((m) => m.heldAt.slice(0, 7) >= from && m.heldAt.slice(0, 7) <= to);
  const raised = issues.filter((i) => i.raisedOn.slice(0, 7) >= from && i.raisedOn.slice(0, 7) <= to);
  const count = <T>(xs: T[], key: (x: T) => string) => [
    ...xs.reduce((m, x) => m.set(key(x), (m.get(key(x)) ?? 0) + 1), new Map<string, number>()),
  ];

  return {
    from,
    to,
    months,
    tenants,
    mileage,
    overviews,
    deliveries,
    audiences,
    rows: periodRows(overviews, deliveries),
    audienceGroups: audienceGroups(deliveries, audiences),
    clickBuckets: buckets.map((b) => ({
      dimension: b.dimension,
      bucket: b.bucket,
      name: b.bucket_name || undefined,
      clicks: b.clicks,
      deliveries: b.deliveries,
    })),
    meetings: { total: inPeriod.length, byKind: count(inPeriod, (m) => m.kind) },
    issues: { total: raised.length, byStatus: count(raised, (i) => i.status) },
    rollout,
  };
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** Per municipality over the period, then the prefecture-wide total. */
export function periodRows(overviews: readonly Overview[], deliveries: readonly DeliveryFigures[]): PeriodRow[] {
  const first = overviews[0]!;
  const last = overviews.at(-1)!;
  const byTenant = new Map<string, DeliveryFigures[]>();
  for (const d of deliveries) byTenant.set(d.tenantId, [...(byTenant.get(d.tenantId) ?? []), d]);

  const rows: PeriodRow[] = last.rows.map((end) => {
    const start = first.rows.find((r) => r.tenantId === end.tenantId);
    const missing: PeriodRow['missing'] = {};
    const friendsStart =
      start && start.friends !== null && start.friendsChange !== null ? start.friends - start.friendsChange : null;
    if (friendsStart === null)
      missing.friendsStart = start?.missing.friendsChange ?? start?.missing.friends ?? 'not_fetched';
    const growth = figures.change(end.friends, friendsStart);
    if (growth === null) missing.growth = end.missing.friends ?? missing.friendsStart;
    for (const k of ['friendsPerPopulation', 'blocks', 'blockRate'] as const)
      if (end[k] === null) missing[k] = end.missing[k];
    if (end.friends === null) missing.friendsEnd = end.missing.friends;
    if (end.population === null) missing.population = 'no_population';
    const months = overviews.map((o) => o.rows.find((r) => r.tenantId === end.tenantId));
    const d = deliveryFigures(byTenant.get(end.tenantId) ?? []);
    Object.assign(missing, d.missing);
    return {
      tenantId: end.tenantId,
      name: end.name,
      total: false,
      population: end.population,
      friendsStart,
      friendsEnd: end.friends,
      growth,
      friendsPerPopulation: end.friendsPerPopulation,
      blocks: end.blocks,
      blockRate: end.blockRate,
      follows: months.reduce((a, r) => a + (r?.follows ?? 0), 0),
      unblocks: months.reduce((a, r) => a + (r?.unblocks ?? 0), 0),
      unfollows: months.reduce((a, r) => a + (r?.unfollows ?? 0), 0),
      ...d,
      missing,
      partial: [],
    };
  });

  const partial: PeriodKey[] = [];
  const sum = (k: PeriodKey, values: Figure[]): Figure => {
    const s = figures.sumKnown(values);
    if (s.partial && s.value !== null) partial.push(k);
    return s.value;
  };
  const friendsStart = sum(
    'friendsStart',
    rows.map((r) => r.friendsStart),
  );
  const friendsEnd = sum(
    'friendsEnd',
    rows.map((r) => r.friendsEnd),
  );
  const growth = sum(
    'growth',
    rows.map((r) => r.growth),
  );
  const t = last.totals;
  const d = deliveryFigures(deliveries);
  const missing: PeriodRow['missing'] = { ...d.missing };
  if (friendsStart === null) missing.friendsStart = rows[0]?.missing.friendsStart ?? 'not_fetched';
  if (friendsEnd === null) missing.friendsEnd = t.missing.friends ?? 'not_fetched';
  if (growth === null) missing.growth = missing.friendsStart ?? missing.friendsEnd;
  for (const k of ['friendsPerPopulation', 'blocks', 'blockRate'] as const)
    if (t[k] === null) missing[k] = t.missing[k];
  if (t.population === null) missing.population = 'no_population';
  for (const k of t.partial)
    if (k === 'friends') partial.push('friendsEnd');
    else if (k === 'blocks') partial.push('blocks');
  rows.push({
    tenantId: null,
    name: '県全体',
    total: true,
    population: t.population,
    friendsStart,
    friendsEnd,
    growth,
    friendsPerPopulation: t.friendsPerPopulation,
    blocks: t.blocks,
    blockRate: t.blockRate,
    follows: rows.reduce((a, r) => a + r.follows, 0),
    unblocks: rows.reduce((a, r) => a + r.unblocks, 0),
    unfollows: rows.reduce((a, r) => a + r.unfollows, 0),
    ...d,
    missing,
    partial: [...new Set(partial)],
  });
  return rows;
}

/** The period's deliveries by who they went to: every friend, each segment, or no record. */
export function audienceGroups(
  deliveries: readonly DeliveryFigures[],
  audiences: ReadonlyMap<string, Audience>,
): AudienceGroup[] {
  const groups = new Map<string, { a: Audience; ds: DeliveryFigures[]; targets: number | null }>();
  for (const d of deliveries) {
    const a = audiences.get(audienceKey(d.tenantId, d.key)) ?? NO_RECORD;
    const g = groups.get(a.label) ?? { a, ds: [], targets: a.targets === null ? null : 0 };
    g.ds.push(d);
    if (g.targets !== null && a.targets !== null) g.targets += a.targets;
    groups.set(a.label, g);
  }
  const rank = { all: 0, segment: 1, none: 2 } as const;
  return [...groups.values()]
    .sort((x, y) => rank[x.a.type] - rank[y.a.type] || x.a.label.localeCompare(y.a.label, 'ja'))
    .map((g) => ({ ...g.a, targets: g.targets, ...deliveryFigures(g.ds) }));
}

export interface PeriodColumn {
  key: PeriodKey;
  label: string;
  unit: string;
  kind: FigureKind;
}

/**
 * The period's columns: registrations against population, growth and blocks ('friends'), then
 * follows, blocks, deliveries, opens and clicks summed over the period ('deliveries').
 */
const PERIOD_COLUMNS: ReadonlyArray<PeriodColumn & { group: 'friends' | 'deliveries' }> = (
  [
    ['friends', 'population', '人口', '人', 'count'],
    ['friends', 'friendsStart', '期間開始時の友だち数', '人', 'count'],
    ['friends', 'friendsEnd', '期間末の友だち数', '人', 'count'],
    ['friends', 'growth', '期間中の増減', '人', 'change'],
    ['friends', 'friendsPerPopulation', '人口あたり (期間末)', '%', 'percent'],
    ['friends', 'blocks', 'ブロック数 (期間末)', '人', 'count'],
    ['friends', 'blockRate', 'ブロック率 (期間末)', '%', 'percent'],
    ['deliveries', 'follows', '友だち追加 (期間計)', '人', 'count'],
    ['deliveries', 'unfollows', '新規ブロック (期間計)', '人', 'count'],
    ['deliveries', 'deliveries', '配信数', '件', 'count'],
    ['deliveries', 'delivered', '配信人数', '人', 'count'],
    ['deliveries', 'uniqueImpressions', '開封人数', '人', 'count'],
    ['deliveries', 'openRate', '開封率', '%', 'percent'],
    ['deliveries', 'clicks', 'クリック人数', '人', 'count'],
    ['deliveries', 'clickRate', 'クリック率', '%', 'percent'],
  ] as const
).map(([group, key, label, unit, kind]) => ({ group, key, label, unit, kind }));

export const FRIENDS_COLUMNS = PERIOD_COLUMNS.filter((c) => c.group === 'friends');
export const DELIVERY_COLUMNS = PERIOD_COLUMNS.filter((c) => c.group === 'deliveries');

/** A period row's figure with why it is null and whether it is a partial total. */
export function periodCell(r: PeriodRow, key: PeriodKey): { value: Figure; reason?: MissingReason; partial: boolean } {
  const value = r[key];
  return {
    value,
    reason: value === null ? (r.missing[key] ?? 'no_source') : undefined,
    partial: r.partial.includes(key),
  };
}

/** The prefecture-wide figures of each month (from the month's overview). */
export const MONTH_COLUMNS = [
  { key: 'friends', label: '友だち数 (月末)', unit: '人', kind: 'count' },
  { key: 'friendsChange', label: '増減 (前月比)', unit: '人', kind: 'change' },
  { key: 'follows', label: '友だち追加', unit: '人', kind: 'count' },
  { key: 'unfollows', label: '新規ブロック', unit: '人', kind: 'count' },
  { key: 'blockRate', label: 'ブロック率', unit: '%', kind: 'percent' },
  { key: 'deliveries', label: '配信数', unit: '件', kind: 'count' },
  { key: 'openRate', label: '開封率', unit: '%', kind: 'percent' },
  { key: 'clicks', label: 'クリック人数', unit: '人', kind: 'count' },
] as const satisfies ReadonlyArray<{ key: FigureName; label: string; unit: string; kind: FigureKind }>;

/** Labels of the attributes clicks are split by, and of their built-in values. */
export const DIMENSION_LABELS = CLICK_DIMENSION_LABELS;

export function bucketLabel(dimension: string, bucket: string, name?: string): string {
  if (bucket === 'unknown' || bucket === '') return '未回答';
  if (name) return name;
  if (dimension === 'gender') return builtinOptionLabel('gender', bucket) ?? bucket;
  if (dimension === 'age' && /^\d{4}$/.test(bucket)) return `${bucket}年代生まれ`;
  return bucket;
}
