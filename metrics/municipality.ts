import { query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import type { Tenant } from '../core/tenants.ts';
import { addDays, daySchema, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { aggregateDeliveries, type DeliveryFigures, deliveryFigures, type Missing } from './deliveries.ts';
import type { Figure } from './figures.ts';
import { figure, int64, type MetricsReader } from './reader.ts';

const webhookDayRow = z.object({ day_iso: z.string(), follows: int64, unblocks: int64, unfollows: int64 });
const followersDayRow = z.object({ day_iso: z.string(), followers: figure, targeted_reaches: figure, blocks: figure });

const DAY_MS = 86_400_000;

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

/** One municipality's days and deliveries over a range of Tokyo days (the last 365 by default). */
export async function municipality(
  reader: MetricsReader,
  tenant: Tenant,
  range: { from?: string; to?: string } = {},
): Promise<MunicipalityView> {
  const tenantId = tenant.id;
  const to = range.to ? daySchema.parse(range.to) : tokyoToday();
  const from = range.from ? daySchema.parse(range.from) : addDays(to, -364);
  if (from > to) throw new AppError('invalid_range', '開始日が終了日より後になっています', 400);
  if (Date.parse(to) - Date.parse(from) > 3 * 366 * DAY_MS)
    throw new AppError('invalid_range', '期間は 3 年以内で指定してください', 400);

  const [webhooks, followers, deliveries] = await Promise.all([
    query(reader.ch, 'metrics.webhooks_per_day', { tenant: tenantId, from, to }, webhookDayRow),
    query(reader.ch, 'metrics.followers_per_day', { tenant: tenantId, from, to }, followersDayRow),
    deliveryFigures(reader, [tenantId], from, to),
  ]);
  const wMap = new Map(webhooks.map((r) => [r.day_iso, r]));
  const fMap = new Map(followers.map((r) => [r.day_iso, r]));
  const days: MunicipalityDay[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const w = wMap.get(d);
    const f = fMap.get(d);
    days.push({
      day: d,
      followers: f?.followers ?? null,
      targetedReaches: f?.targeted_reaches ?? null,
      blocks: f?.blocks ?? null,
      insight: !!f,
      follows: w?.follows ?? 0,
      unblocks: w?.unblocks ?? 0,
      unfollows: w?.unfollows ?? 0,
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
