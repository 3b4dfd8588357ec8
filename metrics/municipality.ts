import { AppError } from '../core/errors.ts';
import type { Tenant } from '../core/tenants.ts';
import { addDays, daySchema, tokyoToday } from '../core/time.ts';
import { aggregateDeliveries, type DeliveryFigures, deliveryFigures, type Missing } from './deliveries.ts';
import type { Figure } from './figures.ts';
import { type MetricsReader, num } from './reader.ts';

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
    reader.rows<{ day_iso: string; follows: string; unblocks: string; unfollows: string }>('metrics.webhooks_per_day', {
      tenant: tenantId,
      from,
      to,
    }),
    reader.rows<{ day_iso: string; followers: unknown; targeted_reaches: unknown; blocks: unknown }>(
      'metrics.followers_per_day',
      { tenant: tenantId, from, to },
    ),
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
