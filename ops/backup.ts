/**
 * Backups that restore. The embedded engine (chDB) refuses `BACKUP … TO File/Disk` (its
 * backups.allowed_path / allowed_disk cannot be configured), so ClickHouse is dumped table by table
 * in its Native format (the engine writes the file itself: nothing passes through this process's
 * memory) and loaded back column by column. Besides: Redis's keys (DUMP/RESTORE, whichever server),
 * the generated report files, the residents' card store and the tenants' wrapped data keys. A
 * manifest lists every file with its SHA-256; `verify` re-reads them all. The suite's key file is
 * never copied: it is what unlocks the rest.
 *
 *   <backupDir>/<id>/manifest.json
 *                    clickhouse/<table>.native
 *                    redis/keys.jsonl
 *                    files/<store>/…        (reports, cards, data-keys)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { dataKeyFileName } from '../core/data-keys.ts';
import { shredFile, syncDir } from '../core/durable-files.ts';
import { AppError, unavailableError } from '../core/errors.ts';
import type { Redis } from '../core/redis.ts';
import { counter, gauge } from '../core/metrics-registry.ts';
import { chDateTime, tokyoIso, TOKYO_OFFSET_MS } from '../core/time.ts';
import { z } from '../core/zod.ts';

export const MANIFEST = 'manifest.json';
export const BACKUP_FORMAT = 'tayori-backup/1';

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  id: string;
  createdAt: string;
  madeBy: string;
  /** The last migration applied when the backup was made. */
  schemaVersion: number;
  tables: Array<{ name: string; rows: number; file: string; columns: Array<{ name: string; type: string }> }>;
  redisKeys: number;
  stores: string[];
  files: ManifestFile[];
  /** Tenants' data keys taken out of this backup by a logical erasure made after it. */
  erasures?: Array<{ tenantId: string; erasedAt: string; removed: string[] }>;
}

/** A directory store copied as it is (reports), or by its own consistent copy (the card store's LMDB). */
export interface FileStore {
  name: string;
  dir: string;
  /** Copies a consistent image of the store into `dest` (default: a plain recursive copy). */
  copy?(dest: string): Promise<void>;
}

export interface BackupDeps {
  ch: ClickHouseClient;
  /** The suite's Redis (undefined: the backup has no Redis part). */
  redis?: Redis;
  stores: FileStore[];
  backupDir: string;
  /** Waits until what was acknowledged is in ClickHouse (the event log shipped). */
  quiesce?(): Promise<void>;
  now?: () => number;
}

export interface BackupSummary {
  id: string;
  createdAt: string;
  bytes: number;
  tables: number;
  rows: number;
  redisKeys: number;
  weekly: boolean;
}

const backupsTotal = counter('tayori_backups_total', 'Backups made, by outcome', ['outcome']);
const lastBackupGauge = gauge('tayori_backup_last_success_timestamp_seconds', 'When the last good backup finished');
const lastBackupBytes = gauge('tayori_backup_last_bytes', 'Size of the last good backup');

const ID = /^\d{8}T\d{6}Z$/;

/** The backup's id: its UTC start time, e.g. 20261206T030000Z. */
export function backupId(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function checkBackupId(id: string): string {
  if (!ID.test(id)) throw new AppError('invalid_backup_id', `バックアップの名前が正しくありません: ${id}`, 400);
  return id;
}

const quote = (name: string) => `\`${name.replace(/`/g, '\\`')}\``;
const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

function walk(dir: string, base = dir): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out.sort();
}

function copyTree(from: string, to: string): void {
  for (const rel of walk(from)) {
    fs.mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
    fs.copyFileSync(path.join(from, rel), path.join(to, rel));
  }
}

const tableRow = z.object({ name: z.string(), engine: z.string() });
const columnRow = z.object({ table: z.string(), name: z.string(), type: z.string(), comment: z.string() });

export async function tablesOfRecord(ch: ClickHouseClient): Promise<string[]> {
  return (await query(ch, 'ops.tables', {}, tableRow)).map((t) => t.name);
}

export async function columnsOf(
  ch: ClickHouseClient,
  tables: string[],
): Promise<Map<string, Array<{ name: string; type: string; comment: string }>>> {
  const out = new Map<string, Array<{ name: string; type: string; comment: string }>>();
  for (const c of await query(ch, 'ops.columns', { tables }, columnRow)) {
    const list = out.get(c.table) ?? [];
    list.push({ name: c.name, type: c.type, comment: c.comment });
    out.set(c.table, list);
  }
  return out;
}

async function count(ch: ClickHouseClient, sql: string): Promise<number> {
  const rs = await ch.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: number | string }>();
  return Number(row?.n ?? 0);
}

