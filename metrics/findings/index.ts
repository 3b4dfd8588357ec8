/**
 * metrics/findings: what the period's data says — timing, frequency and blocks, content, growth,
 * peers (他の成功事例) and health mileage — each finding with its sample size and the deliveries
 * behind it, or left out with the reason. A few aggregate queries (sql/queries/findings.sql) per
 * call, whatever the number of deliveries. Takes tenant ids; the caller decides what may be seen.
 */
import type { Tenant } from '../../core/tenants.ts';
import { mileageOverview } from '../mileage.ts';
import type { MetricsReader } from '../reader.ts';
import { computeFindings, type FindingsResult, type MileageInput } from './compute.ts';
import { readRaw, type Period } from './read.ts';

export {
  MIN as FINDINGS_MIN,
  PEER_FIGURES,
  TOPICS,
  notable,
  populationBand,
  type BandRow,
  type Evidence,
  type Finding,
  type FindingsResult,
  type HeatCell,
  type LeftOut,
  type PeerFigure,
  type PeerRow,
  type Topic,
} from './compute.ts';
export { blocksAfterOptions, findingsCharts, peerComparisonOptions, timingHeatmapOptions } from './charts.ts';
export { wilson } from './stats.ts';
export { PROMOTION_PATTERN } from './read.ts';

export interface FindingsRequest {
  /** Every municipality (peers compare them all; the prefecture-wide findings pool them). */
  municipalities: readonly Tenant[];
  /** A municipality's own findings, or null for prefecture-wide. */
  focus: Tenant | null;
  /** Tokyo days, inclusive. */
  period: Period;
  /** Whether other municipalities may be named. */
  namedPeers: boolean;
}

/** Reads the period once for every municipality and computes the findings of one scope. */
export async function findingsOf(reader: MetricsReader, req: FindingsRequest): Promise<FindingsResult> {
  return (await findingsOfMany(reader, req.municipalities, req.period, [req])).at(0)!;
}

/** Several scopes over one read (the final report: prefecture-wide and each municipality). */
export async function findingsOfMany(
  reader: MetricsReader,
  municipalities: readonly Tenant[],
  period: Period,
  scopes: ReadonlyArray<Pick<FindingsRequest, 'focus' | 'namedPeers'>>,
): Promise<FindingsResult[]> {
  const ids = municipalities.map((t) => t.id);
  const [raw, mo] = await Promise.all([
    readRaw(reader, ids, period),
    mileageOverview(reader, [...municipalities], period.to.slice(0, 7)),
  ]);
  const mileage: MileageInput = {
    rows: mo.rows.map((r) => ({
      tenantId: r.tenantId,
      name: r.name,
      participants: r.figures.participants,
      reachedGoal: r.figures.reachedGoal,
      perThousand: r.participantsPerThousand,
      hasProgramme: r.programme !== null,
    })),
  };
  return scopes.map((s) =>
    computeFindings({
      raw,
      municipalities,
      focus: s.focus,
      from: period.from,
      to: period.to,
      mileage,
      namedPeers: s.namedPeers,
    }),
  );
}
