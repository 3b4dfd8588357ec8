/**
 * metrics/: the figures Tayori shows and reports — their definitions (figures.ts), the queries that
 * compute them, split by view (overview, municipality, attributes, deliveries), and the chart specs
 * with their server-side SVG/PNG rendering (charts.ts). It takes tenant ids, never a signed-in
 * caller: the dashboard decides what a caller may see, reports read every tenant. Both import this
 * folder and never each other (ingest → ClickHouse → metrics → dashboard / reports).
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Tenant, TenantStore } from '../core/tenants.ts';
import { type AttributeBreakdown, AttributeCounts } from './attributes.ts';
import { type DeliveryFigures, deliveryFigures } from './deliveries.ts';
import { type MunicipalityView, municipality } from './municipality.ts';
import { type Overview, overview } from './overview.ts';
import { type MileageHistory, type MileageOverview, mileageHistory, mileageOverview } from './mileage.ts';
import { MetricsReader } from './reader.ts';
import { type FaqCounts, type FaqMonth, type FaqTotals, faqCounts, faqMonth, faqTenantTotals } from './faq.ts';
import { type FindingsRequest, findingsOf, findingsOfMany } from './findings/index.ts';
import type { FindingsResult } from './findings/compute.ts';

export type { AttributeBreakdown } from './attributes.ts';
export {
  PALETTE,
  attributeChartOptions,
  deliveryRatesOptions,
  followsVsBlocksOptions,
  friendsChartOptions,
  mileageActivityOptions,
  mileageGrowthOptions,
  renderChartSvg,
  sparklineOptions,
  type ChartOptions,
} from './charts.ts';
export { aggregateDeliveries, type DeliveryFigures, type Missing } from './deliveries.ts';
export * as figures from './figures.ts';
export {
  DASH,
  FIGURES,
  MISSING_REASONS,
  blockRate,
  clickRate,
  formatChange,
  formatCount,
  formatPercent,
  friendsPerPopulation,
  openRate,
  ratio,
  type Figure,
  type FigureName,
  type MissingReason,
} from './figures.ts';
export type { MunicipalityDay, MunicipalityView } from './municipality.ts';
export {
  MILEAGE_FIGURES,
  MILEAGE_METHODS,
  fiscalYearLabel,
  fiscalYearMonths,
  fiscalYearOf,
  mileageValue,
  type MileageActivity,
  type MileageFigureName,
  type MileageHistory,
  type MileageHistoryRow,
  type MileageMethod,
  type MileageMonth,
  type MileageOverview,
  type MileageProgramme,
  type MileageRow,
} from './mileage.ts';
export type { Overview, OverviewRow } from './overview.ts';
export {
  FAQ_AI_NODE,
  FAQ_FIGURES,
  FAQ_TOP_NODE,
  emptyFaqNodeCounts,
  faqRate,
  sumFaqTotals,
  type FaqCounts,
  type FaqFigureName,
  type FaqMonth,
  type FaqMonthRow,
  type FaqNodeCounts,
  type FaqTopQuestion,
  type FaqTotals,
} from './faq.ts';
export * from './findings/index.ts';

/** The figures of the tenants asked for (the caller has decided which ones may be seen). */
export class Metrics {
  readonly #reader: MetricsReader;
  readonly #attributes: AttributeCounts;

  constructor(
    ch: ClickHouseClient,
    private readonly tenants: TenantStore,
  ) {
    this.#reader = new MetricsReader(ch);
    this.#attributes = new AttributeCounts(this.#reader);
  }

  /** The overview of a month for these tenants (municipalities as rows, the prefecture's own accounts beside). */
  async overview(tenantIds: readonly string[], month: string): Promise<Overview> {
    const ids = new Set(tenantIds);
    return overview(
      this.#reader,
      (await this.tenants.list()).filter((t) => ids.has(t.id)),
      month,
    );
  }

  /** One municipality's days and deliveries; 404 for a tenant that is not registered. */
  async municipality(tenantId: string, range: { from?: string; to?: string } = {}): Promise<MunicipalityView> {
    return municipality(this.#reader, await this.#tenant(tenantId), range);
  }

  /** Friends of a tenant by registered attribute (kept for a minute). */
  async attributes(tenantId: string): Promise<AttributeBreakdown> {
    await this.#tenant(tenantId);
    return this.#attributes.of(tenantId);
  }

  /** Each delivery of these tenants sent in [from, to] (Tokyo days). */
  deliveries(tenantIds: string[], from: string, to: string): Promise<DeliveryFigures[]> {
    return deliveryFigures(this.#reader, tenantIds, from, to);
  }

  /**
   * The health-mileage figures of a month for these tenants' municipalities: the month, the fiscal
   * year so far (April to the month) and the prefecture-wide total. `today` (Tokyo) is the day valid
   * cards are counted for while the month runs.
   */
  async mileage(tenantIds: readonly string[], month: string, opts: { today?: string } = {}): Promise<MileageOverview> {
    return mileageOverview(this.#reader, await this.#listed(tenantIds), month, opts.today);
  }

  /** The health-mileage figures month by month over a period ('YYYY-MM', inclusive). */
  async mileageHistory(
    tenantIds: readonly string[],
    period: { from: string; to: string },
    opts: { today?: string } = {},
  ): Promise<MileageHistory> {
    return mileageHistory(this.#reader, await this.#listed(tenantIds), period, opts.today);
  }

  /** The FAQ chatbot's figures of a month ('YYYY-MM') for these tenants, with the prefecture-wide total. */
  async faq(tenantIds: readonly string[], month: string): Promise<FaqMonth> {
    return faqMonth(this.#reader, await this.#listed(tenantIds), month);
  }

  /** One tenant's FAQ counts in [from, to) (epoch ms): per node, kind, day, day and node, month and node. */
  faqCounts(tenantId: string, from: number, to: number): Promise<FaqCounts> {
    return faqCounts(this.#reader, tenantId, from, to);
  }

  /** Each tenant's FAQ totals in [from, to) (epoch ms). */
  faqTotals(tenantIds: readonly string[], from: number, to: number): Promise<Map<string, FaqTotals>> {
    return faqTenantTotals(this.#reader, tenantIds, from, to);
  }

  /** The findings of a period for one scope (a municipality, or prefecture-wide when focus is null). */
  findings(req: FindingsRequest): Promise<FindingsResult> {
    return findingsOf(this.#reader, req);
  }

  /** The findings of several scopes over one read of the period. */
  findingsMany(
    ...args: Parameters<typeof findingsOfMany> extends [unknown, ...infer R] ? R : never
  ): Promise<FindingsResult[]> {
    return findingsOfMany(this.#reader, ...args);
  }

  async #listed(tenantIds: readonly string[]): Promise<Tenant[]> {
    const ids = new Set(tenantIds);
    return (await this.tenants.list()).filter((t) => ids.has(t.id));
  }

  #tenant(id: string): Promise<Tenant> {
    return this.tenants.require(id);
  }
}