export class Backups {
  readonly #d: BackupDeps;
  readonly #now: () => number;
  #running: Promise<BackupSummary> | undefined;

  constructor(deps: BackupDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  get dir(): string {
    return this.#d.backupDir;
  }

  /** Makes a backup (one at a time: a second call joins the one running). */
  create(madeBy: string): Promise<BackupSummary> {
    this.#running ??= this.#create(madeBy).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #create(madeBy: string): Promise<BackupSummary> {
    const started = this.#now();
    const id = backupId(started);
    const final = path.join(this.#d.backupDir, id);
    const work = path.join(this.#d.backupDir, `.${id}.partial`);
    let phase = '準備';
    try {
      if (fs.existsSync(final)) throw new AppError('backup_exists', `バックアップ ${id} は既にあります`, 409);
      fs.rmSync(work, { recursive: true, force: true });
      fs.mkdirSync(path.join(work, 'clickhouse'), { recursive: true, mode: 0o700 });
      await this.#d.quiesce?.();
      const { ch } = this.#d;
      const names = await tablesOfRecord(ch);
      const columns = await columnsOf(ch, names);
      const tables: Manifest['tables'] = [];
      for (const name of names) {
        phase = `ClickHouse の表 ${name}`;
        const file = `clickhouse/${name}.native`;
        const abs = path.join(work, file);
        const cols = (columns.get(name) ?? []).map((c) => ({ name: c.name, type: c.type }));
        // one statement per table: the rows counted are the rows written
        await ch.command({
          query: `INSERT INTO FUNCTION file(${literal(abs)}, 'Native') SELECT * FROM ${quote(name)} SETTINGS engine_file_truncate_on_insert = 1`,
        });
        if (!fs.existsSync(abs)) fs.writeFileSync(abs, '');
        const rows = fs.statSync(abs).size
          ? await count(ch, `SELECT count() AS n FROM file(${literal(abs)}, 'Native')`)
          : 0;
        tables.push({ name, rows, file, columns: cols });
      }
      phase = 'Redis';
      let redisKeys = 0;
      if (this.#d.redis)
        redisKeys = await dumpRedis(this.#d.redis, path.join(work, 'redis', 'keys.jsonl')).catch((e: unknown) => {
          throw unavailableError('redis', e);
        });
      for (const s of this.#d.stores) {
        phase = s.name;
        const dest = path.join(work, 'files', s.name);
        fs.mkdirSync(dest, { recursive: true });
        if (s.copy) await s.copy(dest);
        else copyTree(s.dir, dest);
      }
      phase = '目録';
      const schemaVersion = await count(ch, 'SELECT max(version) AS n FROM schema_migrations');
      const files: ManifestFile[] = [];
      for (const rel of walk(work)) {
        const abs = path.join(work, rel);
        files.push({ path: rel, bytes: fs.statSync(abs).size, sha256: await sha256(abs) });
      }
      const manifest: Manifest = {
        format: BACKUP_FORMAT,
        id,
        createdAt: tokyoIso(started),
        madeBy,
        schemaVersion,
        tables,
        redisKeys,
        stores: this.#d.stores.map((s) => s.name),
        files,
      };
      fs.writeFileSync(path.join(work, MANIFEST), JSON.stringify(manifest, null, 2));
      fs.renameSync(work, final);
      const bytes = files.reduce((a, f) => a + f.bytes, 0);
      await this.#log({ id, started, ok: true, bytes, error: '', madeBy });
      backupsTotal.labels('ok').inc();
      lastBackupGauge.set(this.#now() / 1000);
      lastBackupBytes.set(bytes);
      return {
        id,
        createdAt: manifest.createdAt,
        bytes,
        tables: tables.length,
        rows: tables.reduce((a, t) => a + t.rows, 0),
        redisKeys,
        weekly: isWeekly(id),
      };
    } catch (e) {
      fs.rmSync(work, { recursive: true, force: true });
      backupsTotal.labels('failed').inc();
      const message = (e as Error).message;
      await this.#log({ id, started, ok: false, bytes: 0, error: message, madeBy }).catch(() => {});
      if (e instanceof AppError) throw e;
      throw new AppError('backup_failed', `バックアップに失敗しました (${phase}): ${message}`, 500);
    }
  }

  async #log(r: { id: string; started: number; ok: boolean; bytes: number; error: string; madeBy: string }) {
    await this.#d.ch.insert({
      table: 'ops_backups',
      values: [
        {
          backup_id: r.id,
          started_at: chDateTime(r.started),
          finished_at: chDateTime(this.#now()),
          ok: r.ok ? 1 : 0,
          bytes: r.bytes,
          error: r.error.slice(0, 2000),
          made_by: r.madeBy,
        },
      ],
      format: 'JSONEachRow',
    });
  }

  /** Backups on disk, newest first. */
  list(): Array<{ id: string; createdAt: string; bytes: number; weekly: boolean; madeBy: string }> {
    return listBackups(this.#d.backupDir);
  }

  /** Keeps the newest `daily` backups and the newest of each of the last `weekly` weeks (Sunday, Tokyo). */
  prune(keep: { daily: number; weekly: number }): string[] {
    const all = this.list();
    const kept = new Set(all.slice(0, keep.daily).map((b) => b.id));
    const weeks = new Set<string>();
    for (const b of all) {
      const w = weekOf(b.id);
      if (weeks.has(w)) continue;
      if (weeks.size >= keep.weekly) break;
      weeks.add(w);
      kept.add(b.id);
    }
    const removed: string[] = [];
    for (const b of all) {
      if (kept.has(b.id)) continue;
      fs.rmSync(path.join(this.#d.backupDir, b.id), { recursive: true, force: true });
      removed.push(b.id);
    }
    return removed;
  }
}

/** The instant a backup id names. */
function idMs(id: string): number {
  return Date.parse(
    `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}Z`,
  );
}

/** The Tokyo week (starting Sunday) a backup falls in. */
function weekOf(id: string): string {
  const tokyo = new Date(idMs(id) + TOKYO_OFFSET_MS);
  tokyo.setUTCDate(tokyo.getUTCDate() - tokyo.getUTCDay());
  return tokyo.toISOString().slice(0, 10);
}

/** Made on a Sunday (Tokyo). */
function isWeekly(id: string): boolean {
  return new Date(idMs(id) + TOKYO_OFFSET_MS).getUTCDay() === 0;
}

export function listBackups(
  backupDir: string,
): Array<{ id: string; createdAt: string; bytes: number; weekly: boolean; madeBy: string }> {
  if (!fs.existsSync(backupDir)) return [];
  const out = [];
  for (const id of fs.readdirSync(backupDir).filter((n) => ID.test(n))) {
    try {
      const m = readManifest(path.join(backupDir, id));
      out.push({
        id,
        createdAt: m.createdAt,
        bytes: m.files.reduce((a, f) => a + f.bytes, 0),
        weekly: isWeekly(id),
        madeBy: m.madeBy,
      });
    } catch {
      /* a directory without a readable manifest is not a backup */
    }
  }
  return out.sort((a, b) => b.id.localeCompare(a.id));
}

export function readManifest(dir: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch (e) {
    throw new AppError(
      'backup_manifest_unreadable',
      `バックアップの目録 (${MANIFEST}) を読めません: ${(e as Error).message}`,
      400,
    );
  }
  if (m.format !== BACKUP_FORMAT)
    throw new AppError('backup_format', `Tayori のバックアップではないか、形式が異なります (${String(m.format)})`, 400);
  return m;
}

/** Where a backup keeps the tenants' wrapped data keys (the store named 'data-keys'). */
const DATA_KEYS_STORE = 'data-keys';

/**
 * A logical erasure's reach into the backups on this server: the tenant's wrapped data key is taken
 * out of every backup under `backupDir` (overwritten with zeros, synced, removed; the manifest
 * rewritten without it and noting the erasure, so `verify` still passes), so that restoring a backup
 * made before the erasure cannot make the erased data readable again. The ids of the backups that held it.
 */
export function forgetTenantKeyInBackups(backupDir: string, tenantId: string, erasedAt: string): string[] {
  const touched: string[] = [];
  for (const b of listBackups(backupDir)) {
    const dir = path.join(backupDir, b.id);
    const rel = `files/${DATA_KEYS_STORE}/${dataKeyFileName(tenantId)}`;
    const file = path.join(dir, rel);
    if (!fs.existsSync(file)) continue;
    shredFile(file);
    const m = readManifest(dir);
    m.files = m.files.filter((f) => f.path !== rel);
    m.erasures = [...(m.erasures ?? []), { tenantId, erasedAt, removed: [rel] }];
    const tmp = path.join(dir, `${MANIFEST}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(m, null, 2));
    const tfd = fs.openSync(tmp, 'r');
    fs.fsyncSync(tfd);
    fs.closeSync(tfd);
    fs.renameSync(tmp, path.join(dir, MANIFEST));
    syncDir(dir);
    touched.push(b.id);
  }
  return touched;
}

export interface VerifyResult {
  id: string;
  ok: boolean;
  checked: number;
  /** Files whose bytes differ from the manifest, or that are missing. */
  bad: Array<{ path: string; problem: 'missing' | 'size' | 'checksum' }>;
}

/** Re-reads every file of a backup and checks its size and SHA-256 against the manifest. */
export async function verifyBackup(dir: string): Promise<VerifyResult> {
  const m = readManifest(dir);
  const bad: VerifyResult['bad'] = [];
  for (const f of m.files) {
    const abs = path.join(dir, f.path);
    if (!fs.existsSync(abs)) bad.push({ path: f.path, problem: 'missing' });
    else if (fs.statSync(abs).size !== f.bytes) bad.push({ path: f.path, problem: 'size' });
    else if ((await sha256(abs)) !== f.sha256) bad.push({ path: f.path, problem: 'checksum' });
  }
  return { id: m.id, ok: bad.length === 0, checked: m.files.length, bad };
}

// ---------------------------------------------------------------- Redis

async function dumpRedis(redis: Redis, file: string): Promise<number> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const out = fs.createWriteStream(file);
  let n = 0;
  let cursor = '0';
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const [dump, ttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
        if (!dump) continue;
        const line = `${JSON.stringify({ k: key, ttl: ttl > 0 ? ttl : 0, v: dump.toString('base64') })}\n`;
        if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
        n++;
      }
    } while (cursor !== '0');
  } finally {
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
  return n;
}

async function restoreRedis(redis: Redis, file: string): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  let n = 0;
  const text = fs.readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { k, ttl, v } = JSON.parse(line) as { k: string; ttl: number; v: string };
    await redis.restore(k, ttl, Buffer.from(v, 'base64'), 'REPLACE');
    n++;
  }
  return n;
}

// ---------------------------------------------------------------- restore

export interface RestoreTarget {
  /** A migrated, empty ClickHouse (the target data directory's). */
  ch: ClickHouseClient;
  /** The target's Redis, empty. */
  redis?: Redis;
  /** Where each store's files go (by name, as in the manifest). */
  stores: Record<string, string>;
}

/**
 * Restores a backup into an empty suite: checks every file first (nothing is written from a
 * backup that fails `verify`), then loads each table (views dropped meanwhile, so their targets are
 * not filled twice, and made again afterwards), Redis's keys and the stores' files.
 */
export async function restoreBackup(
  dir: string,
  target: RestoreTarget,
): Promise<{ tables: number; rows: number; redisKeys: number }> {
  const verified = await verifyBackup(dir);
  if (!verified.ok)
    throw new AppError(
      'backup_corrupt',
      `バックアップ ${verified.id} は壊れています: ${verified.bad.map((b) => `${b.path} (${b.problem})`).join('、')}`,
      400,
      { bad: verified.bad },
    );
  const m = readManifest(dir);
  const { ch } = target;
  const have = new Set(await tablesOfRecord(ch));
  const nonEmpty: string[] = [];
  for (const t of m.tables) {
    if (!have.has(t.name) || t.name === 'schema_migrations') continue;
    if ((await count(ch, `SELECT count() AS n FROM ${quote(t.name)}`)) > 0) nonEmpty.push(t.name);
  }
  if (nonEmpty.length)
    throw new AppError(
      'restore_target_not_empty',
      `復元先のデータベースが空ではありません (${nonEmpty.slice(0, 5).join('、')}${nonEmpty.length > 5 ? ' ほか' : ''})。空のデータディレクトリに復元してください`,
      409,
    );
  const views = await query(ch, 'ops.views', {}, z.object({ name: z.string(), create_table_query: z.string() }));
  for (const v of views) await ch.command({ query: `DROP VIEW IF EXISTS ${quote(v.name)}` });
  let rows = 0;
  try {
    const current = await columnsOf(
      ch,
      m.tables.map((t) => t.name),
    );
    for (const t of m.tables) {
      const cols = current.get(t.name);
      // the target's own migrations record its schema; the rows of the backup's are not loaded
      if (!cols || !t.rows || t.name === 'schema_migrations') continue;
      const names = new Set(cols.map((c) => c.name));
      const shared = t.columns.filter((c) => names.has(c.name));
      const structure = t.columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ');
      const list = shared.map((c) => quote(c.name)).join(', ');
      await ch.command({
        query: `INSERT INTO ${quote(t.name)} (${list}) SELECT ${list} FROM file(${literal(path.join(dir, t.file))}, 'Native', ${literal(structure)})`,
      });
      rows += t.rows;
    }
  } finally {
    for (const v of views) await ch.command({ query: v.create_table_query });
  }
  const redisKeys = target.redis ? await restoreRedis(target.redis, path.join(dir, 'redis', 'keys.jsonl')) : 0;
  for (const name of m.stores) {
    const dest = target.stores[name];
    if (!dest) continue;
    copyTree(path.join(dir, 'files', name), dest);
  }
  return { tables: m.tables.length, rows, redisKeys };
}
