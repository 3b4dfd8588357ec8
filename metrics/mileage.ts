/**
 * The health-mileage programme's figures (三重とこわか健康マイレージ), per municipality and
 * prefecture-wide, for a month and cumulatively over the programme's fiscal year (April–March):
 * participants, new and active residents, points by activity and by method, residents at the goal,
 * cards issued and valid, participants per 1,000 residents, and the months of the year so far.
 * Read from the rollups of migrations 0048–0049 and the cards (sql/queries/mileage_metrics.sql).
 */
import { query } from '../core/clickhouse.ts';
import type { Tenant } from '../core/tenants.ts';
import { addMonths, formatWarekiMonth, monthBounds, monthSchema, tokyoToday } from '../core/time.ts';
import { MILEAGE_METHOD_LABELS } from '../core/vocabulary.ts';
import { z } from '../core/zod.ts';
import type { Figure, MissingReason } from './figures.ts';
import { int64, type MetricsReader } from './reader.ts';

export interface MileageFigureDefinition {
  label: string;
  unit: '人' | 'pt' | '枚' | '回' | '人/千人';
  definition: string;
}

/** What each mileage figure means, shown on the pages and in the reports. */
export const MILEAGE_FIGURES = {
  participants: {
    label: '参加者数',
    unit: '人',
    definition:
      'その年度のマイレージ事業で、月末時点の累計ポイントが 1 ポイント以上の住民の数 (年度の初めからの累計。訂正で 0 ポイント以下になった人は含みません)',
  },
  newParticipants: {
    label: '新規参加者',
    unit: '人',
    definition:
      'その月に初めてポイントを記録した参加者の数 (最初の記録の活動日がその月で、月末時点の累計が 1 ポイント以上の人)',
  },
  active: {
    label: '活動した住民',
    unit: '人',
    definition: 'その月の活動日に 1 回以上ポイントを獲得した住民の数 (訂正だけの人は含みません)',
  },
  points: {
    label: '獲得ポイント (月)',
    unit: 'pt',
    definition: '活動日がその月のポイントの合計 (訂正のマイナスを差し引いた値)',
  },
  pointsToDate: {
    label: '獲得ポイント (年度累計)',
    unit: 'pt',
    definition: '年度の初めから月末までの活動日のポイントの合計 (訂正を差し引いた値)',
  },
  awards: {
    label: '獲得回数 (月)',
    unit: '回',
    definition: '活動日がその月のポイント獲得の回数 (QR の読み取り・自己申告・職員の付与。訂正を除く)',
  },
  reachedGoal: {
    label: '目標達成者 (累計)',
    unit: '人',
    definition: '月末時点の累計ポイントが事業の目標ポイント以上の住民の数',
  },
  reachedGoalNew: {
    label: '目標達成者 (月)',
    unit: '人',
    definition: 'その月のうちに累計ポイントが目標ポイントに達した住民の数',
  },
  cardsIssued: {
    label: 'カード発行 (月)',
    unit: '枚',
    definition: 'その月 (日本時間) に発行したとこわか健康応援カードの枚数',
  },
  cardsIssuedToDate: {
    label: 'カード発行 (年度累計)',
    unit: '枚',
    definition: '年度の初めから月末までに、その年度の事業で発行したとこわか健康応援カードの枚数',
  },
  cardsValid: {
    label: '有効なカード',
    unit: '枚',
    definition:
      '基準日 (月末。その月が終わっていなければ今日) に有効期限内のとこわか健康応援カードの枚数 (前年度の事業で発行したものを含みます)',
  },
  participantsPerThousand: {
    label: '人口千人あたり参加者',
    unit: '人/千人',
    definition: '参加者数 ÷ 人口 (登録されている人口) × 1,000',
  },
} as const satisfies Record<string, MileageFigureDefinition>;

export type MileageFigureName = keyof typeof MILEAGE_FIGURES;

