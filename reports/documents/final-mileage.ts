/**
 * The health-mileage part of the final report: growth by month (prefecture-wide), by municipality
 * (participants at each month's end) and by activity (points per month), from metrics/' history.
 * The Word and Excel versions draw these tables.
 */
import { formatWarekiMonth } from '../../core/time.ts';
import {
  MILEAGE_FIGURES,
  type MileageFigureName,
  type MileageHistory,
  type MileageMonth,
} from '../../metrics/index.ts';
import { formatFigure } from './common.ts';

/** The columns of the prefecture-wide table by month. */
export const MILEAGE_MONTH_KEYS: readonly MileageFigureName[] = [
  'participants',
  'newParticipants',
  'active',
  'points',
  'pointsToDate',
  'reachedGoalNew',
  'reachedGoal',
  'cardsIssued',
  'cardsIssuedToDate',
  'cardsValid',
];

export const monthHeading = (m: string) => formatWarekiMonth(m).replace(/^令和/, 'R');

const value = (m: MileageMonth | null, k: MileageFigureName): number | null =>
  m === null || k === 'participantsPerThousand' ? null : m[k];

/** Prefecture-wide, one row per month: [month label, …values] (null: no programme ran that month). */
export function mileageMonthRows(h: MileageHistory): Array<{ month: string; values: Array<number | null> }> {
  return h.months.map((month, i) => ({
    month: formatWarekiMonth(month),
    values: MILEAGE_MONTH_KEYS.map((k) => value(h.totals.months[i] ?? null, k)),
  }));
}

/** Per municipality, one value per month of a figure (participants by default), then the total row. */
export function mileageMunicipalityRows(
  h: MileageHistory,
  key: MileageFigureName = 'participants',
): Array<{ name: string; total: boolean; values: Array<number | null> }> {
  return [
    ...h.rows.map((r) => ({ name: r.name, total: false, values: r.months.map((m) => value(m, key)) })),
    { name: '県全体', total: true, values: h.totals.months.map((m) => value(m, key)) },
  ];
}

/** Prefecture-wide points per month by activity, and the period's sum. */
export function mileageActivityRows(
  h: MileageHistory,
): Array<{ name: string; method: string; values: number[]; sum: number }> {
  return h.totals.activities.map((a) => ({
    name: a.name,
    method: a.methodLabel,
    values: a.points,
    sum: a.points.reduce((x, y) => x + y, 0),
  }));
}

export const monthColumnLabel = (k: MileageFigureName) => `${MILEAGE_FIGURES[k].label}\n(${MILEAGE_FIGURES[k].unit})`;

/** Text of a count cell; "—" where no programme ran. */
export const countText = (v: number | null) => formatFigure(v, 'count');

/** A sentence on the period, from the last month's prefecture-wide figures. */
export function mileageFinalSummary(h: MileageHistory): string {
  let i = h.totals.months.length - 1;
  while (i >= 0 && h.totals.months[i] === null) i--;
  const last = i >= 0 ? h.totals.months[i]! : null;
  if (!last) return '対象期間に健康マイレージ事業を実施した市町はありません。';
  const running = h.rows.filter((r) => r.months[i] !== null).length;
  return (
    `${formatWarekiMonth(h.months[i]!)}末の健康マイレージの参加者は ${countText(last.participants)} 人 (${running} 市町)、` +
    `年度の獲得ポイントは ${countText(last.pointsToDate)} pt、目標達成者は ${countText(last.reachedGoal)} 人、` +
    `とこわか健康応援カードの発行は年度累計 ${countText(last.cardsIssuedToDate)} 枚です。` +
    '累計の値は各月の属する年度 (4月から) の累計です。'
  );
}
