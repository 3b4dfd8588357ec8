/**
 * The words of the final report shared by its Word and Excel versions: observations drawn from the
 * figures, the proposals the contractor completes (marked 【記入してください】), and table rows.
 */
import { formatWarekiMonth } from '../due-date.ts';
import { type Footnotes, PARTIAL_NOTE, formatFigure, tokyoClock, warekiDay } from './common.ts';
import { NO_RECORD, audienceKey, periodCell, type FinalData, type PeriodColumn, type PeriodRow } from './final-data.ts';
import type { DeliveryFigures } from './sources.ts';

export const FILL_IN = '【記入してください】';

/** 令和7年4月〜令和8年3月 */
export function periodLabel(d: Pick<FinalData, 'from' | 'to'>): string {
  return d.from === d.to ? formatWarekiMonth(d.from) : `${formatWarekiMonth(d.from)}〜${formatWarekiMonth(d.to)}`;
}

/** The proposals section: headings with what the contractor is asked to write under each. */
export const PROPOSALS: ReadonlyArray<{ heading: string; prompt: string }> = (
  [
    [
      '友だち登録の拡大に向けて',
      '人口あたりの友だち数が伸びていない市町を中心に、登録を増やすための取り組み (対象・方法・時期) を記入してください。',
    ],
    [
      '配信内容と配信頻度の改善',
      '開封率・クリック率の高い配信の特徴 (内容・時間帯・配信対象) を踏まえ、今後の配信の改善点を記入してください。',
    ],
    ['ブロックの抑制', 'ブロック率の高い市町・配信について原因の分析と、抑制のための対策を記入してください。'],
    [
      'セグメント配信の活用',
      '属性 (年代・性別・お住まい等) で絞り込んだ配信の結果を踏まえ、活用の方針を記入してください。',
    ],
    ['他の成功事例の紹介', '他の自治体・市町での効果的な運用事例と、本事業への応用の方法を記入してください。'],
    [
      '今後のマイレージ事業のデジタル化に向けて',
      '各市町の実施状況と成果を踏まえ、今後のマイレージ事業のデジタル化についての提案を記入してください。',
    ],
  ] as const
).map(([heading, prompt]) => ({ heading, prompt }));

/** A period row's figure as text ("—※1" when unknown, a mark on partial totals). */
export function periodText(r: PeriodRow, c: PeriodColumn, notes: Footnotes): string {
  const cell = periodCell(r, c.key);
  const text = notes.cell(cell.value, c.kind, cell.reason);
  return cell.partial ? `${text}${notes.mark(PARTIAL_NOTE)}` : text;
}

const municipalities = (d: FinalData) => d.rows.filter((r) => !r.total);

function best(
  rows: PeriodRow[],
  key: 'friendsPerPopulation' | 'growth' | 'blockRate' | 'openRate',
  dir: 1 | -1,
): PeriodRow | undefined {
  return rows.filter((r) => r[key] !== null).sort((a, b) => dir * (b[key]! - a[key]!))[0];
}

/** What the figures say, in sentences (the contractor adds the analysis). */
export function observations(d: FinalData): { friends: string[]; opens: string[] } {
  const rows = municipalities(d);
  const total = d.rows.at(-1)!;
  const friends: string[] = [];
  const pct = (v: number | null) => formatFigure(v, 'percent');
  friends.push(
    `${formatWarekiMonth(d.to)}末の県全体の友だち数は ${formatFigure(total.friendsEnd, 'count')} 人 (人口あたり ${pct(total.friendsPerPopulation)}) で、対象期間中の増減は ${formatFigure(total.growth, 'change')} 人です。`,
  );
  const hi = best(rows, 'friendsPerPopulation', 1);
  const lo = best(rows, 'friendsPerPopulation', -1);
  if (hi && lo && hi !== lo)
    friends.push(
      `人口あたりの友だち数が最も多いのは${hi.name} (${pct(hi.friendsPerPopulation)})、最も少ないのは${lo.name} (${pct(lo.friendsPerPopulation)}) です。`,
    );
  const grow = best(rows, 'growth', 1);
  if (grow)
    friends.push(`期間中に友だちが最も増えたのは${grow.name} (${formatFigure(grow.growth, 'change')} 人) です。`);
  const block = best(rows, 'blockRate', 1);
  if (block)
    friends.push(
      `ブロック率が最も高いのは${block.name} (${pct(block.blockRate)}) で、県全体では ${pct(total.blockRate)} です。`,
    );

  const opens: string[] = [];
  opens.push(
    `対象期間の配信は ${formatFigure(total.deliveries, 'count')} 件、開封率は県全体で ${pct(total.openRate)}、クリック率は ${pct(total.clickRate)} でした。`,
  );
  const open = best(rows, 'openRate', 1);
  if (open) opens.push(`開封率が最も高い市町は${open.name} (${pct(open.openRate)}) です。`);
  const all = d.audienceGroups.find((g) => g.type === 'all');
  const seg = d.audienceGroups.filter((g) => g.type === 'segment');
  if (all && seg.length) {
    opens.push(
      `セグメント配信 (${seg.map((g) => g.label.replace(/^セグメント: /, '')).join('・')}) の開封率は ${seg.map((g) => pct(g.openRate)).join('・')}、すべての友だちへの配信は ${pct(all.openRate)} でした。`,
    );
  }
  return { friends, opens };
}

/** The current state of a municipality in one line, for the proposals table. */
export function municipalityState(r: PeriodRow): string {
  return `人口あたり ${formatFigure(r.friendsPerPopulation, 'percent')}・増減 ${formatFigure(r.growth, 'change')} 人・ブロック率 ${formatFigure(r.blockRate, 'percent')}・開封率 ${formatFigure(r.openRate, 'percent')}`;
}

export const TOP_HEADER = [
  'No.',
  '市町',
  '配信日',
  'タイトル',
  '配信対象',
  '配信人数',
  '開封率',
  'クリック率',
] as const;

/** The most opened deliveries as text rows, with who they went to. */
export function topRows(top: readonly DeliveryFigures[], d: FinalData, notes: Footnotes): string[][] {
  return top.map((x, i) => [
    String(i + 1),
    d.tenants.name(x.tenantId),
    warekiDay(tokyoClock(new Date(x.sentAt)).day),
    x.title,
    audienceOf(x, d).label,
    notes.cell(x.delivered, 'count', x.missing.delivered),
    notes.cell(x.openRate, 'percent', x.missing.openRate),
    notes.cell(x.clickRate, 'percent', x.missing.clickRate),
  ]);
}

export function audienceOf(x: DeliveryFigures, d: FinalData) {
  return d.audiences.get(audienceKey(x.tenantId, x.key)) ?? NO_RECORD;
}

/** 定例会 3 回・研修 1 回; 未着手 1 件・完了 4 件 */
export function activitySummary(d: FinalData): string {
  const meetings = d.meetings.total
    ? `打ち合わせ・会議 ${d.meetings.total} 回 (${d.meetings.byKind.map(([k, n]) => `${k} ${n} 回`).join('・')})`
    : '打ち合わせ・会議の記録なし';
  const issues = d.issues.total
    ? `課題 ${d.issues.total} 件 (${d.issues.byStatus.map(([k, n]) => `${k} ${n} 件`).join('・')})`
    : '起票された課題なし';
  return `対象期間の業務記録: ${meetings}、${issues}。`;
}
