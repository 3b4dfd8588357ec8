/**
 * The export with the benefit cards' personal data in plain text, for an authorised operator only:
 * `npx tayori export --plain --operator <login>` (the account's password on standard input) opens
 * the households sealed with each tenant's data key into plain columns, for an account holding
 * 住民データの出力 and カード利用者情報; the manifest and README say which file is plain, and the
 * audit records the export as plain under that account. Without the permissions, with a wrong
 * password, or without --operator it is refused in Japanese and nothing is written (the refusal is
 * audited); without --plain the households stay sealed. Run by the CLI with the suite stopped (the
 * running suite's API path is the same service call: test/ops/backup.test.ts goes through it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardStore, cardsStoreDir, Households } from '../../cards/index.ts';
import { AuditLog } from '../../core/audit.ts';
import { openClickHouse } from '../../core/clickhouse.ts';
import { loadSecretBox } from '../../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../../core/data-keys.ts';
import { StaffStore } from '../../core/users.ts';
import { harness, runCli, seedClickHouse, testEnv, type Harness } from '../helpers/index.ts';

let h: Harness;
let env: Record<string, string>;
const PASSWORD = 'plain-export-pass-1';
const TSU = '24201';
const userId = (n: number) => `U${String(n).repeat(32)}`;

beforeAll(async () => {
  h = await harness({ clickhouse: false });
  env = testEnv(h.dir, { LOG_LEVEL: 'error' });
  await seedClickHouse(h.config, async (ch, tenants) => {
    await tenants.add({ id: TSU, name: '津市', kind: 'municipality' });
    await tenants.add({ id: '24202', name: '四日市市', kind: 'municipality' });
    const staff = new StaffStore(ch, async () => 'municipality');
    // 受託者 with both permissions; an admin with the defaults (no カード利用者情報); 津市's own account
    await staff.add({
      username: 'kanri',
      displayName: '受託者 管理',
      role: 'contractor',
      permissions: ['export_residents', 'card_holders'],
      password: PASSWORD,
    });
    await staff.add({ username: 'admin2', displayName: '管理者', role: 'admin', password: PASSWORD });
    await staff.add({
      username: 'tsu',
      displayName: '津市',
      role: 'municipality',
      tenantId: TSU,
      permissions: ['export_residents'],
      password: PASSWORD,
    });
  });
  // households registered as the residents' form does, sealed with each tenant's data key
  const keys = new DataKeys({
    dir: dataKeysDir(h.dir),
    provider: new SuiteKeyProvider(loadSecretBox(h.config, { create: true })),
  });
  const store = new CardStore(cardsStoreDir(h.dir));
  const households = new Households(store, keys);
  await households.save(
    TSU,
    userId(1),
    {
      holderName: '山田 花子',
      relationship: '母',
      kind: 'children',
      children: [
        { name: '山田 太郎', birthDate: '2019-05-05' },
        { name: '山田 "次郎", 二男', birthDate: '2022-01-10' },
      ],
    },
    '2026-12-06',
  );
  await households.save(
    TSU,
    userId(2),
    { holderName: '佐藤 一郎', relationship: '祖父', kind: 'grandparent' },
    '2026-12-06',
  );
  await households.save(
    '24202',
    userId(3),
    { holderName: '四日市 三郎', relationship: '父', kind: 'pregnant' },
    '2026-12-06',
  );
  await store.close();
}, 120_000);
afterAll(() => h?.close());

const out = (name: string) => path.join(h.dir, 'exports', name);
const exportCli = (name: string, extra: string[], input = '') =>
  runCli(['export', '--tenant', TSU, '--out', out(name), ...extra], { env, input, timeoutMs: 120_000 });

/** The households file as rows keyed by column (CSVWithNames: quoted cells, "" for a quote). */
function csvRows(file: string): Array<Record<string, string>> {
  const text = fs.readFileSync(file, 'utf8');
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (quoted) cell += ch;
    else if (ch === ',') endCell();
    else if (ch === '\n') {
      endCell();
      rows.push(row);
      row = [];
    } else cell += ch;
  }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((k, i) => [k, r[i]!])));
}

async function auditRows() {
  const ch = await openClickHouse(h.config.clickhouse);
  try {
    return (await new AuditLog(ch).recent({ action: 'export', limit: 20 })).filter((r) => r.target === 'ops_export');
  } finally {
    await ch.close();
  }
}

