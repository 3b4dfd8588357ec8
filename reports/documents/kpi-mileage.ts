/**
 * The health-mileage part of the monthly KPI report: one row per municipality and the
 * prefecture-wide total (the month and the fiscal year so far), points by activity and by method,
 * and a few sentences — the figures metrics/ answers the dashboard and its API with. The xlsx, docx
 * and pdf all draw this one model.
 */
import {
  MILEAGE_FIGURES,
  type MileageActivity,
  type MileageFigureName,
  type MileageOverview,
  type MileageRow,
  mileageValue,
  type Figure,
  type MissingReason,
} from '../../metrics/index.ts';
import { type Footnotes, type FigureKind, formatFigure, warekiDay } from './common.ts';

export interface MileageColumn {
  key: MileageFigureName;
  label: string;
  unit: string;
  kind: FigureKind;
}

const col = (key: MileageFigureName, kind: FigureKind = 'count'): MileageColumn => ({
  key,
  label: MILEAGE_FIGURES[key].label,
  unit: MILEAGE_FIGURES[key].unit,
  kind,
});

/** The columns of the per-municipality table, in order. */
export const MILEAGE_COLUMNS: readonly MileageColumn[] = [
  col('participants'),
  col('newParticipants'),
  col('active'),
  col('points'),
  col('pointsToDate'),
  col('reachedGoalNew'),
  col('reachedGoal'),
  col('cardsIssued'),
  col('cardsIssuedToDate'),
  col('cardsValid'),
  col('participantsPerThousand', 'decimal'),
];

export interface MileageCell {
  value: Figure;
  reason?: MissingReason;
}

export interface MileageKpiRow {
  tenantId: string | null;
  name: string;
  total: boolean;
  cells: Record<MileageFigureName, MileageCell>;
}

type Source = Pick<MileageRow, 'figures' | 'participantsPerThousand' | 'missing'>;

function cellsOf(r: Source): Record<MileageFigureName, MileageCell> {
  const out = {} as Record<MileageFigureName, MileageCell>;
  for (const c of MILEAGE_COLUMNS) {
    const value = mileageValue(r, c.key);
    const reason = value === null ? (r.missing[c.key] ?? 'no_source') : undefined;
    out[c.key] = { value, ...(reason ? { reason } : {}) };
  }
  return out;
}

/** The municipalities' rows in the dashboard's order, then the prefecture-wide total. */
export function mileageKpiRows(m: MileageOverview): MileageKpiRow[] {
  return [
    ...m.rows.map((r) => ({ tenantId: r.tenantId, name: r.name, total: false, cells: cellsOf(r) })),
    { tenantId: null, name: '県全体', total: true, cells: cellsOf(m.totals) },
  ];
}

/** The table as text (Word, PDF). */
export function mileageTextTable(m: MileageOverview, notes: Footnotes) {
  const rows = mileageKpiRows(m);
  return {
    header: ['市町', ...MILEAGE_COLUMNS.map((c) => `${c.label}\n(${c.unit})`)],
    rows: rows.map((r) => [
      r.name,
      ...MILEAGE_COLUMNS.map((c) => notes.cell(r.cells[c.key].value, c.kind, r.cells[c.key].reason)),
    ]),
    weights: [1.3, ...MILEAGE_COLUMNS.map(() => 1)],
    align: ['left' as const, ...MILEAGE_COLUMNS.map(() => 'right' as const)],
    emphasize: new Set([rows.length - 1]),
  };
}

/** Points by activity (prefecture-wide: the same activity name and method summed over municipalities). */
export const ACTIVITY_HEADER = [
  '活動',
  '獲得方法',
  '獲得ポイント (月)\n(pt)',
  '獲得回数 (月)\n(回)',
  '獲得ポイント (年度累計)\n(pt)',
  '獲得回数 (年度累計)\n(回)',
] as const;
export const ACTIVITY_WEIGHTS = [3, 1.2, 1.2, 1.2, 1.2, 1.2] as const;
export const ACTIVITY_ALIGN = ['left', 'left', 'right', 'right', 'right', 'right'] as const;

export function activityTextRows(activities: readonly MileageActivity[]): string[][] {
  return activities.map((a) => [
    a.name,
    a.methodLabel,
    formatFigure(a.points, 'count'),
    formatFigure(a.awards, 'count'),
    formatFigure(a.pointsToDate, 'count'),
    formatFigure(a.awardsToDate, 'count'),
  ]);
}

/** The heading's note: which fiscal year, which day the valid cards are counted for. */
export function mileageLead(m: MileageOverview): string {
  return (
    `${m.fiscalYearLabel}の健康マイレージ事業の市町別の実績です (${m.monthLabel}と、年度の初め (4月) からの累計)。` +
    `有効なカードは ${warekiDay(m.asOf)} 時点の枚数です。`
  );
}

/** The month in a few sentences, from the prefecture-wide total. */
export function mileageSummary(m: MileageOverview, notes: Footnotes): string[] {
  const t = mileageKpiRows(m).at(-1)!.cells;
  const f = (k: MileageFigureName, kind: FigureKind = 'count') => notes.cell(t[k].value, kind, t[k].reason);
  const running = m.rows.filter((r) => r.programme).length;
  return [
    `健康マイレージ事業 (${m.fiscalYearLabel}) を実施している市町は ${m.rows.length} 市町のうち ${running} 市町です。` +
      `${m.monthLabel}末の参加者は ${f('participants')} 人 (人口千人あたり ${f('participantsPerThousand', 'decimal')} 人)、` +
      `この月の新規参加者は ${f('newParticipants')} 人、ポイントを獲得した住民は ${f('active')} 人でした。`,
    `獲得ポイントはこの月 ${f('points')} pt、年度累計 ${f('pointsToDate')} pt、目標達成者は累計 ${f('reachedGoal')} 人 (この月 ${f('reachedGoalNew')} 人)、` +
      `とこわか健康応援カードの発行は累計 ${f('cardsIssuedToDate')} 枚、有効なカードは ${f('cardsValid')} 枚です。`,
  ];
}