/** How points are earned, as staff read it: an activity's method, and '訂正' for a correction of no single activity. */
export const MILEAGE_METHODS: Readonly<Record<string, string>> = { ...MILEAGE_METHOD_LABELS, correction: '訂正' };

/** The fiscal year (April–March) a month 'YYYY-MM' falls in: 2027-03 → 2026. */
export function fiscalYearOf(month: string): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m >= 4 ? y : y - 1;
}

/** The months of a fiscal year, April first. */
export function fiscalYearMonths(fy: number): string[] {
  return Array.from({ length: 12 }, (_, i) => addMonths(`${fy}-04`, i));
}

/** 2026 → 令和8年度. */
export function fiscalYearLabel(fy: number): string {
  return formatWarekiMonth(`${fy}-04`).replace(/\d+月$/, '度');
}

export interface MileageProgramme {
  id: string;
  name: string;
  startsOn: string;
  endsOn: string;
  goalPoints: number;
  cardValidMonths: number;
}

/** One month's figures of a municipality (or their sum), counts as numbers. */
export interface MileageMonth {
  month: string;
  participants: number;
  newParticipants: number;
  active: number;
  points: number;
  pointsToDate: number;
  awards: number;
  reachedGoal: number;
  reachedGoalNew: number;
  cardsIssued: number;
  cardsIssuedToDate: number;
  cardsValid: number;
  /** The day cardsValid counts for: the month's last day, or today while the month runs. */
  cardsValidOn: string;
}

export interface MileageActivity {
  activityId: string;
  name: string;
  method: string;
  methodLabel: string;
  points: number;
  awards: number;
  pointsToDate: number;
  awardsToDate: number;
}

export interface MileageMethod {
  method: string;
  label: string;
  points: number;
  pointsToDate: number;
}

export interface MileageRow {
  tenantId: string;
  name: string;
  population: number | null;
  /** The fiscal year's programme (the first when there are several); null: none registered. */
  programme: MileageProgramme | null;
  programmes: number;
  figures: MileageMonth;
  participantsPerThousand: Figure;
  /** Points by activity in the month and the year so far. */
  activities: MileageActivity[];
  methods: MileageMethod[];
  /** The fiscal year's months up to the month asked for. */
  series: MileageMonth[];
  missing: Partial<Record<MileageFigureName, MissingReason>>;
}

export interface MileageOverview {
  month: string;
  monthLabel: string;
  fiscalYear: number;
  fiscalYearLabel: string;
  from: string;
  to: string;
  /** The day the valid cards are counted for. */
  asOf: string;
  rows: MileageRow[];
  totals: Omit<MileageRow, 'tenantId' | 'name' | 'programme'> & { municipalities: number };
}

/** A figure of a row as the tables show it: null (with the reason in `missing`) when it cannot be known. */
export function mileageValue(
  r: Pick<MileageRow, 'figures' | 'participantsPerThousand' | 'missing'>,
  key: MileageFigureName,
): Figure {
  if (r.missing[key]) return null;
  return key === 'participantsPerThousand' ? r.participantsPerThousand : r.figures[key];
}

const programmeRow = z.object({
  tenant_id: z.string(),
  programme_id: z.string(),
  name: z.string(),
  starts_on: z.string(),
  ends_on: z.string(),
  goal_points: int64,
  card_valid_months: int64,
});
const activityRow = z.object({
  tenant_id: z.string(),
  programme_id: z.string(),
  activity_id: z.string(),
  name: z.string(),
  method: z.string(),
  points: int64,
  sort: int64,
});
const membersRow = z.object({
  tenant_id: z.string(),
  month: z.string(),
  participants: int64,
  new_participants: int64,
  active: int64,
  reached_goal: int64,
  reached_goal_new: int64,
  points: int64,
  awards: int64,
});
const activityMonthRow = z.object({
  tenant_id: z.string(),
  month: z.string(),
  activity_id: z.string(),
  kind: z.string(),
  points: int64,
  awards: int64,
});
const cardsIssuedRow = z.object({ tenant_id: z.string(), month: z.string(), issued: int64 });
const cardsValidRow = z.object({ tenant_id: z.string(), day: z.string(), valid: int64 });

