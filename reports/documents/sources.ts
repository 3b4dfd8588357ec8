/**
 * The records and figures a report is made from, read once and in parallel: metrics/'
 * figures (the same queries the dashboard's pages use, for every tenant), the month's minutes and issue
 * log with each entry's history, and the tenants' names.
 */
import type { MonthlyContributor } from './index.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import type { Tenant, TenantStore } from '../../core/tenants.ts';
import { monthBounds, tokyoToday } from '../../core/time.ts';
import {
  type DeliveryFigures,
  type FaqMonth,
  Metrics,
  type MileageOverview,
  type Overview,
} from '../../metrics/index.ts';
import type { HistoryEntry, Issue, Minutes, ReportStore } from '../store.ts';
import { type RolloutBoard, RolloutStore } from '../rollout.ts';

/** One delivery's figures, as metrics/ reads them for the dashboard too. */
export type { DeliveryFigures };

export interface ReportSources {
  ch: ClickHouseClient;
  tenants: TenantStore;
  store: ReportStore;
  /** Files other capabilities add to the monthly package (ops/). */
  contributors?: readonly MonthlyContributor[];
}

const ALL = 100_000;

export interface TenantIndex {
  list: Tenant[];
  byId: Map<string, Tenant>;
  /** The prefecture's name (e.g. 三重県), when it is registered. */
  prefecture: string | undefined;
  municipalityIds: string[];
  name(id: string): string;
}

export function indexTenants(list: Tenant[]): TenantIndex {
  const byId = new Map(list.map((t) => [t.id, t]));
  return {
    list,
    byId,
    prefecture: list.find((t) => t.kind === 'prefecture')?.name,
    municipalityIds: list.filter((t) => t.kind === 'municipality').map((t) => t.id),
    name: (id) => byId.get(id)?.name ?? id,
  };
}

export interface MonthlySources {
  month: string;
  tenants: TenantIndex;
  overview: Overview;
  /** The month's health-mileage figures of every municipality (the month and the fiscal year so far). */
  mileage: MileageOverview;
  /** The month's deliveries of every municipality (as the dashboard counts them). */
  deliveries: DeliveryFigures[];
  minutes: Minutes[];
  issues: Issue[];
  history: Map<string, Array<HistoryEntry<Issue>>>;
  /** 業務工程表 as of the month's last day (or today, for the month in progress). */
  rollout?: RolloutBoard;
  /** The month's FAQ chatbot figures of every tenant, with the prefecture-wide total and top questions. */
  faq?: FaqMonth;
  /** The month's findings, prefecture-wide (the KPI report shows the three most notable). */
  findings?: Awaited<ReturnType<Metrics['findings']>>;
}

export async function readMonthly(src: ReportSources, month: string): Promise<MonthlySources> {
  const metrics = new Metrics(src.ch, src.tenants);
  const { from, to } = monthBounds(month);
  const list = await src.tenants.list();
  // reports cover every tenant
  const [overview, mileage, faq, minutes, issues] = await Promise.all([
    metrics.overview(
      list.map((t) => t.id),
      month,
    ),
    metrics.mileage(
      list.map((t) => t.id),
      month,
    ),
    metrics.faq(
      list.map((t) => t.id),
      month,
    ),
    src.store.listMinutes({ month, limit: ALL }),
    src.store.listIssues({ month, limit: ALL }),
  ]);
  const tenants = indexTenants(list);
  const findings = metrics.findings({
    municipalities: list.filter((t) => t.kind === 'municipality'),
    focus: null,
    period: { from, to },
    namedPeers: true,
  });
  findings.catch(() => {}); // awaited (and its error thrown) below
  const today = tokyoToday();
  const [deliveries, histories, rollout] = await Promise.all([
    metrics.deliveries(
      overview.rows.map((r) => r.tenantId),
      from,
      to,
    ),
    Promise.all(issues.map((i) => src.store.issueHistory(i.id))),
    new RolloutStore(src.ch).board(list, to < today ? to : today),
  ]);
  return {
    month,
    tenants,
    overview,
    mileage,
    faq,
    deliveries,
    minutes,
    issues,
    history: new Map(issues.map((i, n) => [i.id, histories[n]!])),
    rollout,
    findings: await findings,
  };
}
