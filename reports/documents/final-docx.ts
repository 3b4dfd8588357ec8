/**
 * 最終報告書 (Word): the period per municipality and prefecture-wide — registrations against
 * population, growth by month, blocks, opens and clicks, the most opened deliveries, results by
 * audience — with charts, and the analysis and proposals the contractor completes. A4 portrait.
 */
import type { ChartImage } from './charts.ts';
import { rolloutBlocks } from './rollout-docx.ts';
import { Footnotes, formatFigure, type DocumentHeader } from './common.ts';
import {
  definitions,
  docxBuffer,
  figure,
  fillIn,
  footnotes,
  header,
  heading,
  list,
  para,
  table,
  type Block,
} from './docx-kit.ts';
import {
  FILL_IN,
  PROPOSALS,
  TOP_HEADER,
  activitySummary,
  municipalityState,
  observations,
  periodLabel,
  periodText,
  topRows,
} from './final-content.ts';
import {
  DELIVERY_COLUMNS,
  DIMENSION_LABELS,
  FRIENDS_COLUMNS,
  MONTH_COLUMNS,
  bucketLabel,
  type FinalData,
  type PeriodColumn,
} from './final-data.ts';
import {
  MILEAGE_MONTH_KEYS,
  countText,
  mileageActivityRows,
  mileageFinalSummary,
  mileageMonthRows,
  monthColumnLabel,
} from './final-mileage.ts';
import type { DeliveryFigures } from './sources.ts';
import {
  DRAFT,
  DRAFT_NOTE,
  findingLine,
  municipalityDraft,
  proposalDrafts,
  type FinalFindings,
} from './final-findings.ts';

function periodTable(d: FinalData, cols: readonly PeriodColumn[], notes: Footnotes): Block {
  return table({
    header: ['市町', ...cols.map((c) => `${c.label}\n(${c.unit})`)],
    rows: d.rows.map((r) => [r.name, ...cols.map((c) => periodText(r, c, notes))]),
    weights: [1.3, ...cols.map(() => 1)],
    align: ['left', ...cols.map(() => 'right' as const)],
    emphasize: new Set([d.rows.length - 1]),
    size: 15,
  });
}

function monthTable(d: FinalData, notes: Footnotes): Block {
  return table({
    header: ['月', ...MONTH_COLUMNS.map((c) => `${c.label}\n(${c.unit})`)],
    rows: d.overviews.map((o) => [
      o.monthLabel,
      ...MONTH_COLUMNS.map((c) => notes.cell(o.totals[c.key], c.kind, o.totals.missing[c.key])),
    ]),
    weights: [1.4, ...MONTH_COLUMNS.map(() => 1)],
    align: ['left', ...MONTH_COLUMNS.map(() => 'right' as const)],
    size: 15,
  });
}

