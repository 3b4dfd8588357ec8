/**
 * The export for the next vendor: every table of record of a tenant (or of all), one file per table,
 * CSV (ClickHouse's CSVWithNames: UTF-8, RFC 4180 quoting, \N for NULL) or Parquet, a manifest with
 * row counts, column types and SHA-256 checksums, and a README in Japanese describing each column.
 * The engine writes each file itself (INSERT INTO FUNCTION file …), so 2M residents stream from the
 * table to the disk without passing through this process's memory. Written into a temporary
 * directory renamed into place when complete: a failed export leaves nothing. Audited.
 *
 * Left out: secrets (the channel's secret and token, password hashes, API tokens), derived rollups
 * (made again from the ledger), the self-check's raw results and the migration bookkeeping.
 *
 * Personal data sealed with a tenant's data key (the benefit cards' households) is exported sealed,
 * unless `plain` names an authorised staff account (住民データの出力 and カード利用者情報, the tenant
 * in its reach): then its fields are opened into plain columns, the export is audited as plain, and
 * the manifest and README say which files hold plain personal data. A refusal is audited too.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import {
  canSeeEvery,
  hasPermission,
  PERMISSION_LABELS,
  type Permission,
  type Principal,
  requireTenant,
  type StaffIdentity,
} from '../core/auth.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { tokyoIso } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { COLUMN_LABELS, TABLE_LABELS, typeLabel } from './export-columns.ts';

export const EXPORT_FORMAT = 'tayori-export/1';
export type FileFormat = 'csv' | 'parquet';

const SKIP_TABLES = new Set(['schema_migrations', 'staff_api_tokens', 'ops_checks', 'ops_backups', 'report_files']);
const SKIP_COLUMNS = new Set(['channel_secret_enc', 'channel_access_token_enc', 'password_hash']);

/** A table kept outside ClickHouse (the card store), handed in by the suite. */
export interface ExportExtra {
  name: string;
  columns: Array<{ name: string; type: 'String' | 'Int64' }>;
  rows(tenant: string | 'all'): AsyncIterable<Record<string, string | number>>;
  /**
   * A column holding a JSON object sealed with the row's tenant's data key: a plain export writes
   * `fields` (column ← the object's key; objects and arrays as JSON) in its place.
   */
  sealed?: { column: string; fields: Array<{ name: string; key: string }> };
}

/** Opens what a tenant's data key sealed (core/data-keys.ts DataKeys). */
export interface Opener {
  decrypt(tenantId: string, sealed: string): string;
}

/** What a plain export needs: the staff account that asked (checked here) and the tenants' data keys. */
export interface PlainExport {
  staff: StaffIdentity;
  keys: Opener;
}

/** What an account needs for a plain export. */
export const PLAIN_EXPORT_PERMISSIONS: readonly Permission[] = ['export_residents', 'card_holders'];

export interface ExportedTable {
  name: string;
  label: string;
  file: string;
  /** Personal data in plain text (opened with the tenant's data key) rather than sealed. */
  plain?: boolean;
  rows: number;
  bytes: number;
  sha256: string;
  columns: Array<{ name: string; type: string; description: string }>;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  tenant: string;
  fileFormat: FileFormat;
  createdAt: string;
  /** Whether sealed personal data was opened, and for whom (username). */
  plain: boolean;
  plainBy?: string;
  tables: ExportedTable[];
}

const quote = (name: string) => `\`${name.replace(/`/g, '\\`')}\``;
const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const CH_FORMAT: Record<FileFormat, string> = { csv: 'CSVWithNames', parquet: 'Parquet' };

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

/** Which rows of a table belong to `tenant` (SQL, `{tenant:String}` bound); undefined: none are a tenant's. */
function tenantFilter(table: string, columns: Set<string>): string | undefined {
  if (columns.has('tenant_id')) return 'tenant_id = {tenant:String}';
  if (columns.has('tenant_ids')) return 'has(tenant_ids, {tenant:String})';
  if (table === 'report_minutes_history')
    return "has(JSONExtract(record, 'tenantIds', 'Array(String)'), {tenant:String})";
  if (table === 'report_issues_history' || table === 'ops_records_history' || table === 'ops_records')
    return "JSONExtractString(record, 'tenantId') = {tenant:String}";
  return undefined;
}

