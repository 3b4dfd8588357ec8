/**
 * The KPI table of the monthly report: one row per municipality and the prefecture-wide total,
 * the same figures the dashboard's overview shows. The xlsx, docx and pdf all draw this one model.
 */
import {
  FIGURES,
  type Figure,
  type FigureName,
  type MissingReason,
  type Overview,
  type OverviewRow,
} from '../../metrics/index.ts';
import { type Footnotes, PARTIAL_NOTE, formatFigure, tokyoClock, warekiDay, type FigureKind } from './common.ts';
import type { DeliveryFigures } from './sources.ts';

export type KpiKey =
  | 'population'
  | 'friends'
  | 'friendsChange'
  | 'friendsPerPopulation'
  | 'blocks'
  | 'blockRate'
  | 'follows'
  | 'unfollows'
  | 'deliveries'
  | 'openRate'
  | 'clicks';

export interface KpiColumn {
  key: KpiKey;
  /** Column heading (short), with its unit. */
  label: string;
  unit: string;
  kind: FigureKind;
  /** The figure whose definition explains the column (none for population). */
  figure?: FigureName;
}

export const KPI_COLUMNS: readonly KpiColumn[] = [
  { key: 'population', label: '人口', unit: '人', kind: 'count' },
  { key: 'friends', label: FIGURES.friends.label, unit: '人', kind: 'count', figure: 'friends' },
  { key: 'friendsChange', label: '増減 (前月比)', unit: '人', kind: 'change', figure: 'friendsChange' },
  { key: 'friendsPerPopulation', label: '人口あたり', unit: '%', kind: 'percent', figure: 'friendsPerPopulation' },
  { key: 'blocks', label: FIGURES.blocks.label, unit: '人', kind: 'count', figure: 'blocks' },
  { key: 'blockRate', label: FIGURES.blockRate.label, unit: '%', kind: 'percent', figure: 'blockRate' },
  { key: 'follows', label: FIGURES.follows.label, unit: '人', kind: 'count', figure: 'follows' },
  { key: 'unfollows', label: FIGURES.unfollows.label, unit: '人', kind: 'count', figure: 'unfollows' },
  { key: 'deliveries', label: FIGURES.deliveries.label, unit: '件', kind: 'count', figure: 'deliveries' },
  { key: 'openRate', label: FIGURES.openRate.label, unit: '%', kind: 'percent', figure: 'openRate' },
  { key: 'clicks', label: 'クリック', unit: '人', kind: 'count', figure: 'clicks' },
];

export interface KpiCell {
  value: Figure;
  /** Why the value is null. */
  reason?: MissingReason;
  /** A total over only the municipalities whose value is known. */
  partial?: boolean;
}

export interface KpiRow {
  tenantId: string | null;
  name: string;
  total: boolean;
  cells: Record<KpiKey, KpiCell>;
}

export const TOTAL_LABEL = '県全体';

type Source = Pick<
  OverviewRow,
  | 'friends'
  | 'friendsChange'
  | 'friendsPerPopulation'
  | 'blocks'
  | 'blockRate'
  | 'follows'
  | 'unblocks'
  | 'unfollows'
  | 'deliveries'
  | 'openRate'
  | 'clicks'
  | 'population'
  | 'missing'
>;

function cellsOf(r: Source, partial: readonly FigureName[] = []): Record<KpiKey, KpiCell> {
  const out = {} as Record<KpiKey, KpiCell>;
  for (const c of KPI_COLUMNS) {
    const value: Figure = c.key === 'population' ? r.population : r[c.key];
    const reason: MissingReason | undefined =
      value !== null
        ? undefined
        : c.key === 'population'
          ? 'no_population'
          : (r.missing[c.key as FigureName] ?? 'no_source');
    out[c.key] = {
      value,
      ...(reason ? { reason } : {}),
      ...(c.figure && partial.includes(c.figure) ? { partial: true } : {}),
    };
  }
  return out;
}