export async function finalDocx(
  d: FinalData,
  h: DocumentHeader,
  charts: readonly ChartImage[],
  top: readonly DeliveryFigures[],
  findings?: FinalFindings,
): Promise<Buffer> {
  const notes = new Footnotes();
  const drafts = proposalDrafts(findings);
  const obs = observations(d);
  const fig = (i: number) => figure(charts[i]!, i + 1, charts[i]!.height > charts[i]!.width * 0.6 ? 150 : 165);
  const total = d.rows.at(-1)!;
  const municipalities = d.rows.filter((r) => !r.total);
  const children: Block[] = [
    ...header(h),
    heading('1. 本報告書について', 1),
    para(
      `本報告書は、${periodLabel(d)}の ${municipalities.length} 市町の LINE 公式アカウントの運用実績 (友だち登録の状況、メッセージの開封・クリック) をまとめ、分析と今後に向けた提案を記載したものです。`,
    ),
    para(
      '数値はダッシュボードと同じ定義・集計によります (「8. 用語の定義」参照)。LINE の統計は LINE が提供する値で、20 人未満の値は提供されないため「—」と表示しています。',
    ),

    heading('2. 概要', 1),
    ...list([...obs.friends, ...obs.opens]),
    table({
      header: ['項目', '県全体'],
      rows: [...FRIENDS_COLUMNS, ...DELIVERY_COLUMNS].map((c) => [
        `${c.label} (${c.unit})`,
        periodText(total, c, notes),
      ]),
      weights: [3, 2],
      align: ['left', 'right'],
    }),

    heading('3. 友だち登録の状況', 1),
    heading('3.1 人口に対する友だち登録と期間中の増減', 2),
    para('期間開始時は対象期間の前月末、期間末は最終月の月末 (その月で最後に LINE の統計を取得できた日) の値です。', {
      size: 18,
    }),
    periodTable(d, FRIENDS_COLUMNS, notes),
    ...fig(2),
    heading('3.2 月別の推移 (県全体)', 2),
    monthTable(d, notes),
    ...fig(0),
    ...fig(1),
    para('市町別・月別の友だち数は Excel 版の「月別友だち数」シートにあります。', { size: 18 }),
    ...mileageSection(d),

    heading('4. メッセージの開封とクリック', 1),
    heading('4.1 市町別の配信と開封', 2),
    periodTable(d, DELIVERY_COLUMNS, notes),
    ...fig(3),
    heading(`4.2 開封率の高い配信 (上位 ${top.length} 件)`, 2),
    top.length
      ? table({
          header: [...TOP_HEADER],
          rows: topRows(top, d, notes),
          weights: [0.5, 1.1, 1.6, 3, 1.6, 1, 0.9, 0.9],
          align: ['center', 'left', 'left', 'left', 'left', 'right', 'right', 'right'],
          size: 15,
        })
      : para('対象期間に開封率の分かる配信はありません。'),
    ...(top.length ? fig(4) : []),
    heading('4.3 配信対象別の結果 (セグメント配信)', 2),
    d.audienceGroups.length
      ? table({
          header: [
            '配信対象',
            '配信数\n(件)',
            '配信対象者\n(人)',
            '配信人数\n(人)',
            '開封率\n(%)',
            'クリック人数\n(人)',
            'クリック率\n(%)',
          ],
          rows: d.audienceGroups.map((g) => [
            g.label,
            formatFigure(g.deliveries, 'count'),
            g.targets === null ? '—' : formatFigure(g.targets, 'count'),
            notes.cell(g.delivered, 'count', g.missing.delivered),
            notes.cell(g.openRate, 'percent', g.missing.openRate),
            notes.cell(g.clicks, 'count', g.missing.clicks),
            notes.cell(g.clickRate, 'percent', g.missing.clickRate),
          ]),
          weights: [3, 1, 1.2, 1.2, 1, 1.2, 1],
          align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
          size: 16,
        })
      : para('対象期間の配信はありません。'),
    para(
      '配信対象は Tayori の配信記録によります。LINE の管理画面など Tayori 以外から送った配信は「配信記録なし」にまとめています。',
      { size: 18 },
    ),
    ...(d.clickBuckets.length
      ? [
          para('属性別のクリック計測 (リンクのクリックを配信対象の属性ごとに数えた配信) の結果です。', { size: 18 }),
          table({
            header: ['属性', '区分', 'クリック数\n(回)', '配信数\n(件)'],
            rows: d.clickBuckets.map((b) => [
              DIMENSION_LABELS[b.dimension] ?? b.dimension,
              bucketLabel(b.dimension, b.bucket, b.name),
              formatFigure(b.clicks, 'count'),
              formatFigure(b.deliveries, 'count'),
            ]),
            weights: [1.5, 2, 1, 1],
            align: ['left', 'left', 'right', 'right'],
          }),
        ]
      : [para('属性別のクリック計測を行った配信はありません。', { size: 18 })]),

    heading('5. 分析', 1),
    heading('5.1 友だち登録の状況', 2),
    ...list(obs.friends),
    ...fillIn(
      FILL_IN,
      '友だち登録の状況について、市町ごとの地域特性や周知の取り組みを踏まえた分析を記入してください。',
    ),
    heading('5.2 メッセージの開封とクリック', 2),
    ...list(obs.opens),
    ...fillIn(FILL_IN, '開封・クリックの状況について、配信内容・時間帯・配信対象を踏まえた分析を記入してください。'),

    heading('6. 提案', 1),
    para(
      `${DRAFT}の箇所は ${DRAFT_NOTE}${FILL_IN}の箇所は所見が見つからなかった項目で、受託者が分析に基づいて記入します。`,
      { size: 18 },
    ),
    ...PROPOSALS.flatMap((p, i) => {
      const draft = drafts[i]!;
      if (!draft.findings.length) return [heading(`6.${i + 1} ${p.heading}`, 2), ...fillIn(FILL_IN, p.prompt)];
      return [
        heading(`6.${i + 1} ${p.heading}`, 2),
        ...fillIn(DRAFT, `${DRAFT_NOTE} (${p.prompt})`),
        ...list(draft.findings.map(findingLine)),
        ...(draft.chart ? figure(draft.chart, charts.length + 1 + findings!.charts.indexOf(draft.chart), 165) : []),
      ];
    }),
    heading(`6.${PROPOSALS.length + 1} 市町ごとの提案`, 2),
    table({
      header: ['市町', '現状 (期間末・期間計)', '提案'],
      rows: municipalities.map((r) => [
        r.name,
        municipalityState(r),
        municipalityDraft(findings, r.tenantId!) ?? FILL_IN,
      ]),
      weights: [1.1, 3.4, 3],
      size: 16,
    }),

    heading('7. 業務の実施状況', 1),
    para(activitySummary(d)),
    ...rolloutBlocks(d),
    ...fillIn(FILL_IN, '研修・会議・問い合わせ対応など、対象期間に実施した支援の内容を記入してください。'),

    heading('8. 用語の定義', 1),
    ...definitions(false),
    ...footnotes(notes, '9. 注記'),
  ];
  return docxBuffer({ title: `${h.title} ${h.subtitle}`, children });
}

/** 3.3 health mileage: a sentence, the prefecture-wide months, points by activity (participants by municipality: Excel). */
function mileageSection(d: FinalData): Block[] {
  const m = d.mileage;
  const acts = mileageActivityRows(m);
  return [
    heading('3.3 健康マイレージへの参加 (月別・活動別)', 2),
    para(mileageFinalSummary(m)),
    table({
      header: ['月', ...MILEAGE_MONTH_KEYS.map(monthColumnLabel)],
      rows: mileageMonthRows(m).map((r) => [r.month, ...r.values.map(countText)]),
      weights: [1.4, ...MILEAGE_MONTH_KEYS.map(() => 1)],
      align: ['left', ...MILEAGE_MONTH_KEYS.map(() => 'right' as const)],
      size: 14,
    }),
    acts.length
      ? table({
          header: ['活動', '獲得方法', '期間の獲得ポイント\n(pt)'],
          rows: acts.map((a) => [a.name, a.method, countText(a.sum)]),
          weights: [3, 1.2, 1.4],
          align: ['left', 'left', 'right'],
          size: 16,
        })
      : para('対象期間のポイントの記録はありません。'),
    para(
      '市町別・月別の参加者数は Excel 版の「マイレージ市町別」シート、活動別・月別のポイントは「マイレージ活動別」シートにあります。',
      { size: 18 },
    ),
  ];
}
