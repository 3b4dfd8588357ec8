/** node --import tsx make-clickhouse-template.ts DIR: the embedded ClickHouse in DIR, migrated. */
import { openClickHouse } from '../../core/clickhouse.ts';
import { migrate } from '../../core/migrations.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: make-clickhouse-template.ts DIR');
const ch = await openClickHouse({ kind: 'embedded', path: dir });
try {
  await migrate(ch);
} finally {
  await ch.close();
}