interface TenantYear {
  programmes: MileageProgramme[];
  /** month → figures (every month of `months`). */
  months: Map<string, MileageMonth>;
  /** activity id → what it is. */
  activities: Map<string, { name: string; method: string; sort: number }>;
  activityMonths: Array<{ month: string; activityId: string; points: number; awards: number }>;
}

const emptyMonth = (month: string, cardsValidOn: string): MileageMonth => ({
  month,
  participants: 0,
  newParticipants: 0,
  active: 0,
  points: 0,
  pointsToDate: 0,
  awards: 0,
  reachedGoal: 0,
  reachedGoalNew: 0,
  cardsIssued: 0,
  cardsIssuedToDate: 0,
  cardsValid: 0,
  cardsValidOn,
});

/** The day valid cards are counted for in a month: its last day, or today while it runs. */
export function validOnFor(month: string, today: string): string {
  const last = monthBounds(month).to;
  return today < last && today >= monthBounds(month).from ? today : last;
}

/**
 * A fiscal year's figures of these tenants, month by month from April to `upTo` (inclusive).
 * Every tenant asked for gets an entry (with no programme: empty figures, its valid cards only).
 */
async function readYear(
  reader: MetricsReader,
  tenantIds: string[],
  fy: number,
  upTo: string,
  today: string,
): Promise<Map<string, TenantYear>> {
  const months = fiscalYearMonths(fy).filter((m) => m <= upTo);
  const validOn = months.map((m) => validOnFor(m, today));
  const out = new Map<string, TenantYear>();
  if (!tenantIds.length || !months.length) return out;
  const programmes = await query(reader.ch, 'mileage_metrics.programmes', { tenants: tenantIds, fy }, programmeRow);
  const ids = programmes.map((p) => p.programme_id);
  const scoped = { tenants: tenantIds, programmes: ids };
  const [members, activities, activityMonths, issued, valid] = await Promise.all([
    ids.length
      ? query(
          reader.ch,
          'mileage_metrics.members_per_month',
          {
            ...scoped,
            fy,
            n: months.length,
            goals: programmes.map((p) => p.goal_points),
            months: months.map((m) => `${m}-01`),
          },
          membersRow,
        )
      : [],
    ids.length ? query(reader.ch, 'mileage_metrics.activities', scoped, activityRow) : [],
    ids.length
      ? query(
          reader.ch,
          'mileage_metrics.points_by_month_activity',
          { ...scoped, from: `${months[0]}-01`, to: monthBounds(months.at(-1)!).to },
          activityMonthRow,
        )
      : [],
    ids.length ? query(reader.ch, 'mileage_metrics.cards_issued_per_month', scoped, cardsIssuedRow) : [],
    query(reader.ch, 'mileage_metrics.cards_valid_on', { tenants: tenantIds, days: validOn }, cardsValidRow),
  ]);

  for (const id of tenantIds) {
    const m = new Map<string, MileageMonth>();
    months.forEach((month, i) => m.set(month, emptyMonth(month, validOn[i]!)));
    out.set(id, { programmes: [], months: m, activities: new Map(), activityMonths: [] });
  }
  for (const p of programmes)
    out.get(p.tenant_id)?.programmes.push({
      id: p.programme_id,
      name: p.name,
      startsOn: p.starts_on,
      endsOn: p.ends_on,
      goalPoints: p.goal_points,
      cardValidMonths: p.card_valid_months,
    });
  for (const r of members) {
    const f = out.get(r.tenant_id)?.months.get(r.month.slice(0, 7));
    if (!f) continue;
    Object.assign(f, {
      participants: r.participants,
      newParticipants: r.new_participants,
      active: r.active,
      reachedGoal: r.reached_goal,
      reachedGoalNew: r.reached_goal_new,
      points: r.points,
      awards: r.awards,
    });
  }
  const issuedBy = new Map(issued.map((r) => [`${r.tenant_id}/${r.month.slice(0, 7)}`, r.issued]));
  const issuedBefore = new Map<string, number>();
  for (const r of issued)
    if (r.month.slice(0, 7) < months[0]!)
      issuedBefore.set(r.tenant_id, (issuedBefore.get(r.tenant_id) ?? 0) + r.issued);
  const validBy = new Map(valid.map((r) => [`${r.tenant_id}/${r.day}`, r.valid]));
  for (const [id, year] of out) {
    let points = 0;
    let cards = issuedBefore.get(id) ?? 0;
    for (const f of year.months.values()) {
      points += f.points;
      f.pointsToDate = points;
      f.cardsIssued = issuedBy.get(`${id}/${f.month}`) ?? 0;
      cards += f.cardsIssued;
      f.cardsIssuedToDate = cards;
      f.cardsValid = validBy.get(`${id}/${f.cardsValidOn}`) ?? 0;
    }
  }
  for (const a of activities)
    out.get(a.tenant_id)?.activities.set(a.activity_id, { name: a.name, method: a.method, sort: a.sort });
  for (const r of activityMonths)
    out.get(r.tenant_id)?.activityMonths.push({
      month: r.month.slice(0, 7),
      activityId: r.activity_id,
      points: r.points,
      awards: r.awards,
    });
  return out;
}

