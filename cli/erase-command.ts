/**
 * `tayori tenants erase-personal-data --id <tenant>`: the logical erasure of a tenant's benefit-card
 * personal data (its data key destroyed, cards/erasure.ts) after the tenant id is typed again, and
 * the データ消去証明書 (PDF) written to a file. Through the running suite's API, or directly on the
 * data directory when no suite holds it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { AuditLog } from '../core/audit.ts';
import { openClickHouse } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { loadSecretBox } from '../core/crypto.ts';
import { AppError } from '../core/errors.ts';
import { migrate } from '../core/migrations.ts';
import { TenantStore } from '../core/tenants.ts';
import { callSuite, withGateway } from './suite-state.ts';

interface Erased {
  tenantId: string;
  tenantName: string;
  records: number;
  pushes: number | null;
  backups: number | null;
  erasedAt: string;
  keyFingerprint: string | null;
  certificate: Buffer;
}

interface EraseGateway {
  erase(tenantId: string, confirm: string): Promise<Erased>;
  close(): Promise<void>;
}

async function directGateway(config: Config): Promise<EraseGateway> {
  // loaded here, not at start: `tayori tenants …` would otherwise load the cards folder for every command
  const [
    { cardsStoreDir, CardStore, erasePersonalData, PUSH_AUDIENCE_LABEL },
    { DataKeys, dataKeysDir, SuiteKeyProvider },
    { DeliveryStore },
  ] = await Promise.all([import('../cards/index.ts'), import('../core/data-keys.ts'), import('../delivery/store.ts')]);
  const box = loadSecretBox(config);
  const ch = await openClickHouse(config.clickhouse);
  await migrate(ch);
  const tenants = new TenantStore(ch, box);
  const store = new CardStore(cardsStoreDir(config.dataDir));
  const keys = new DataKeys({ dir: dataKeysDir(config.dataDir), provider: new SuiteKeyProvider(box) });
  return {
    erase: async (tenantId, confirm) => {
      const tenant = await tenants.require(tenantId);
      const r = await erasePersonalData({
        tenantId,
        tenantName: tenant.name,
        confirm,
        keys,
        store,
        audit: new AuditLog(ch),
        by: { actor: { kind: 'operator' }, userAgent: 'tayori-cli' },
        forgetPushRecipients: () => new DeliveryStore(ch).forgetNamedAudiences(tenantId, PUSH_AUDIENCE_LABEL),
        forgetKeyInBackups: async () =>
          (await import('../ops/index.ts')).forgetTenantKeyInBackups(
            config.ops.backupDir,
            tenantId,
            new Date().toISOString(),
          ),
      });
      return { ...r, keyFingerprint: r.key.fingerprint ?? null };
    },
    close: async () => {
      await store.close();
      await ch.close();
    },
  };
}

async function typedConfirmation(tenantId: string, given?: string): Promise<string> {
  if (given !== undefined) return given;
  process.stderr.write(
    `テナント ${tenantId} のパパ・ママ応援ショップ優待カードの個人情報を消去します。暗号鍵を破棄するため、元に戻すことはできません。\n`,
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`実行するには、テナント ID「${tenantId}」を入力してください: `)).trim();
  } finally {
    rl.close();
  }
}

export function registerEraseCommand(tenants: Command, config: () => Config): void {
  tenants
    .command('erase-personal-data')
    .description(
      'テナントの優待カード利用者の個人情報を論理的に消去し (データ鍵を破棄)、データ消去証明書 (PDF) を作成します',
    )
    .requiredOption('--id <code>', 'テナントの地方公共団体コード')
    .option('--confirm <code>', '確認のテナント ID (省略時は入力を求めます)')
    .option('--out <file>', '証明書の保存先 (既定: <データディレクトリ>/certificates/データ消去証明書_<ID>_<日時>.pdf)')
    .action(async (o: { id: string; confirm?: string; out?: string }) => {
      const c = config();
      const confirm = await typedConfirmation(o.id, o.confirm);
      if (confirm !== o.id)
        throw new AppError('confirmation_mismatch', '入力されたテナント ID が一致しないため、消去を中止しました', 400);
      const r = await withGateway(
        c.dataDir,
        {
          api: (suite) => ({
            erase: async (tenantId, conf) => {
              const a = await callSuite<Omit<Erased, 'certificate'> & { certificate: string }>(
                suite,
                'POST',
                `/api/v1/cards/tenants/${encodeURIComponent(tenantId)}/erase-personal-data`,
                { confirm: conf },
              );
              return { ...a, certificate: Buffer.from(a.certificate, 'base64') };
            },
            close: async () => {},
          }),
          direct: () => directGateway(c),
        },
        (g) => g.erase(o.id, confirm),
      );
      const out =
        o.out ??
        path.join(c.dataDir, 'certificates', `データ消去証明書_${r.tenantId}_${r.erasedAt.replace(/[:.]/g, '-')}.pdf`);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, r.certificate, { mode: 0o600 });
      console.log(
        `テナント ${r.tenantId} ${r.tenantName} の個人情報 ${r.records} 件を消去しました (データ鍵 ${r.keyFingerprint ?? 'なし'} を破棄)`,
      );
      if (r.pushes !== null && r.pushes !== undefined)
        console.log(`カード利用者へのお知らせ ${r.pushes} 件の宛先 (LINE ユーザー ID) を配信記録から削除しました`);
      if (r.backups !== null && r.backups !== undefined)
        console.log(
          `このサーバーのバックアップ ${r.backups} 件からデータ鍵を削除しました (別の場所のバックアップは各保管者が削除してください)`,
        );
      console.log(`データ消去証明書: ${out}`);
    });
}
