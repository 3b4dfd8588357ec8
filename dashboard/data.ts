import { canSeeEvery, requireTenant, visibleTenants, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Tenant, TenantStore } from '../core/tenants.ts';
import {
  type AttributeBreakdown,
  type FindingsResult,
  Metrics,
  type MileageOverview,
  type MunicipalityView,
  type Overview,
} from '../metrics/index.ts';

/**
 * The figures a signed-in caller may see: metrics/ scoped to the caller's tenants here, in one place
 * (a municipality account sees its own tenant only; another tenant's page or API answers 403).
 */
export class DashboardData {
  readonly metrics: Metrics;

  constructor(
    ch: ClickHouseClient,
    private readonly tenants: TenantStore,
  ) {
    this.metrics = new Metrics(ch, tenants);
  }

  /** The month's overview of every tenant the caller may see. */
  async overview(p: Principal, month: string): Promise<Overview> {
    return this.metrics.overview(
      (await this.visible(p)).map((t) => t.id),
      month,
    );
  }

  /** The month's health-mileage figures of every municipality the caller may see (a municipality: its own). */
  async mileage(p: Principal, month: string, opts: { today?: string } = {}): Promise<MileageOverview> {
    return this.metrics.mileage(
      (await this.visible(p)).map((t) => t.id),
      month,
      opts,
    );
  }

  /** One municipality's health-mileage figures of a month (403 for another tenant). */
  async municipalityMileage(p: Principal, tenantId: string, month: string): Promise<MileageOverview> {
    requireTenant(p, tenantId);
    return this.metrics.mileage([tenantId], month);
  }

  /** One municipality's days and deliveries (403 for another tenant). */
  municipality(p: Principal, tenantId: string, range: { from?: string; to?: string } = {}): Promise<MunicipalityView> {
    requireTenant(p, tenantId);
    return this.metrics.municipality(tenantId, range);
  }

  /** Friends by registered attribute (403 for another tenant). */
  attributes(p: Principal, tenantId: string): Promise<AttributeBreakdown> {
    requireTenant(p, tenantId);
    return this.metrics.attributes(tenantId);
  }

  /**
   * The findings of a period for a municipality (403 for another tenant) or prefecture-wide (null:
   * not for a municipality account). Peers compare every municipality; only accounts that see every
   * tenant get the others' names and figures, a municipality its position in its population band.
   */
  async findings(p: Principal, tenantId: string | null, period: { from: string; to: string }): Promise<FindingsResult> {
    if (tenantId) requireTenant(p, tenantId);
    else if (!canSeeEvery(p))
      throw new AppError('forbidden', '県全体の分析は県・受託者・管理者のアカウントで見られます', 403);
    const municipalities = (await this.tenants.list()).filter((t) => t.kind === 'municipality');
    const focus = tenantId ? await this.tenants.require(tenantId) : null;
    return this.metrics.findings({ municipalities, focus, period, namedPeers: canSeeEvery(p) });
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