describe('export --plain', () => {
  it('by default the households stay sealed', async () => {
    const r = await exportCli('sealed', []);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(out('sealed'), 'manifest.json'), 'utf8'));
    expect(m.plain).toBe(false);
    const t = m.tables.find((x: { name: string }) => x.name === 'cards_households');
    expect(t).toMatchObject({ rows: 2, label: '優待カードの世帯情報 (暗号化されたまま)' });
    expect(t.plain).toBeUndefined();
    const rows = csvRows(path.join(out('sealed'), 'cards_households.csv'));
    expect(rows.map((x) => x.user_id).sort()).toEqual([userId(1), userId(2)]);
    expect(Object.keys(rows[0]!)).toContain('sealed');
    for (const f of fs.readdirSync(out('sealed')))
      expect(fs.readFileSync(path.join(out('sealed'), f), 'utf8')).not.toContain('山田');
    expect(fs.readFileSync(path.join(out('sealed'), 'README.md'), 'utf8')).toContain(
      '優待カードの個人情報は暗号化されたままです',
    );
  }, 150_000);

  it('an account with 住民データの出力 and カード利用者情報 gets the decrypted values, marked plain and audited', async () => {
    const r = await exportCli('plain', ['--plain', '--operator', 'kanri'], `${PASSWORD}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('平文の個人情報を含むファイル: cards_households.csv');
    const dir = out('plain');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({ plain: true, plainBy: 'kanri' });
    const t = m.tables.find((x: { name: string }) => x.name === 'cards_households');
    expect(t).toMatchObject({ plain: true, rows: 2, label: '優待カードの世帯情報 (平文: 復号済みの個人情報)' });
    expect(t.columns.map((c: { name: string }) => c.name)).toEqual([
      'tenant_id',
      'user_id',
      'holder_name',
      'relationship',
      'household_kind',
      'children',
      'registered_ms',
      'updated_ms',
    ]);
    expect(m.tables.filter((x: { plain?: boolean }) => x.plain).map((x: { name: string }) => x.name)).toEqual([
      'cards_households',
    ]);
    const rows = csvRows(path.join(dir, 'cards_households.csv'));
    const yamada = rows.find((x) => x.user_id === userId(1))!;
    expect(yamada).toMatchObject({
      tenant_id: TSU,
      holder_name: '山田 花子',
      relationship: '母',
      household_kind: 'children',
    });
    expect(JSON.parse(yamada.children!)).toEqual([
      { name: '山田 太郎', birthDate: '2019-05-05' },
      { name: '山田 "次郎", 二男', birthDate: '2022-01-10' },
    ]);
    expect(rows.find((x) => x.user_id === userId(2))).toMatchObject({
      holder_name: '佐藤 一郎',
      household_kind: 'grandparent',
      children: '[]',
    });
    expect(rows.some((x) => x.holder_name === '四日市 三郎')).toBe(false); // another tenant's
    expect(Object.keys(yamada)).not.toContain('sealed');
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(
      '**平文の個人情報を含みます** (kanri の権限で復号して書き出しました): cards_households.csv。',
    );
    expect(readme).toContain('## 優待カードの世帯情報 (平文: 復号済みの個人情報) (cards_households.csv)');
    expect(readme).toContain('| holder_name | String | カード対象者の氏名 (平文) — 文字列 |');
    const audit = (await auditRows()).find((a) => a.detail.out === dir)!;
    expect(audit).toMatchObject({ outcome: 'ok', username: 'kanri', role: 'contractor', tenantId: TSU });
    expect(audit.detail).toMatchObject({ plain: true, plainBy: 'kanri', via: 'CLI' });
  }, 150_000);

  it('is refused in Japanese without the permissions, the password or the account, and writes nothing', async () => {
    const denied = await exportCli('admin', ['--plain', '--operator', 'admin2'], `${PASSWORD}\n`);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      '個人情報を平文で書き出すには「カード利用者情報」の権限が必要です (ユーザー admin2)',
    );
    const tsu = await exportCli('tsu', ['--plain', '--operator', 'tsu'], `${PASSWORD}\n`);
    expect(tsu.code).not.toBe(0);
    expect(tsu.stderr).toContain('「カード利用者情報」の権限が必要です (ユーザー tsu)');
    const wrong = await exportCli('wrong', ['--plain', '--operator', 'kanri'], 'not-the-password\n');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('ユーザー kanri を確認できません');
    const none = await exportCli('none', ['--plain']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--operator で指定してください');
    for (const name of ['admin', 'tsu', 'wrong', 'none']) expect(fs.existsSync(out(name)), name).toBe(false);
    expect(fs.readdirSync(path.join(h.dir, 'exports')).filter((n) => n.includes('partial'))).toEqual([]);
    const refusals = (await auditRows()).filter((a) => a.outcome === 'denied');
    expect(refusals.map((a) => a.username).sort()).toEqual(['admin2', 'tsu']);
    expect(refusals[0]!.detail).toMatchObject({ plain: true });
  }, 300_000);
});
