/**
 * The final report's 業務工程表 (in 7. 業務の実施状況): a sentence, then per municipality each step's
 * actual date, or its state when not done — a late step reads 「遅延 N日」 (bold row), never colour alone.
 */
import { formatWareki } from '../../core/time.ts';
import { type BoardStep, ROLLOUT_STEPS, type RolloutBoard, STEP_STATUS_LABELS } from '../rollout.ts';
import { type Block, heading, para, table } from './docx-kit.ts';
import { rolloutSummary } from './rollout-xlsx.ts';

function cell(s: BoardStep): string {
  const late = s.status === 'late' || s.status === 'done_late';
  if (s.actualOn) return `${formatWareki(s.actualOn)}${late ? `\n(遅延 ${s.daysLate}日)` : ''}`;
  if (s.status === 'late') return `⚠ 遅延 ${s.daysLate}日\n(予定 ${formatWareki(s.plannedOn!)})`;
  if (s.plannedOn) return `予定 ${formatWareki(s.plannedOn)}`;
  return STEP_STATUS_LABELS[s.status];
}

export function rolloutBlocks(d: { rollout?: RolloutBoard }): Block[] {
  const b = d.rollout;
  if (!b || !b.rows.length) return [];
  const late = new Set(b.rows.flatMap((r, i) => (r.steps.some((s) => s.status === 'late') ? [i] : [])));
  return [
    heading('7.1 業務工程表 (市町別の工程の実績)', 2),
    para(rolloutSummary(b)),
    table({
      header: ['市町', ...ROLLOUT_STEPS.map((s) => s.label)],
      rows: b.rows.map((r) => [r.name, ...r.steps.map(cell)]),
      weights: [1.2, ...ROLLOUT_STEPS.map(() => 1.3)],
      emphasize: late,
      size: 14,
    }),
    para(
      '日付は実績日。チャネル情報の登録・リッチメニューの設定・マイレージ事業の設定・運用開始 (初回配信) は Tayori の記録、ほかは受託者の入力による。太字の行は予定日を過ぎて完了していない工程がある市町。Excel 版の「業務工程表」シートに予定日と実績日の一覧がある。',
      { size: 16 },
    ),
  ];
}
