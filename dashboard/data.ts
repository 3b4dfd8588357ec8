import { canSeeTenant, requireTenant, visibleTenants, type Principal } from '../core/auth.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { sql } from '../core/sql.ts';
import type { Tenant, TenantStore } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import {
  blockRate,
  change,
  clickRate,
  friendsPerPopulation,
  openRate,
  ratio,
  roundRatio,
  sumKnown,
  type Figure,
  type FigureName,
  type MissingReason,
} from './figures.ts';

/** The years figures can be asked for (ClickHouse's Date covers 1970–2149; LINE's accounts, far less). */
const YEARS = { min: 2000, max: 2100 };
const inYears = (v: string) => Number(v.slice(0, 4)) >= YEARS.min && Number(v.slice(0, 4)) <= YEARS.max;
/** A day that exists in the calendar (no 2026-02-30). */
const realDay = (v: string) => {
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
};
export const monthSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, '月は YYYY-MM の形式で指定してください (例: 2025-04)')
  .refine(inYears, `月は ${YEARS.min}年から${YEARS.max}年の間で指定してください`);
export const daySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, '日付は YYYY-MM-DD の形式で指定してください')
  .refine((v) => inYears(v) && realDay(v), `日付は ${YEARS.min}年から${YEARS.max}年の実在する日付で指定してください`);

const DAY_MS = 86_400_000;
const JST_MS = 9 * 3_600_000;

/** Today in Asia/Tokyo, YYYY-MM-DD. */
export function tokyoToday(now = Date.now()): string {
  return new Date(now + JST_MS).toISOString().slice(0, 10);
}

export function currentMonth(now = Date.now()): string {
  return tokyoToday(now).slice(0, 7);
}

/** First and last day of a month, and the month `offset` months away. */
export function monthBounds(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

export function addMonths(month: string, offset: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m - 1 + offset, 1));
  return d.toISOString().slice(0, 7);
}

export function addDays(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC instant a Tokyo day starts, as ClickHouse DateTime64 text. */
function tokyoMidnight(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - JST_MS).toISOString().replace('T', ' ').replace('Z', '');
}

/** 令和7年4月 */
export function warekiMonth(month: string): string {
  const d = new Date(`${month}-15T00:00:00+09:00`);
  return new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
    era: 'long',
    year: 'numeric',
    month: 'long',
    timeZone: 'Asia/Tokyo',
  }).format(d);
}

type Missing = Partial<Record<FigureName, MissingReason>>;

export interface DeliveryFigures {
  tenantId: string;
  kind: string;
  key: string;
  title: string;
  sentAt: string;
  hasStats: boolean;
  delivered: Figure;
  uniqueImpressions: Figure;
  clicks: Figure;
  openRate: Figure;
  clickRate: Figure;
  missing: Missing;
}

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

export interface MunicipalityDay {
  day: string;
  followers: Figure;
  targetedReaches: Figure;
  blocks: Figure;
  /** Whether LINE's figures for this day are stored (null values then mean the privacy threshold). */
  insight: boolean;
  follows: number;
  unblocks: number;
  unfollows: number;
}

/** Friends of a tenant by registered attribute (a separate call: it reads every resident's row). */
export interface AttributeBreakdown {
  tenantId: string;
  /** Whether this installation records residents' attributes at all. */
  available: boolean;
  /** Per item and value (ids as delivery/ stores them), with the names people read. */
  items: Array<{ item: string; itemLabel: string; value: string; label: string; residents: number }>;
  /** When the counts were taken (they are kept for a minute). */
  computedAt: string;
}

export interface MunicipalityView {
  tenant: Pick<Tenant, 'id' | 'name' | 'population' | 'kind'>;
  from: string;
  to: string;
  days: MunicipalityDay[];
  deliveries: DeliveryFigures[];
  summary: {
    friends: Figure;
    friendsAsOf: string | null;
    follows: number;
    unblocks: number;
    unfollows: number;
    deliveries: number;
    openRate: Figure;
    missing: Missing;
  };
}

type Tup = [number | string | null, number | string | null, number | string | null];
const num = (v: unknown): Figure => (v === null || v === undefined ? null : Number(v));

/**
 * The figures behind the overview and municipality pages (and their API): queries over the
 * rollups and LINE's Insight tables, scoped to the tenants the caller may see.
 */