/** The municipalities' rows in the dashboard's order, the prefecture-wide total, then the prefecture's own accounts. */
export function kpiRows(o: Overview): KpiRow[] {
  return [
    ...o.rows.map((r) => ({ tenantId: r.tenantId, name: r.name, total: false, cells: cellsOf(r) })),
    { tenantId: null, name: TOTAL_LABEL, total: true, cells: cellsOf(o.totals, o.totals.partial) },
    ...o.accounts.map((r) => ({
      tenantId: r.tenantId,
      name: `${r.name} (県のアカウント・合計に含みません)`,
      total: false,
      cells: cellsOf(r),
    })),
  ];
}

/** A cell as text: the figure, or "—" with its footnote mark; a partial total gets its mark too. */
export function kpiText(cell: KpiCell, kind: FigureKind, notes: Footnotes): string {
  const text = notes.cell(cell.value, kind, cell.reason);
  return cell.partial ? `${text}${notes.mark(PARTIAL_NOTE)}` : text;
}

/** The KPI table as text (the Word and PDF versions draw it): headings, rows, column weights. */
export function kpiTextTable(o: Overview, notes: Footnotes) {
  const rows = kpiRows(o);
  return {
    header: ['市町', ...KPI_COLUMNS.map((c) => `${c.label}\n(${c.unit})`)],
    rows: rows.map((r) => [r.name, ...KPI_COLUMNS.map((c) => kpiText(r.cells[c.key], c.kind, notes))]),
    weights: [1.3, ...KPI_COLUMNS.map(() => 1)],
    align: ['left' as const, ...KPI_COLUMNS.map(() => 'right' as const)],
    emphasize: new Set([rows.length - 1]),
  };
}

/** The month in a few sentences, from the prefecture-wide total. */
export function kpiSummary(o: Overview, notes: Footnotes): string[] {
  const t = kpiRows(o).at(-1)!.cells;
  const f = (k: KpiKey, kind: FigureKind) => kpiText(t[k], kind, notes);
  const known = o.rows.filter((r) => r.friends !== null).length;
  return [
    `${o.monthLabel}末の県全体の友だち数は ${f('friends', 'count')} 人 (前月末から ${f('friendsChange', 'change')} 人)、人口あたり ${f('friendsPerPopulation', 'percent')} です。` +
      `友だち数が分かる市町は ${o.rows.length} 市町のうち ${known} 市町です。`,
    `ブロック数は ${f('blocks', 'count')} 人 (ブロック率 ${f('blockRate', 'percent')})、この月の友だち追加は ${formatFigure(t.follows.value, 'count')} 人、新規ブロックは ${formatFigure(t.unfollows.value, 'count')} 人でした。`,
    `配信は ${formatFigure(t.deliveries.value, 'count')} 件、開封率は ${f('openRate', 'percent')}、クリックした人は ${f('clicks', 'count')} 人です。`,
  ];
}

/** Headings of a table of deliveries (docx, pdf). */
export const DELIVERY_HEADER = [
  '市町',
  '配信日',
  'タイトル',
  '配信人数',
  '開封人数',
  '開封率',
  'クリック',
  'クリック率',
] as const;
export const DELIVERY_WEIGHTS = [1.2, 1.6, 4, 1.1, 1.1, 0.9, 1, 0.9] as const;
export const DELIVERY_ALIGN = ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right'] as const;

/** Deliveries as text rows: figures formatted, "—" with the reason's mark. */
export function deliveryRows(
  ds: readonly DeliveryFigures[],
  name: (id: string) => string,
  notes: Footnotes,
): string[][] {
  return ds.map((d) => [
    name(d.tenantId),
    warekiDay(tokyoClock(new Date(d.sentAt)).day),
    d.title,
    notes.cell(d.delivered, 'count', d.missing.delivered),
    notes.cell(d.uniqueImpressions, 'count', d.missing.uniqueImpressions),
    notes.cell(d.openRate, 'percent', d.missing.openRate),
    notes.cell(d.clicks, 'count', d.missing.clicks),
    notes.cell(d.clickRate, 'percent', d.missing.clickRate),
  ]);
}
