import type { Command } from 'commander';
import type { Config } from '../core/config.ts';
import { dueDateFor, formatWareki, formatWarekiMonth } from '../reports/due-date.ts';

/**
 * `tayori report …`: reports owed to the prefecture.
 *
 *   report due 2022-09        → 2022-10-11 (first line: the ISO date, for scripts)
 *                               令和4年10月11日(火) (second line)
 */
export function registerReportCommand(program: Command, _config: () => Config): void {
  const report = program.command('report').description('県への月次報告 (議事録・課題管理表) の提出期限など');

  report
    .command('due')
    .description('その月の報告の提出期限 (翌月10日、閉庁日なら翌開庁日) を表示します。1 行目は YYYY-MM-DD')
    .argument('<month>', '報告の対象月 YYYY-MM (例: 2022-09)')
    .option('--verbose', '飛ばした閉庁日 (土日・祝日・年末年始) も表示します')
    .option('--json', 'JSON で出力します')
    .action((month: string, o: { verbose?: boolean; json?: boolean }) => {
      const d = dueDateFor(month);
      if (o.json) {
        console.log(JSON.stringify({ ...d, dueWareki: formatWareki(d.due, { weekday: true }) }, null, 2));
        return;
      }
      const lines = [d.due, `${formatWareki(d.due, { weekday: true })} (${formatWarekiMonth(d.month)}分の提出期限)`];
      if (o.verbose) {
        lines.push(`本来の期限: ${formatWareki(d.nominal, { weekday: true })}`);
        for (const s of d.skipped) lines.push(`  ${s.date} ${formatWareki(s.date, { weekday: true })} — ${s.reason}のため閉庁`);
        if (!d.skipped.length) lines.push('  翌月10日が開庁日のため、そのまま期限です');
      }
      console.log(lines.join('\n'));
    });
}