export class DashboardData {
  #tables: { at: number; names: Set<string> } | undefined;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly tenants: TenantStore,
  ) {}

  async #rows<T>(name: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.ch.query({ query: sql(name), query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  /** Optional tables owned by other features, checked at most once a minute. */
  async #present(): Promise<Set<string>> {
    if (this.#tables && Date.now() - this.#tables.at < 60_000) return this.#tables.names;
    const rows = await this.#rows<{ name: string }>('dashboard.tables_present', {
      names: [
        'deliveries',
        'resident_attributes',
        'resident_states',
        'delivery_categories',
        'delivery_attribute_items',
      ],
    });
    this.#tables = { at: Date.now(), names: new Set(rows.map((r) => r.name)) };
    return this.#tables.names;
  }

  async deliveries(tenantIds: string[], fromDay: string, toDayInclusive: string): Promise<DeliveryFigures[]> {
    if (tenantIds.length === 0) return [];
    const withRecords = (await this.#present()).has('deliveries');
    const rows = await this.#rows<{
      tenant_id: string;
      kind: string;
      key: string;
      sent_ms: string;
      has_stats: number;
      delivered: unknown;
      unique_impression: unknown;
      unique_click: unknown;
      title: string;
      accepted: unknown;
    }>(withRecords ? 'dashboard.deliveries_with_records' : 'dashboard.deliveries', {
      tenants: tenantIds,
      from: tokyoMidnight(fromDay),
      to: tokyoMidnight(addDays(toDayInclusive, 1)),
    });
    return rows.map((r) => {
      const hasStats = Number(r.has_stats) === 1;
      const delivered = num(r.delivered) ?? num(r.accepted);
      const f = { delivered, uniqueImpressions: num(r.unique_impression), clicks: num(r.unique_click) };
      const missing: Missing = {};
      const why: MissingReason = hasStats ? 'privacy' : 'not_fetched';
      if (f.uniqueImpressions === null) missing.uniqueImpressions = why;
      if (f.clicks === null) missing.clicks = why;
      if (f.delivered === null) missing.delivered = hasStats && r.kind === 'aggregation_unit' ? 'no_source' : why;
      const o = openRate(f);
      if (o === null) missing.openRate = missing.uniqueImpressions ?? missing.delivered ?? 'no_denominator';
      const c = clickRate(f);
      if (c === null) missing.clickRate = missing.clicks ?? missing.delivered ?? 'no_denominator';
      return {
        tenantId: r.tenant_id,
        kind: r.kind,
        key: r.key,
        title: r.title || r.key,
        sentAt: new Date(Number(r.sent_ms)).toISOString(),
        hasStats,
        ...f,
        openRate: roundRatio(o),
        clickRate: roundRatio(c),
        missing,
      };
    });
  }

  /** One row per municipality the caller may see, for a month (Asia/Tokyo). */
  async overview(p: Principal, month: string): Promise<Overview> {
    monthSchema.parse(month);
    const { from, to } = monthBounds(month);
    const prevFrom = monthBounds(addMonths(month, -1)).from;
    const sparkFrom = monthBounds(addMonths(month, -11)).from;
    const visible = (await this.tenants.list()).filter((t) => canSeeTenant(p, t.id));
    const municipalities = visible.filter((t) => t.kind === 'municipality');
    // the prefecture's own accounts: shown beside the municipalities, never in their totals
    const prefectureAccounts = visible.filter((t) => t.kind === 'prefecture');
    const ids = [...municipalities, ...prefectureAccounts].map((t) => t.id);

    const [followers, webhooks, deliveries] = ids.length
      ? await Promise.all([
          this.#rows<{ tenant_id: string; cur_n: string; cur_day: string; cur: Tup; prev_n: string; prev: Tup }>(
            'dashboard.followers_month_end',
            { tenants: ids, from, to, prevFrom },
          ),
          this.#rows<{ tenant_id: string; month: string; follows: string; unblocks: string; unfollows: string }>(
            'dashboard.webhooks_per_month',
            { tenants: ids, from: sparkFrom, to },
          ),
          this.deliveries(ids, from, to),
        ])
      : [[], [], []];

    const fByTenant = new Map(followers.map((r) => [r.tenant_id, r]));
    const months = Array.from({ length: 12 }, (_, i) => addMonths(month, i - 11));
    const wByTenant = new Map<string, Map<string, { follows: number; unblocks: number; unfollows: number }>>();
    for (const r of webhooks) {
      const m = wByTenant.get(r.tenant_id) ?? new Map();
      m.set(r.month.slice(0, 7), {
        follows: Number(r.follows),
        unblocks: Number(r.unblocks),
        unfollows: Number(r.unfollows),
      });
      wByTenant.set(r.tenant_id, m);
    }
    const dByTenant = new Map<string, DeliveryFigures[]>();
    for (const d of deliveries) dByTenant.set(d.tenantId, [...(dByTenant.get(d.tenantId) ?? []), d]);

    const rowOf = (t: Tenant): OverviewRow => {
      const missing: Missing = {};
      const f = fByTenant.get(t.id);
      const hasCur = !!f && Number(f.cur_n) > 0;
      const hasPrev = !!f && Number(f.prev_n) > 0;
      const cur = hasCur ? f.cur.map(num) : [null, null, null];
      const prev = hasPrev ? f.prev.map(num) : [null, null, null];
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
      monthLabel: warekiMonth(month),
      from,
      to,
      rows,
      totals: totalsOf(
        rows,
        deliveries.filter((d) => municipal.has(d.tenantId)),
      ),
      accounts: prefectureAccounts.map(rowOf),
      sources: {
        insightFollowers: followers.some((r) => Number(r.cur_n) > 0),
        deliveryStats: deliveries.some((d) => d.hasStats),
        deliveryRecords: (await this.#present()).has('deliveries'),
      },
    };
  }

  /** One municipality's days, deliveries and residents' attributes (403 for another tenant). */
  async municipality(
    p: Principal,
    tenantId: string,
    range: { from?: string; to?: string } = {},
  ): Promise<MunicipalityView> {
    requireTenant(p, tenantId);
    const tenant = await this.tenants.require(tenantId);
    const to = range.to ? daySchema.parse(range.to) : tokyoToday();
    const from = range.from ? daySchema.parse(range.from) : addDays(to, -364);
    if (from > to) throw new AppError('invalid_range', '開始日が終了日より後になっています', 400);
    if (Date.parse(to) - Date.parse(from) > 3 * 366 * DAY_MS)
      throw new AppError('invalid_range', '期間は 3 年以内で指定してください', 400);

    const [webhooks, followers, deliveries] = await Promise.all([
      this.#rows<{ day_iso: string; follows: string; unblocks: string; unfollows: string }>(
        'dashboard.webhooks_per_day',
        { tenant: tenantId, from, to },
      ),
      this.#rows<{ day_iso: string; followers: unknown; targeted_reaches: unknown; blocks: unknown }>(
        'dashboard.followers_per_day',
        { tenant: tenantId, from, to },
      ),
      this.deliveries([tenantId], from, to),
    ]);
    const wMap = new Map(webhooks.map((r) => [r.day_iso, r]));
    const fMap = new Map(followers.map((r) => [r.day_iso, r]));
    const days: MunicipalityDay[] = [];
    for (let d = from; d <= to; d = addDays(d, 1)) {
      const w = wMap.get(d);
      const f = fMap.get(d);
      days.push({
        day: d,
        followers: num(f?.followers),
        targetedReaches: num(f?.targeted_reaches),
        blocks: num(f?.blocks),
        insight: !!f,
        follows: Number(w?.follows ?? 0),
        unblocks: Number(w?.unblocks ?? 0),
        unfollows: Number(w?.unfollows ?? 0),
      });
    }
    const lastInsight = [...days].reverse().find((d) => d.insight);
    const agg = aggregateDeliveries(deliveries);
    const missing: Missing = { ...agg.missing };
    if (!lastInsight) missing.friends = 'not_fetched';
    else if (lastInsight.followers === null) missing.friends = 'privacy';
    return {
      tenant: { id: tenant.id, name: tenant.name, population: tenant.population, kind: tenant.kind },
      from,
      to,
      days,
      deliveries,
      summary: {
        friends: lastInsight?.followers ?? null,
        friendsAsOf: lastInsight?.day ?? null,
        follows: days.reduce((a, d) => a + d.follows, 0),
        unblocks: days.reduce((a, d) => a + d.unblocks, 0),
        unfollows: days.reduce((a, d) => a + d.unfollows, 0),
        deliveries: deliveries.length,
        openRate: agg.openRate,
        missing,
      },
    };
  }

  #attributes = new Map<string, { at: number; value: AttributeBreakdown }>();

  /** Friends by registered attribute, counted at most once a minute per tenant (403 for another tenant). */
  async attributes(p: Principal, tenantId: string): Promise<AttributeBreakdown> {
    requireTenant(p, tenantId);
    await this.tenants.require(tenantId);
    const hit = this.#attributes.get(tenantId);
    if (hit && Date.now() - hit.at < 60_000) return hit.value;
    const present = await this.#present();
    const available = present.has('resident_attributes') && present.has('resident_states');
    const year = Number(new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 4));
    const rows = available
      ? await this.#rows<{ item: string; value: string; residents: string }>('dashboard.resident_attributes', {
          tenant: tenantId,
          year,
        })
      : [];
    const names =
      present.has('delivery_categories') && present.has('delivery_attribute_items')
        ? await this.#rows<{ kind: string; id: string; name: string; options: string }>('dashboard.attribute_names', {
            tenant: tenantId,
          })
        : [];
    const label = attributeLabeller(names);
    // age groups in age order, the rest as counted (most first, as the query gives them)
    const age = (v: string) => (v === '不明' ? 999 : v === '10代以下' ? 0 : parseInt(v, 10));
    const order = (a: { item: string; value: string }, i: number) => (a.item === 'birth_year' ? age(a.value) : i);
    const items = rows
      .map((a, i) => ({ a, key: order(a, i) }))
      .sort((x, y) => (x.a.item < y.a.item ? -1 : x.a.item > y.a.item ? 1 : x.key - y.key))
      .map(({ a }) => ({
        item: a.item,
        itemLabel: label.item(a.item),
        value: a.value,
        label: label.value(a.item, a.value),
        residents: Number(a.residents),
      }));
    const value: AttributeBreakdown = { tenantId, available, computedAt: new Date().toISOString(), items };
    this.#attributes.set(tenantId, { at: Date.now(), value });
    return value;
  }

  /** The tenants a caller may see (for navigation). */
  async visible(p: Principal): Promise<Tenant[]> {
    const all = await this.tenants.list();
    const ok = new Set(
      visibleTenants(
        p,
        all.map((t) => t.id),
      ),
    );
    return all.filter((t) => ok.has(t.id));
  }
}

