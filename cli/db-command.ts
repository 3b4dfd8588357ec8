import type { Command } from 'commander';
import { openClickHouse } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { migrate } from '../core/migrations.ts';
import { awaitSuite } from './suite-state.ts';

export function registerDbCommand(program: Command, config: () => Config): void {
  const db = program.command('db').description('ClickHouse のスキーマ管理');
  db.command('migrate')
    .description(
      'sql/migrations の番号付きマイグレーションを順に適用します (適用済みは飛ばし、変更されたものは拒否します)',
    )
    .action(async () => {
      const c = config();
      const suite = await awaitSuite(c.dataDir);
      if (suite && c.clickhouse.kind === 'embedded') {
        console.log(
          `稼働中の Tayori (${suite.url}) が起動時にマイグレーションを適用済みです。新しいマイグレーションは再起動で適用されます`,
        );
        return;
      }
      const ch = await openClickHouse(c.clickhouse);
      try {
        const r = await migrate(ch);
        for (const f of r.applied) console.log(`適用: ${f}`);
        console.log(`マイグレーション完了 (新規 ${r.applied.length} 件、適用済み ${r.alreadyApplied} 件)`);
      } finally {
        await ch.close();
      }
    });
}
