/**
 * 議事録 (Word): every meeting of the month, approved minutes first and drafts after them, marked
 * 下書き; with date and time, kind, place, tenants concerned, attendees, agenda, discussion,
 * decisions and the action items (owner, due).
 */
import type { Minutes } from '../store.ts';
import { monthlyHeader, warekiDay } from './common.ts';
import { docxBuffer, header, heading, list, para, table, textBlock, type Block } from './docx-kit.ts';
import type { MonthlySources } from './sources.ts';

export const MINUTES_TITLE = '議事録';

/** 令和8年4月15日(水) 14:00〜15:30 */
export function meetingTime(m: Pick<Minutes, 'heldAt' | 'endedAt'>): string {
  const day = m.heldAt.slice(0, 10);
  const start = m.heldAt.slice(11, 16);
  if (!m.endedAt) return `${warekiDay(day, true)} ${start}〜`;
  const endDay = m.endedAt.slice(0, 10);
  const end = m.endedAt.slice(11, 16);
  return endDay === day
    ? `${warekiDay(day, true)} ${start}〜${end}`
    : `${warekiDay(day, true)} ${start}〜${warekiDay(endDay, true)} ${end}`;
}

/** Approved first, then drafts; each group in the order the meetings were held. */
export function orderMinutes(ms: readonly Minutes[]): Minutes[] {
  const rank = (m: Minutes) => (m.status === 'approved' ? 0 : 1);
  return [...ms].sort((a, b) => rank(a) - rank(b) || a.heldAt.localeCompare(b.heldAt) || a.id.localeCompare(b.id));
}

function meeting(m: Minutes, no: number, name: (id: string) => string): Block[] {
  const draft = m.status !== 'approved';
  const tenants = m.tenantIds.map(name).join('、') || '—';
  const attendees = m.attendees.map((a) => (a.organization ? `${a.organization} ${a.name}` : a.name)).join('\n') || '—';
  const approval = draft
    ? '下書き (未承認)'
    : `承認済み${m.approvedAt ? ` (${warekiDay(m.approvedAt.slice(0, 10))}${m.approvedBy ? `、${m.approvedBy}` : ''})` : ''}`;
  return [
    heading(`${no}. ${draft ? '【下書き】' : ''}${m.title}`, 1),
    table({
      header: ['項目', '内容'],
      weights: [1, 4],
      rows: [
        ['日時', meetingTime(m)],
        ['種別', m.kind],
        ['場所', m.place || '—'],
        ['関係団体', tenants],
        ['出席者', attendees],
        ['状態', approval],
      ],
    }),
    heading('議題', 2),
    ...list(m.agenda, { numbered: true, empty: '記載なし' }),
    heading('協議内容', 2),
    ...textBlock(m.discussion),
    heading('決定事項', 2),
    ...list(m.decisions, { empty: 'なし' }),
    heading('対応事項', 2),
    m.actionItems.length
      ? table({
          header: ['No.', '対応事項', '担当', '期限'],
          weights: [0.5, 5, 1.5, 2],
          align: ['center', 'left', 'left', 'left'],
          rows: m.actionItems.map((a, i) => [String(i + 1), a.task, a.owner, warekiDay(a.due)]),
        })
      : para('なし', { indent: 240 }),
  ];
}

export async function minutesDocx(s: MonthlySources, now: Date): Promise<Buffer> {
  const h = monthlyHeader(MINUTES_TITLE, s.month, now, s.tenants.prefecture);
  const ordered = orderMinutes(s.minutes);
  const drafts = ordered.filter((m) => m.status !== 'approved').length;
  const children: Block[] = [...header(h)];
  if (!ordered.length) {
    children.push(
      para(`${h.subtitle.replace(/分$/, '')}に開催した打ち合わせ・会議はありませんでした。`, { after: 200 }),
    );
  } else {
    children.push(
      para(
        `${h.subtitle.replace(/分$/, '')}に開催した打ち合わせ・会議 ${ordered.length} 件の議事録です${drafts ? ` (うち ${drafts} 件は下書きで、県・市町の確認前です)` : ''}。`,
      ),
      table({
        header: ['No.', '日時', '種別', '件名', '状態'],
        weights: [0.5, 3, 1.3, 3.5, 1],
        align: ['center', 'left', 'left', 'left', 'center'],
        rows: ordered.map((m, i) => [
          String(i + 1),
          meetingTime(m),
          m.kind,
          m.title,
          m.status === 'approved' ? '承認済み' : '下書き',
        ]),
      }),
    );
    ordered.forEach((m, i) => children.push(...meeting(m, i + 1, s.tenants.name)));
  }
  return docxBuffer({ title: `${h.title} ${h.subtitle}`, children });
}
