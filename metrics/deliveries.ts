import { query } from '../core/clickhouse.ts';
import { addDays, tokyoMidnight } from '../core/time.ts';
import { z } from '../core/zod.ts';
import {
  clickRate,
  openRate,
  roundRatio,
  sumKnown,
  type Figure,
  type FigureName,
  type MissingReason,
} from './figures.ts';
import { figure, int64, type MetricsReader } from './reader.ts';

// A delivery LINE tracks, its latest ready statistics (has_stats 0 and NULLs when none yet) and, with
// delivery's records, its title and recipients accepted (NULL: no record).
const deliveryRow = z.object({
  tenant_id: z.string(),
  kind: z.string(),
  key: z.string(),
  sent_ms: int64,
  has_stats: z.number(),
  delivered: figure,
  unique_impression: figure,
  unique_click: figure,
  title: z.string(),
  accepted: figure,
});

/** Why each figure of a row is missing, where it is. */
export type Missing = Partial<Record<FigureName, MissingReason>>;

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

/** Each delivery of these tenants sent in [fromDay, toDayInclusive] (Tokyo days), with LINE's figures where known. */
export async function deliveryFigures(
  reader: MetricsReader,
  tenantIds: string[],
  fromDay: string,
  toDayInclusive: string,
): Promise<DeliveryFigures[]> {
  if (tenantIds.length === 0) return [];
  const withRecords = (await reader.present()).has('deliveries');
  const params = { tenants: tenantIds, from: tokyoMidnight(fromDay), to: tokyoMidnight(addDays(toDayInclusive, 1)) };
  const rows = withRecords
    ? await query(reader.ch, 'metrics.deliveries_with_records', params, deliveryRow)
    : await query(reader.ch, 'metrics.deliveries', params, deliveryRow);
  return rows.map((r) => {
    const hasStats = r.has_stats === 1;
    const delivered = r.delivered ?? r.accepted;
    const f = { delivered, uniqueImpressions: r.unique_impression, clicks: r.unique_click };
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
      sentAt: new Date(r.sent_ms).toISOString(),
      hasStats,
      ...f,
      openRate: roundRatio(o),
      clickRate: roundRatio(c),
      missing,
    };
  });
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
