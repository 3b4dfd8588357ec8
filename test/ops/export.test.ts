/**
 * The export for the next vendor: a demo tenant's tables of record, one file per table with a
 * manifest and a Japanese README, loaded into a fresh ClickHouse from the files alone (another
 * process, the embedded engine, no Tayori code: test/ops/load-export.mjs). Rows of other tenants
 * stay out; secrets stay out; the export is audited; a non-empty target is refused and leaves nothing.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../core/audit.ts';
import { createLogger } from '../../core/logger.ts';
import { chDateTime } from '../../core/time.ts';
import { exportData, OpsRecords } from '../../ops/index.ts';
import { ReportStore } from '../../reports/index.ts';
import { issueCreateSchema } from '../../reports/schemas.ts';
import { harness, repoRoot, tmpDir, type Harness } from '../helpers/index.ts';

const run = promisify(execFile);
let h: Harness;
const out = tmpDir('tayori-export-');
const by = { cli: 'テスト' };

beforeAll(async () => {
  h = await harness({
    tenants: [
      {
        id: '24201',
        name: '津市',
        kind: 'municipality',
        credentials: { channelSecret: 's'.repeat(32), channelAccessToken: 'secret-token-24201' },
      },
      { id: '24202', name: '四日市市', kind: 'municipality' },
    ],
  });
  const at = chDateTime(Date.parse('2026-04-10T01:00:00Z'));
  await h.ch.insert({
    table: 'resident_states',
    values: [
      { tenant_id: '24201', user_id: `U${'1'.repeat(32)}`, is_friend: 1, changed_at: at, version: 1 },
      { tenant_id: '24201', user_id: `U${'2'.repeat(32)}`, is_friend: 0, changed_at: at, version: 1 },
      { tenant_id: '24202', user_id: `U${'3'.repeat(32)}`, is_friend: 1, changed_at: at, version: 1 },
    ],
    format: 'JSONEachRow',
  });
  await h.ch.insert({
    table: 'resident_attributes',
    values: [
      {
        tenant_id: '24201',
        user_id: `U${'1'.repeat(32)}`,
        item: 'area',
        values: ['久居', 'a,"b"\n'],
        answered_at: at,
        version: 1,
        is_deleted: 0,
      },
    ],
    format: 'JSONEachRow',
  });
  const store = new ReportStore(h.ch);
  await store.createIssue(
    issueCreateSchema.parse({ tenantId: '24201', raisedOn: '2026-04-10', category: '配信', description: '津市の課題' }),
    'tester',
  );
  await store.createIssue(
    issueCreateSchema.parse({
      tenantId: '24202',
      raisedOn: '2026-04-10',
      category: '配信',
      description: '四日市市の課題',
    }),
    'tester',
  );
  const records = new OpsRecords(h.ch, new AuditLog(h.ch, createLogger('silent')));
  await records.create(
    'support',
    { receivedAt: '2026-04-13T10:00:00+09:00', tenantId: '24201', inquirer: '津市', content: '問い合わせ' },
    { system: 'テスト' },
  );
}, 120_000);
afterAll(async () => {
  out.remove();
  await h?.close();
});

const loadElsewhere = async (dir: string) => {
  const db = tmpDir('tayori-import-');
  try {
    const r = await run(
      process.execPath,
      [path.join(repoRoot, 'test/ops/load-export.mjs'), dir, path.join(db.dir, 'ch')],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return JSON.parse(r.stdout) as { counts: Record<string, number>; checksums: boolean; rows: Record<string, any[]> };
  } finally {
    db.remove();
  }
};

describe('export --tenant', () => {
  it("writes the tenant's tables, which load into a fresh ClickHouse from the files alone", async () => {
    const dir = path.join(out.dir, 'tsu');
    const m = await exportData({ ch: h.ch, audit: new AuditLog(h.ch), by, tenant: '24201', out: dir });
    const names = m.tables.map((t) => t.name);
    for (const t of [
      'tenants',
      'resident_states',
      'resident_attributes',
      'report_issues',
      'report_issues_history',
      'ops_records',
      'audit_log',
      'mileage_ledger',
      'deliveries',
      'surveys',
    ])
      expect(names, t).toContain(t);
    expect(names).not.toContain('schema_migrations');
    expect(names).not.toContain('staff_api_tokens');
    expect(names).not.toContain('mileage_balances'); // a rollup, made again from the ledger
    expect(fs.readdirSync(dir).sort()).toEqual(['README.md', 'manifest.json', ...m.tables.map((t) => t.file)].sort());

    const loaded = await loadElsewhere(dir);
    expect(loaded.checksums).toBe(true);
    for (const t of m.tables) expect(loaded.counts[t.name], t.name).toBe(t.rows);
    expect(loaded.counts.resident_states).toBe(2);
    expect(loaded.counts.tenants).toBe(1);
    expect(loaded.counts.report_issues).toBe(1);
    expect(loaded.rows.report_issues![0].description).toBe('津市の課題');
    expect(loaded.rows.resident_attributes![0].values).toEqual(['久居', 'a,"b"\n']);
    expect(loaded.counts.ops_records).toBe(1);
    // the export itself is audited, and in the audit it carries
    expect(loaded.rows.audit_log!.some((r) => r.action === 'export' && r.target === 'ops_export')).toBe(true);
    // no secrets: the channel's token is not in any file, and its columns are not exported
    const tenantCols = m.tables.find((t) => t.name === 'tenants')!.columns.map((c) => c.name);
    expect(tenantCols).not.toContain('channel_access_token_enc');
    expect(tenantCols).not.toContain('channel_secret_enc');
    for (const f of fs.readdirSync(dir)) expect(fs.readFileSync(path.join(dir, f), 'utf8')).not.toContain('四日市市');

    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('## 住民の友だち状態 (友だち・ブロック) (resident_states.csv)');
    expect(readme).toContain('| tenant_id | String | 団体コード');
    expect(readme).toContain('| is_friend | UInt8 | 友だちなら 1、ブロック中なら 0 — 整数 |');
  }, 120_000);

  it('all tenants as Parquet load the same way', async () => {
    const dir = path.join(out.dir, 'all');
    const m = await exportData({ ch: h.ch, audit: new AuditLog(h.ch), by, tenant: 'all', out: dir, format: 'parquet' });
    expect(m.tables.every((t) => t.file.endsWith('.parquet'))).toBe(true);
    const loaded = await loadElsewhere(dir);
    expect(loaded.checksums).toBe(true);
    expect(loaded.counts.resident_states).toBe(3);
    expect(loaded.counts.tenants).toBe(2);
    expect(loaded.counts.report_issues).toBe(2);
  }, 120_000);

  it('refuses a target that is not empty, an unknown tenant, and leaves nothing behind', async () => {
    const dir = path.join(out.dir, 'full');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'x');
    await expect(
      exportData({ ch: h.ch, audit: new AuditLog(h.ch), by, tenant: '24201', out: dir }),
    ).rejects.toMatchObject({
      code: 'export_out_not_empty',
      status: 409,
    });
    expect(fs.readdirSync(dir)).toEqual(['keep.txt']);
    await expect(
      exportData({ ch: h.ch, audit: new AuditLog(h.ch), by, tenant: '24999', out: path.join(out.dir, 'none') }),
    ).rejects.toMatchObject({ code: 'unknown_tenant', status: 404 });
    expect(fs.readdirSync(out.dir).filter((n) => n.includes('partial'))).toEqual([]);
  }, 60_000);
});
