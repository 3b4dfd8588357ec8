/**
 * `tayori backup create|list|verify|restore` and `tayori export`:
 *
 *   backup create                       a backup now (through the running suite, or directly)
 *   backup list [--from DIR]            backups on disk, newest first
 *   backup verify <id> [--from DIR]     re-reads every file against the manifest's SHA-256
 *   backup restore <id> --from DIR      into this (empty) data directory; the suite must be stopped
 *   export --tenant <id>|all --out DIR [--format csv|parquet] [--plain --operator <login>]
 *                                       (--plain: the cards' personal data opened; the account's password on stdin)
 *
 * The key file (TAYORI_SECRET_KEY_FILE, default <data>/secret.key) is never in a backup: keep a copy
 * apart (a safe, another site); a restore without it cannot read the channels' secrets or the cards.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { openClickHouse } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { AuditLog } from '../core/audit.ts';
import type { StaffIdentity } from '../core/auth.ts';
import { loadSecretBox } from '../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../core/data-keys.ts';
import { AppError } from '../core/errors.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis, type Redis } from '../core/redis.ts';
import { startLocalRedis, type LocalRedis } from '../core/redis-server.ts';
import type { HouseholdRows } from './ops-wiring.ts';
import { table } from './output.ts';
import { readSecretLine } from './stdin.ts';
import { awaitSuite, callSuite } from './suite-state.ts';

const size = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;

/** The suite's Redis for a command run while the suite is stopped: its own redis-server, or REDIS_URL. */
async function openRedis(config: Config): Promise<{ redis: Redis; close(): Promise<void> }> {
  let local: LocalRedis | undefined;
  if (config.redis.kind === 'local') local = await startLocalRedis({ dir: config.redis.dir, bin: config.redis.bin });
  const redis = connectRedis(local ? local.url : (config.redis as { url: string }).url);
  return {
    redis,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await local?.stop();
    },
  };
}

async function directOps(config: Config) {
  const ch = await openClickHouse(config.clickhouse);
  await migrate(ch).catch(async (e) => {
    await ch.close();
    throw e;
  });
  const r = await openRedis(config).catch(async (e) => {
    await ch.close();
    throw e;
  });
  const { wireOps } = await import('./ops-wiring.ts');
  const { createLogger } = await import('../core/logger.ts');
  const logger = createLogger('error');
  const status = () => ({ backlog: { events: 0 } });
  const { ops, mailer } = wireOps({
    config,
    ch,
    redis: r.redis,
    redisUrl: '',
    ingest: { status } as never,
    logger,
    queues: () => [],
    failedJobs: async () => 0,
  });
  return {
    ops,
    async close() {
      mailer.close();
      await r.close();
      await ch.close();
    },
  };
}

