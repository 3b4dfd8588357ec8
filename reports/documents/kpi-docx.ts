/**
 * 月次KPI報告書 (Word): summary, the per-municipality table with the prefecture-wide total, the
 * charts, the month's most opened deliveries, definitions and notes. A4 landscape.
 */
import type { ChartImage } from './charts.ts';
import { Footnotes, type DocumentHeader } from './common.ts';
import { definitions, docxBuffer, figure, footnotes, header, heading, para, table, type Block } from './docx-kit.ts';
import {
  DELIVERY_ALIGN,
  DELIVERY_HEADER,
  DELIVERY_WEIGHTS,
  deliveryRows,
  kpiSummary,
  kpiTextTable,
} from './kpi-table.ts';
import {
  ACTIVITY_ALIGN,
  ACTIVITY_HEADER,
  ACTIVITY_WEIGHTS,
  activityTextRows,
  mileageLead,
  mileageSummary,
  mileageTextTable,
} from './kpi-mileage.ts';
import type { DeliveryFigures, MonthlySources } from './sources.ts';
import { notableLines } from './final-findings.ts';
import { splitCharts } from './mileage-charts.ts';
import { faqChart, faqDocx } from './kpi-faq.ts';

/** The KPI table as a docx table. */
export function kpiDocxTable(s: Pick<MonthlySources, 'overview'>, notes: Footnotes, landscape = true): Block {
  return table({ ...kpiTextTable(s.overview, notes), size: 16, landscape });
}

/** The health-mileage figures: a few sentences, the per-municipality table, the points by activity, its charts. */
export function mileageDocx(
  s: Pick<MonthlySources, 'mileage'>,
  notes: Footnotes,
  landscape = true,
  charts: readonly ChartImage[] = [],
): Block[] {
  const m = s.mileage;
  return [
    heading(`健康マイレージ (${m.fiscalYearLabel})`, 2),
    ...mileageSummary(m, notes).map((t) => para(t)),
    para(mileageLead(m), { size: 18 }),
    table({ ...mileageTextTable(m, notes), size: 16, landscape }),
    para(`県全体の活動別ポイント (${m.monthLabel}・年度累計)`, { bold: true, size: 18 }),
    m.totals.activities.length
      ? table({
          header: [...ACTIVITY_HEADER],
          rows: activityTextRows(m.totals.activities),
          weights: [...ACTIVITY_WEIGHTS],
          align: [...ACTIVITY_ALIGN],
          size: 16,
          landscape,
        })
      : para('ポイントの記録はありません。'),
    ...charts.flatMap((c, i) => figure(c, i + 1, c.height > c.width * 0.6 ? 175 : 230)),
  ];
}

export async function kpiDocx(
  s: MonthlySources,
  h: DocumentHeader,
  charts: readonly ChartImage[],
  top: readonly DeliveryFigures[],
): Promise<Buffer> {
  const notes = new Footnotes();
  const { mileage, other } = splitCharts(charts);
  const faq = faqChart(charts);
  const children: Block[] = [
    ...header(h),
    heading('1. 概要', 1),
    ...[...kpiSummary(s.overview, notes), ...notableLines(s.findings)].map((t) => para(t)),
    heading('2. 市町別の実績', 1),
    para(
      `${s.overview.monthLabel}の市町別の実績です。友だち数・ブロック数は月末時点 (その月で最後に LINE の統計を取得できた日) の値です。`,
      { size: 18 },
    ),
    kpiDocxTable(s, notes),
    ...mileageDocx(s, notes, true, mileage),
    ...faqDocx(s, notes, faq && { image: faq, no: mileage.length + 1 }),
    heading('3. グラフ', 1),
    ...other.flatMap((c, i) => figure(c, mileage.length + (faq ? 1 : 0) + i + 1, c.height > c.width * 0.6 ? 175 : 230)),
    heading('4. 開封率の高い配信', 1),
    top.length
      ? table({
          header: [...DELIVERY_HEADER],
          rows: deliveryRows(top, s.tenants.name, notes),
          weights: [...DELIVERY_WEIGHTS],
          align: [...DELIVERY_ALIGN],
          landscape: true,
        })
      : para('この月に開封率の分かる配信はありません。'),
    para(
      `この月の配信は全部で ${s.deliveries.length.toLocaleString('ja-JP')} 件です (一覧は Excel 版の「配信」シートにあります)。`,
      { size: 18 },
    ),
    heading('5. 用語の定義', 1),
    ...definitions(true),
    ...footnotes(notes, '6. 注記'),
  ];
  return docxBuffer({ title: `${h.title} ${h.subtitle}`, children, landscape: true });
}