/** A period's delivery figures: open rate over the deliveries where both parts are known. */
export function aggregateDeliveries(ds: DeliveryFigures[]): {
  delivered: Figure;
  uniqueImpressions: Figure;
  openRate: Figure;
  clicks: Figure;
  missing: Missing;
} {
  const missing: Missing = {};
  if (ds.length === 0) {
    for (const k of ['delivered', 'uniqueImpressions', 'openRate', 'clicks'] as const) missing[k] = 'no_deliveries';
    return { delivered: null, uniqueImpressions: null, openRate: null, clicks: null, missing };
  }
  const delivered = sumKnown(ds.map((d) => d.delivered)).value;
  const uniqueImpressions = sumKnown(ds.map((d) => d.uniqueImpressions)).value;
  const clicks = sumKnown(ds.map((d) => d.clicks)).value;
  const pairs = ds.filter((d) => d.delivered !== null && d.uniqueImpressions !== null);
  const rate = pairs.length
    ? openRate({
        delivered: pairs.reduce((a, d) => a + d.delivered!, 0),
        uniqueImpressions: pairs.reduce((a, d) => a + d.uniqueImpressions!, 0),
      })
    : null;
  const firstReason = (k: FigureName): MissingReason =>
    ds.map((d) => d.missing[k]).find((r) => r !== undefined) ?? 'no_denominator';
  if (delivered === null) missing.delivered = firstReason('delivered');
  if (uniqueImpressions === null) missing.uniqueImpressions = firstReason('uniqueImpressions');
  if (clicks === null) missing.clicks = firstReason('clicks');
  if (rate === null) missing.openRate = firstReason('openRate');
  return { delivered, uniqueImpressions, openRate: roundRatio(rate), clicks, missing };
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

/** Built-in attribute items as the breakdown shows them (birth years are counted by age group). */
const ITEM_LABELS: Record<string, string> = {
  lifestyle: '生活スタイル',
  birth_year: '年代 (生まれ年から)',
  gender: '性別',
  residence: 'お住まい',
  news_areas: '知りたい地域',
  interests: '関心のある分野',
};

/** Labels of built-in options (ids as delivery/ stores them). */
const VALUE_LABELS: Record<string, Record<string, string>> = {
  gender: { female: '女性', male: '男性', other: 'その他・回答しない' },
  lifestyle: {
    worker: '会社員・公務員',
    self: '自営業',
    student: '学生',
    homemaker: '家事専業',
    retired: '退職・年金生活',
    other: 'その他',
  },
};

/**
 * Names for attribute items and values: built-in labels, the tenant's areas and interest tree
 * (大 › 中), its extra items and their options; an id nobody named shows as it is.
 */
function attributeLabeller(rows: Array<{ kind: string; id: string; name: string; options: string }>) {
  const categories = new Map<string, string>();
  const items = new Map<string, { label: string; options: Map<string, string> }>();
  for (const r of rows) {
    if (r.kind === 'category') categories.set(r.id, r.name);
    else {
      let options: Array<{ id: string; label: string }> = [];
      try {
        options = JSON.parse(r.options) as typeof options;
      } catch {
        /* an item without readable options keeps its ids */
      }
      items.set(`x:${r.id}`, { label: r.name, options: new Map(options.map((o) => [o.id, o.label])) });
    }
  }
  return {
    item: (item: string) => ITEM_LABELS[item] ?? items.get(item)?.label ?? item,
    value: (item: string, value: string): string => {
      if (item === 'interests')
        return value
          .split('/')
          .map((id) => categories.get(id) ?? id)
          .join(' › ');
      if (item === 'residence' || item === 'news_areas') return categories.get(value) ?? value;
      if (item === 'birth_year') return value;
      return VALUE_LABELS[item]?.[value] ?? items.get(item)?.options.get(value) ?? value;
    },
  };
}