export function registerOpsCommands(program: Command, config: () => Config): void {
  const backup = program.command('backup').description('バックアップの作成・一覧・検証・復元');
  backup
    .command('create')
    .description('バックアップを作成します (ClickHouse・Redis・帳票ファイル・カード。鍵ファイルは含みません)')
    .action(async () => {
      const c = config();
      const suite = await awaitSuite(c.dataDir);
      let made: { id: string; bytes: number; tables: number; rows: number };
      if (suite) made = await callSuite(suite, 'POST', '/api/v1/ops/backups', {});
      else {
        const d = await directOps(c);
        try {
          made = await d.ops.backup('CLI');
        } finally {
          await d.close();
        }
      }
      console.log(made.id);
      console.log(
        `バックアップを作成しました: ${path.join(c.ops.backupDir, made.id)} (${size(made.bytes)}、${made.tables} 表 ${made.rows.toLocaleString('ja-JP')} 行)`,
      );
    });
  backup
    .command('list')
    .description('バックアップの一覧 (新しい順)')
    .option('--from <dir>', 'バックアップの保存先 (既定: TAYORI_BACKUP_DIR)')
    .action(async (o: { from?: string }) => {
      const { listBackups } = await import('../ops/index.ts');
      const dir = path.resolve(o.from ?? config().ops.backupDir);
      const list = listBackups(dir);
      if (!list.length) return void console.log(`バックアップはありません (${dir})`);
      console.log(
        table(
          ['名前', '作成日時', '容量', '週次', '作成者'],
          list.map((b) => [
            b.id,
            b.createdAt.slice(0, 16).replace('T', ' '),
            size(b.bytes),
            b.weekly ? '○' : '',
            b.madeBy,
          ]),
          [2],
        ),
      );
    });
  backup
    .command('verify <id>')
    .description('バックアップのすべてのファイルをチェックサムで検証します')
    .option('--from <dir>', 'バックアップの保存先 (既定: TAYORI_BACKUP_DIR)')
    .action(async (id: string, o: { from?: string }) => {
      const { verifyBackup } = await import('../ops/index.ts');
      const dir = path.join(path.resolve(o.from ?? config().ops.backupDir), id);
      if (!fs.existsSync(dir))
        throw new AppError('backup_not_found', `バックアップ ${id} は見つかりません (${dir})`, 404);
      const r = await verifyBackup(dir);
      if (!r.ok) {
        for (const b of r.bad)
          console.error(
            `NG ${b.path} (${b.problem === 'missing' ? 'ファイルがありません' : b.problem === 'size' ? '大きさが違います' : 'チェックサムが違います'})`,
          );
        throw new AppError(
          'backup_corrupt',
          `バックアップ ${id} は壊れています (${r.bad.length} / ${r.checked} ファイル)`,
          400,
        );
      }
      console.log(`OK: バックアップ ${id} の ${r.checked} ファイルはすべて目録どおりです`);
    });
  backup
    .command('restore <id>')
    .description('バックアップを空のデータディレクトリに復元します (スイートは停止しておくこと)')
    .requiredOption('--from <dir>', 'バックアップの保存先')
    .action(async (id: string, o: { from: string }) => {
      const c = config();
      if (await awaitSuite(c.dataDir))
        throw new AppError(
          'suite_running',
          `このデータディレクトリ (${c.dataDir}) では Tayori が稼働中です。停止してから復元してください`,
          409,
        );
      const { restoreBackup } = await import('../ops/index.ts');
      const { opsStores } = await import('./ops-wiring.ts');
      const dir = path.join(path.resolve(o.from), id);
      if (!fs.existsSync(dir))
        throw new AppError('backup_not_found', `バックアップ ${id} は見つかりません (${dir})`, 404);
      const ch = await openClickHouse(c.clickhouse);
      let r: { redis: Redis; close(): Promise<void> } | undefined;
      try {
        await migrate(ch);
        r = await openRedis(c);
        if ((await r.redis.dbsize()) > 0)
          throw new AppError(
            'restore_target_not_empty',
            '復元先の Redis が空ではありません。空のデータディレクトリに復元してください',
            409,
          );
        const stores = Object.fromEntries(opsStores(c).map((s) => [s.name, s.dir]));
        const done = await restoreBackup(dir, { ch, redis: r.redis, stores });
        console.log(
          `復元しました: ${done.tables} 表 ${done.rows.toLocaleString('ja-JP')} 行、Redis のキー ${done.redisKeys} 件`,
        );
        const key = c.secretKey.kind === 'file' ? c.secretKey.path : undefined;
        if (key && !fs.existsSync(key))
          console.error(
            `注意: 鍵ファイル ${key} がありません。バックアップとは別に保管した鍵ファイルをここに置いてから起動してください`,
          );
      } finally {
        await r?.close();
        await ch.close();
      }
    });

  program
    .command('export')
    .description('移行用のデータ書き出し (表ごとに 1 ファイル、目録と日本語の列の説明つき)')
    .requiredOption('--tenant <id>', '団体コード、またはすべての団体なら all')
    .requiredOption('--out <dir>', '出力先ディレクトリ (空か、まだないもの)')
    .option('--format <format>', 'csv または parquet', 'csv')
    .option(
      '--plain',
      '優待カードの個人情報を復号して平文で書き出します (--operator の職員に「住民データの出力」と「カード利用者情報」の権限が必要。パスワードは標準入力から)',
    )
    .option('--operator <login>', '平文で書き出す職員のユーザー名 (監査記録に残ります)')
    .action(async (o: { tenant: string; out: string; format: string; plain?: boolean; operator?: string }) => {
      if (o.format !== 'csv' && o.format !== 'parquet')
        throw new AppError('invalid_format', '--format は csv か parquet です', 400);
      if (!/^(all|\d{5,6})$/.test(o.tenant))
        throw new AppError('invalid_tenant', '--tenant は団体コードか all です', 400);
      if (o.operator && !o.plain) throw new AppError('invalid_option', '--operator は --plain と一緒に指定します', 400);
      if (o.plain && !o.operator)
        throw new AppError(
          'operator_required',
          '個人情報を平文で書き出すには、権限のある職員のユーザー名を --operator で指定してください (パスワードは標準入力から)',
          400,
        );
      const operator = o.plain ? { username: o.operator!, password: await readOperatorPassword() } : undefined;
      const c = config();
      const out = path.resolve(o.out);
      const suite = await awaitSuite(c.dataDir);
      let m: { tables: Array<{ name: string; rows: number; plain?: boolean; file: string }> };
      if (suite)
        m = await callSuite(suite, 'POST', '/api/v1/ops/exports', {
          tenant: o.tenant,
          out,
          format: o.format,
          ...(operator ? { plain: true, operator } : {}),
        });
      else m = await directExport(c, { tenant: o.tenant, out, format: o.format, operator });
      console.log(
        `書き出しました: ${out} (${m.tables.length} 表、${m.tables.reduce((a, t) => a + t.rows, 0).toLocaleString('ja-JP')} 行)`,
      );
      const plain = m.tables.filter((t) => t.plain);
      if (plain.length)
        console.log(
          `平文の個人情報を含むファイル: ${plain.map((t) => t.file).join('、')} — 取り扱いに注意し、移行が済んだら消去してください`,
        );
    });
}