/** Points by activity (in `month` and from April to it) and by method, from a tenant's year. */
function activitiesOf(year: TenantYear, month: string): { activities: MileageActivity[]; methods: MileageMethod[] } {
  const by = new Map<string, MileageActivity>();
  for (const [id, a] of [...year.activities].sort((x, y) => x[1].sort - y[1].sort))
    by.set(id, {
      activityId: id,
      name: a.name,
      method: a.method,
      methodLabel: MILEAGE_METHODS[a.method] ?? a.method,
      points: 0,
      awards: 0,
      pointsToDate: 0,
      awardsToDate: 0,
    });
  for (const r of year.activityMonths) {
    if (r.month > month) continue;
    let a = by.get(r.activityId);
    if (!a) {
      // a correction of several activities (no activity id), or an activity no longer listed
      const method = r.activityId === '' ? 'correction' : 'unknown';
      a = {
        activityId: r.activityId,
        name: r.activityId === '' ? '訂正 (活動の指定なし)' : '(削除された活動)',
        method,
        methodLabel: MILEAGE_METHODS[method] ?? 'その他',
        points: 0,
        awards: 0,
        pointsToDate: 0,
        awardsToDate: 0,
      };
      by.set(r.activityId, a);
    }
    a.pointsToDate += r.points;
    a.awardsToDate += r.awards;
    if (r.month === month) {
      a.points += r.points;
      a.awards += r.awards;
    }
  }
  const activities = [...by.values()];
  return { activities, methods: methodsOf(activities) };
}

function methodsOf(activities: readonly MileageActivity[]): MileageMethod[] {
  const order = [...Object.keys(MILEAGE_METHODS), 'unknown'];
  const m = new Map<string, MileageMethod>();
  for (const a of activities) {
    const x = m.get(a.method) ?? { method: a.method, label: a.methodLabel, points: 0, pointsToDate: 0 };
    x.points += a.points;
    x.pointsToDate += a.pointsToDate;
    m.set(a.method, x);
  }
  return [...m.values()].sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
}

const perThousand = (participants: number, population: number | null): Figure =>
  population ? Math.round((participants / population) * 1000 * 1000) / 1000 : null;