/** An extra's columns with its sealed column replaced by the fields it holds. */
function plainColumns(x: ExportExtra): ExportExtra['columns'] {
  const sealed = x.sealed!;
  return x.columns.flatMap((c) =>
    c.name === sealed.column ? sealed.fields.map((f) => ({ name: f.name, type: 'String' as const })) : [c],
  );
}

/** A stored row with its sealed column opened (the tenant's data key; 410 when it was destroyed). */
function openRow(x: ExportExtra, row: Record<string, string | number>, keys: Opener): Record<string, string | number> {
  const sealed = x.sealed!;
  const fields = JSON.parse(keys.decrypt(String(row.tenant_id), String(row[sealed.column]))) as Record<string, unknown>;
  const out: Record<string, string | number> = { ...row };
  delete out[sealed.column];
  for (const f of sealed.fields) {
    const v = fields[f.key];
    out[f.name] = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

function ckCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  return `"${v.replace(/"/g, '""')}"`;
}

export interface ExportOptions {
  ch: ClickHouseClient;
  audit: AuditLog;
  /** Who asked: a staff member through the API, or the CLI. */
  by: AuditContext | { cli: string };
  tenant: string | 'all';
  out: string;
  format?: FileFormat;
  extras?: ExportExtra[];
  /** Open sealed personal data (an authorised staff account only). */
  plain?: PlainExport;
  now?: () => number;
}

/** How a plain export was asked for, for the audit. */
const via = (by: ExportOptions['by']) =>
  'cli' in by ? by.cli : by.actor.kind === 'operator' ? 'CLI (稼働中のスイート経由)' : 'API';

/** The account behind a plain export, as a principal for the audit. */
function staffPrincipal(s: StaffIdentity): Principal {
  return { ...s, kind: 'staff', via: 'token' };
}

/** 403 in Japanese unless `staff` may take `tenant`'s personal data out in plain text. */
export function requirePlainExport(staff: StaffIdentity, tenant: string | 'all'): void {
  const p = staffPrincipal(staff);
  const missing = PLAIN_EXPORT_PERMISSIONS.filter((perm) => !hasPermission(p, perm));
  if (missing.length)
    throw new AppError(
      'plain_export_forbidden',
      `個人情報を平文で書き出すには「${missing.map((m) => PERMISSION_LABELS[m]).join('」と「')}」の権限が必要です (ユーザー ${staff.username})`,
      403,
    );
  if (tenant === 'all' && !canSeeEvery(p))
    throw new AppError(
      'plain_export_forbidden',
      `ユーザー ${staff.username} はすべての団体の個人情報を平文で書き出せません (担当の団体だけ指定できます)`,
      403,
    );
  if (tenant !== 'all') requireTenant(p, tenant);
}

export async function exportData(o: ExportOptions): Promise<ExportManifest> {
  const format = o.format ?? 'csv';
  const out = path.resolve(o.out);
  if (fs.existsSync(out) && fs.readdirSync(out).length)
    throw new AppError(
      'export_out_not_empty',
      `出力先 ${out} は空ではありません。空のディレクトリか新しい名前を指定してください`,
      409,
    );
  const { ch } = o;
  if (o.tenant !== 'all') {
    const rs = await ch.query({
      query: 'SELECT count() AS n FROM tenants FINAL WHERE tenant_id = {t:String}',
      query_params: { t: o.tenant },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: number | string }>();
    if (!Number(row?.n)) throw new AppError('unknown_tenant', `団体 ${o.tenant} は登録されていません`, 404);
  }
  const plainBy = o.plain?.staff.username;
  const detail = { tenant: o.tenant, format, out, plain: Boolean(o.plain), ...(plainBy ? { plainBy } : {}) };
  if (o.plain) {
    try {
      requirePlainExport(o.plain.staff, o.tenant);
    } catch (e) {
      await o.audit.record({
        action: 'export',
        outcome: 'denied',
        actor: staffPrincipal(o.plain.staff),
        tenantId: o.tenant === 'all' ? null : o.tenant,
        target: 'ops_export',
        detail: { ...detail, via: via(o.by), reason: (e as Error).message },
      });
      throw e;
    }
  }
  if (o.plain)
    // the named account is who took the data out (the caller is the CLI or that account itself)
    await o.audit.record({
      action: 'export',
      actor: staffPrincipal(o.plain.staff),
      tenantId: o.tenant === 'all' ? null : o.tenant,
      target: 'ops_export',
      detail: { ...detail, via: via(o.by) },
      ...('cli' in o.by ? {} : { ip: o.by.ip, userAgent: o.by.userAgent }),
    });
  else if ('cli' in o.by)
    await o.audit.record({
      action: 'export',
      username: o.by.cli,
      tenantId: o.tenant === 'all' ? null : o.tenant,
      target: 'ops_export',
      detail,
    });
  else
    await o.audit.by(o.by, {
      action: 'export',
      tenantId: o.tenant === 'all' ? null : o.tenant,
      target: 'ops_export',
      detail,
    });

  const work = path.join(path.dirname(out), `.${path.basename(out)}.${randomBytes(4).toString('hex')}.partial`);
  fs.mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    const tables = await query(ch, 'ops.tables', {}, z.object({ name: z.string(), engine: z.string() }));
    const cols = await query(
      ch,
      'ops.columns',
      { tables: tables.map((t) => t.name) },
      z.object({ table: z.string(), name: z.string(), type: z.string(), comment: z.string() }),
    );
    const written: ExportedTable[] = [];
    for (const t of tables) {
      if (SKIP_TABLES.has(t.name) || t.engine.startsWith('Aggregating')) continue;
      const all = cols.filter((c) => c.table === t.name);
      const filter = o.tenant === 'all' ? '1' : tenantFilter(t.name, new Set(all.map((c) => c.name)));
      if (!filter) continue;
      const keep = all.filter((c) => !SKIP_COLUMNS.has(c.name) && !c.type.includes('AggregateFunction'));
      const file = `${t.name}.${format}`;
      const abs = path.join(work, file);
      const final = t.engine.startsWith('Replacing') ? ' FINAL' : '';
      await ch.command({
        query: `INSERT INTO FUNCTION file(${literal(abs)}, '${CH_FORMAT[format]}') SELECT ${keep.map((c) => quote(c.name)).join(', ')} FROM ${quote(t.name)}${final} WHERE ${filter} SETTINGS engine_file_truncate_on_insert = 1`,
        query_params: o.tenant === 'all' ? {} : { tenant: o.tenant },
      });
      written.push(await describe(ch, abs, file, t.name, keep, format));
    }
    for (const x of o.extras ?? []) {
      const plain = Boolean(o.plain && x.sealed);
      const columns = plain ? plainColumns(x) : x.columns;
      const csv = path.join(work, `${x.name}.csv`);
      const ws = fs.createWriteStream(csv, { mode: 0o600 });
      const write = async (line: string) => {
        if (!ws.write(line)) await new Promise<void>((r) => ws.once('drain', () => r()));
      };
      await write(`${columns.map((c) => ckCell(c.name)).join(',')}\n`);
      for await (const stored of x.rows(o.tenant)) {
        const row = plain ? openRow(x, stored, o.plain!.keys) : stored;
        await write(`${columns.map((c) => ckCell(row[c.name] ?? '')).join(',')}\n`);
      }
      await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
      const described = columns.map((c) => ({ table: x.name, name: c.name, type: c.type, comment: '' }));
      let file = `${x.name}.csv`;
      if (format === 'parquet') {
        file = `${x.name}.parquet`;
        const structure = columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ');
        await ch.command({
          query: `INSERT INTO FUNCTION file(${literal(path.join(work, file))}, 'Parquet') SELECT * FROM file(${literal(csv)}, 'CSVWithNames', ${literal(structure)}) SETTINGS engine_file_truncate_on_insert = 1`,
        });
        fs.rmSync(csv);
      }
      const t = await describe(ch, path.join(work, file), file, x.name, described, format);
      if (x.sealed) {
        t.label = `${t.label} (${plain ? '平文: 復号済みの個人情報' : '暗号化されたまま'})`;
        if (plain) t.plain = true;
      }
      written.push(t);
    }
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      tenant: o.tenant,
      fileFormat: format,
      createdAt: tokyoIso((o.now ?? Date.now)()),
      plain: written.some((t) => t.plain),
      ...(plainBy ? { plainBy } : {}),
      tables: written,
    };
    fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify(manifest, null, 2));
    fs.writeFileSync(path.join(work, 'README.md'), readme(manifest));
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.renameSync(work, out);
    return manifest;
  } catch (e) {
    fs.rmSync(work, { recursive: true, force: true });
    if (e instanceof AppError) throw e;
    throw new AppError('export_failed', `データの書き出しに失敗しました: ${(e as Error).message}`, 500);
  }
}