/** The operator's password: the first line of standard input (never argv, never echoed). */
const readOperatorPassword = () =>
  readSecretLine(
    '--operator のパスワードを入力して Enter、続けて Ctrl-D を押してください:',
    '--operator のパスワードを標準入力から渡してください (例: npx tayori export … --plain --operator <ユーザー名> < パスワードのファイル)',
  );

/** The export with the suite stopped: ClickHouse and the card store opened here. */
async function directExport(
  c: Config,
  o: { tenant: string; out: string; format: 'csv' | 'parquet'; operator?: { username: string; password: string } },
) {
  const ch = await openClickHouse(c.clickhouse);
  let cards: { households: HouseholdRows; close(): Promise<void> } | undefined;
  try {
    await migrate(ch);
    const { exportData } = await import('../ops/index.ts');
    const { householdsExtra, staffVerifier } = await import('./ops-wiring.ts');
    const { CardStore, cardsStoreDir } = await import('../cards/index.ts');
    const dir = cardsStoreDir(c.dataDir);
    // a data directory without cards gets no card store made by an export
    if (fs.existsSync(path.join(dir, 'data.mdb'))) cards = new CardStore(dir);
    let plain: { staff: StaffIdentity; keys: DataKeys } | undefined;
    if (o.operator) {
      const staff = await staffVerifier(ch).verify(o.operator.username, o.operator.password);
      if (!staff)
        throw new AppError(
          'operator_unauthorized',
          `ユーザー ${o.operator.username} を確認できません (ユーザー名かパスワードが違うか、停止中のアカウントです)`,
          401,
        );
      const keys = new DataKeys({ dir: dataKeysDir(c.dataDir), provider: new SuiteKeyProvider(loadSecretBox(c)) });
      plain = { staff, keys };
    }
    return await exportData({
      ch,
      audit: new AuditLog(ch),
      by: { cli: 'CLI' },
      tenant: o.tenant,
      out: o.out,
      format: o.format,
      extras: cards ? [householdsExtra(cards.households)] : [],
      plain,
    });
  } finally {
    await cards?.close();
    await ch.close();
  }
}