const sumMonths = (list: readonly MileageMonth[], month: string, validOn: string): MileageMonth => {
  const s = emptyMonth(month, validOn);
  for (const f of list)
    for (const k of Object.keys(s) as Array<keyof MileageMonth>)
      if (k !== 'month' && k !== 'cardsValidOn') s[k] += f[k];
  return s;
};

function missingOf(hasProgramme: boolean, population: number | null): MileageRow['missing'] {
  const missing: MileageRow['missing'] = {};
  if (!hasProgramme)
    for (const k of Object.keys(MILEAGE_FIGURES) as MileageFigureName[])
      if (k !== 'cardsValid') missing[k] = 'no_programme';
  if (hasProgramme && !population) missing.participantsPerThousand = 'no_population';
  return missing;
}

/**
 * The mileage figures of a month for the municipalities of `visible` (the caller decides which
 * tenants may be seen), with the prefecture-wide total (the sum of the municipalities). `today`
 * (Tokyo, 'YYYY-MM-DD') is the day valid cards are counted for while the month runs.
 */
export async function mileageOverview(
  reader: MetricsReader,
  visible: Tenant[],
  month: string,
  today = tokyoToday(),
): Promise<MileageOverview> {
  monthSchema.parse(month);
  const { from, to } = monthBounds(month);
  const fy = fiscalYearOf(month);
  const municipalities = visible.filter((t) => t.kind === 'municipality');
  const years = await readYear(
    reader,
    municipalities.map((t) => t.id),
    fy,
    month,
    today,
  );
  const asOf = validOnFor(month, today);
  const rows: MileageRow[] = municipalities.map((t) => {
    const year = years.get(t.id)!;
    const series = [...year.months.values()];
    const figures = year.months.get(month)!;
    const { activities, methods } = activitiesOf(year, month);
    const hasProgramme = year.programmes.length > 0;
    return {
      tenantId: t.id,
      name: t.name,
      population: t.population,
      programme: year.programmes[0] ?? null,
      programmes: year.programmes.length,
      figures,
      participantsPerThousand: hasProgramme ? perThousand(figures.participants, t.population) : null,
      activities,
      methods,
      series,
      missing: missingOf(hasProgramme, t.population),
    };
  });

  const running = rows.filter((r) => r.programme);
  const months = fiscalYearMonths(fy).filter((m) => m <= month);
  const series = months.map((m, i) =>
    sumMonths(
      running.map((r) => r.series[i]!),
      m,
      validOnFor(m, today),
    ),
  );
  // valid cards also count where no programme runs this year (cards from the year before)
  series.forEach((m, i) => (m.cardsValid = rows.reduce((a, r) => a + (r.series[i]?.cardsValid ?? 0), 0)));
  const figures = series.at(-1) ?? emptyMonth(month, asOf);
  const withPopulation = running.filter((r) => r.population);
  const population = withPopulation.reduce((a, r) => a + r.population!, 0);
  const totalActivities = new Map<string, MileageActivity>();
  for (const a of running.flatMap((r) => r.activities)) {
    const key = `${a.method}/${a.name}`;
    const t = totalActivities.get(key) ?? {
      ...a,
      activityId: key,
      points: 0,
      awards: 0,
      pointsToDate: 0,
      awardsToDate: 0,
    };
    t.points += a.points;
    t.awards += a.awards;
    t.pointsToDate += a.pointsToDate;
    t.awardsToDate += a.awardsToDate;
    totalActivities.set(key, t);
  }
  const activities = [...totalActivities.values()];
  const missing = missingOf(running.length > 0, population || null);
  const allPops = rows.map((r) => r.population);
  return {
    month,
    monthLabel: formatWarekiMonth(month),
    fiscalYear: fy,
    fiscalYearLabel: fiscalYearLabel(fy),
    from,
    to,
    asOf,
    rows,
    totals: {
      municipalities: rows.length,
      population: allPops.every((p) => p === null) ? null : allPops.reduce<number>((a, p) => a + (p ?? 0), 0),
      programmes: rows.reduce((a, r) => a + r.programmes, 0),
      figures,
      participantsPerThousand: running.length
        ? perThousand(
            withPopulation.reduce((a, r) => a + r.figures.participants, 0),
            population || null,
          )
        : null,
      activities,
      methods: methodsOf(activities),
      series,
      missing,
    },
  };
}