async function describe(
  ch: ClickHouseClient,
  abs: string,
  file: string,
  name: string,
  columns: Array<{ name: string; type: string; comment: string }>,
  format: FileFormat,
): Promise<ExportedTable> {
  if (!fs.existsSync(abs))
    fs.writeFileSync(abs, format === 'csv' ? `${columns.map((c) => ckCell(c.name)).join(',')}\n` : '');
  const structure = columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ');
  let rows = 0;
  if (fs.statSync(abs).size) {
    const rs = await ch.query({
      query: `SELECT count() AS n FROM file(${literal(abs)}, '${CH_FORMAT[format]}', ${literal(structure)})`,
      format: 'JSONEachRow',
    });
    rows = Number((await rs.json<{ n: number | string }>())[0]?.n ?? 0);
  }
  return {
    name,
    label: TABLE_LABELS[name] ?? name,
    file,
    rows,
    bytes: fs.statSync(abs).size,
    sha256: await sha256(abs),
    columns: columns.map((c) => ({
      name: c.name,
      type: c.type,
      description: [COLUMN_LABELS[c.name], typeLabel(c.type)].filter(Boolean).join(' — '),
    })),
  };
}

function readme(m: ExportManifest): string {
  const lines = [
    '# Tayori データ書き出し',
    '',
    `- 対象: ${m.tenant === 'all' ? 'すべての団体' : `団体コード ${m.tenant}`}`,
    `- 作成日時: ${m.createdAt}`,
    `- 形式: ${m.fileFormat === 'csv' ? 'CSV (UTF-8、1 行目は列名、RFC 4180 の引用、空欄 (NULL) は \\N)' : 'Parquet'}`,
    '- 1 つのファイルが 1 つの表です。行数と SHA-256 は manifest.json にあります (取り込み後の照合に使えます)。',
    '- 日時は特記のない限り UTC です (日本時間は 9 時間を足します)。',
    '- 「版」(version) のある表は、同じ ID の行のうち最新の版だけを残して書き出しています。',
    '- 含まないもの: LINE チャネルのシークレットとアクセストークン、パスワード、API トークン (移行先で再発行してください)、',
    '  集計用の中間表 (台帳から作り直せます)。',
    ...(m.plain
      ? [
          `- **平文の個人情報を含みます** (${m.plainBy ?? ''} の権限で復号して書き出しました): ${m.tables
            .filter((t) => t.plain)
            .map((t) => t.file)
            .join('、')}。`,
          '  取り扱いは個人情報の管理規程に従い、移行が済んだら確実に消去してください。',
        ]
      : ['- 優待カードの個人情報は暗号化されたままです (復号には団体ごとのデータ鍵が必要です)。']),
    '',
  ];
  for (const t of m.tables) {
    lines.push(
      `## ${t.label} (${t.file})`,
      '',
      `${t.rows.toLocaleString('ja-JP')} 行${t.plain ? ' — 平文の個人情報です' : ''}`,
      '',
      '| 列 | 型 | 説明 |',
      '| --- | --- | --- |',
    );
    for (const c of t.columns) lines.push(`| ${c.name} | ${c.type} | ${c.description.replace(/\|/g, '\\|')} |`);
    lines.push('');
  }
  return lines.join('\n');
}