export interface MileageHistoryRow {
  tenantId: string;
  name: string;
  /** Aligned with MileageHistory.months; null where the tenant had no programme that fiscal year. */
  months: Array<MileageMonth | null>;
  /** Points by activity per month (aligned with months), activities of every fiscal year in the period. */
  activities: Array<{ name: string; method: string; methodLabel: string; points: number[]; awards: number[] }>;
}

export interface MileageHistory {
  from: string;
  to: string;
  months: string[];
  rows: MileageHistoryRow[];
  /** The municipalities' sum per month (null where none had a programme). */
  totals: Omit<MileageHistoryRow, 'tenantId' | 'name'>;
}

/**
 * The mileage figures month by month over a period ('YYYY-MM', inclusive; it may span fiscal
 * years: each month's cumulative figures count from its own fiscal year's April), per municipality
 * and prefecture-wide, with points by activity per month.
 */
export async function mileageHistory(
  reader: MetricsReader,
  visible: Tenant[],
  period: { from: string; to: string },
  today = tokyoToday(),
): Promise<MileageHistory> {
  monthSchema.parse(period.from);
  monthSchema.parse(period.to);
  const months: string[] = [];
  for (let m = period.from; m <= period.to; m = addMonths(m, 1)) months.push(m);
  const municipalities = visible.filter((t) => t.kind === 'municipality');
  const ids = municipalities.map((t) => t.id);
  const fys = [...new Set(months.map(fiscalYearOf))];
  const years = new Map<number, Map<string, TenantYear>>();
  for (const fy of fys)
    years.set(fy, await readYear(reader, ids, fy, months.filter((m) => fiscalYearOf(m) === fy).at(-1)!, today));

  const activityRows = (year: TenantYear | undefined, acc: Map<string, MileageHistoryRow['activities'][number]>) => {
    if (!year) return;
    for (const m of months) {
      if (!year.months.has(m)) continue;
      const i = months.indexOf(m);
      for (const a of activitiesOf(year, m).activities) {
        const key = `${a.method}/${a.name}`;
        const e = acc.get(key) ?? {
          name: a.name,
          method: a.method,
          methodLabel: a.methodLabel,
          points: months.map(() => 0),
          awards: months.map(() => 0),
        };
        e.points[i]! += a.points;
        e.awards[i]! += a.awards;
        acc.set(key, e);
      }
    }
  };

  const totalActs = new Map<string, MileageHistoryRow['activities'][number]>();
  const rows: MileageHistoryRow[] = municipalities.map((t) => {
    const acts = new Map<string, MileageHistoryRow['activities'][number]>();
    for (const fy of fys) {
      const year = years.get(fy)!.get(t.id);
      if (year?.programmes.length) {
        activityRows(year, acts);
        activityRows(year, totalActs);
      }
    }
    return {
      tenantId: t.id,
      name: t.name,
      months: months.map((m) => {
        const year = years.get(fiscalYearOf(m))!.get(t.id);
        return year?.programmes.length ? (year.months.get(m) ?? null) : null;
      }),
      activities: [...acts.values()],
    };
  });
  return {
    from: period.from,
    to: period.to,
    months,
    rows,
    totals: {
      months: months.map((m, i) => {
        const known = rows.map((r) => r.months[i]).filter((x): x is MileageMonth => !!x);
        return known.length ? sumMonths(known, m, known[0]!.cardsValidOn) : null;
      }),
      activities: [...totalActs.values()],
    },
  };
}
