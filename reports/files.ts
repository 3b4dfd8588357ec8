/**
 * Generated report files: the bytes under the reports directory (TAYORI_REPORTS_DIR, default
 * <dataDir>/reports), one row per file in ClickHouse (`report_files`) with the file's SHA-256.
 *
 *   <reportsDir>/<period>/<kind>/v<N>-<fileName>     e.g. 2026-10/kpi-xlsx/v2-令和8年10月分_KPI報告書.xlsx
 *
 * A file is written to a temporary name, fsynced, then linked to its final name (which fails rather
 * than replace an existing file) and the directory fsynced: a version once stored is never
 * overwritten. The rows of a batch (one job's files) are inserted together only after every file of
 * the batch is on disk; if anything fails, the files already written are removed again, so a failed
 * job leaves nothing listed. A download reads the file back and checks its SHA-256 against the row.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { dueDateFor, formatWareki, formatWarekiMonth } from './due-date.ts';
import type { ReportFile, ReportKind } from './documents/index.ts';
import { tokyoIso } from './schemas.ts';

export type ReportScope = 'monthly' | 'final';

/** Where each kind stands in a package (every kind of the documents' contract, checked by tsc). */
const KIND_RANK: Record<ReportKind, number> = {
  'minutes-docx': 0,
  'issues-xlsx': 1,
  'kpi-xlsx': 2,
  'kpi-docx': 3,
  'kpi-pdf': 4,
  'final-docx': 5,
  'final-xlsx': 6,
  'ops-xlsx': 7,
};
/** The kinds in the order a package lists them. */
export const REPORT_KIND_ORDER = (Object.keys(KIND_RANK) as ReportKind[]).sort((a, b) => KIND_RANK[a] - KIND_RANK[b]);

export interface StoredReportFile {
  id: string;
  scope: ReportScope;
  /** 'YYYY-MM' for a monthly package, 'YYYY-MM_YYYY-MM' (from_to) for a final report. */
  period: string;
  /** 令和8年10月分, 令和7年4月〜令和8年3月 */
  periodLabel: string;
  kind: ReportKind;
  title: string;
  fileName: string;
  mime: string;
  version: number;
  size: number;
  sha256: string;
  /** Monthly only: when the package is due at the prefecture ('YYYY-MM-DD') and the same in 和暦. */
  dueDate: string | null;
  dueDateLabel: string | null;
  createdAt: string;
  createdBy: string;
  /** The job that produced the file ('' when made directly by the CLI). */
  jobId: string;
}

export interface ReportPackage {
  scope: ReportScope;
  period: string;
  periodLabel: string;
  dueDate: string | null;
  dueDateLabel: string | null;
  /** When the newest of its files was made. */
  createdAt: string;
  /** The latest version of each kind, in package order. */
  files: StoredReportFile[];
}

/** A file's row as report_files.list / get / of_job read it (sql/queries/report_files.sql). */
const fileRow = z.object({
  file_id: z.string(),
  scope: z.enum(['monthly', 'final']),
  period: z.string(),
  kind: z.string(),
  version: z.number(),
  title: z.string(),
  file_name: z.string(),
  mime: z.string(),
  size: z.coerce.number(),
  sha256: z.string(),
  path: z.string(),
  due_day: z.string().nullable(),
  job_id: z.string(),
  created_by: z.string(),
  created_ms: z.coerce.number(),
});
type FileRow = z.infer<typeof fileRow>;

/** A file's row as inserted into report_files. */
type InsertRow = Omit<FileRow, 'due_day' | 'created_ms'> & { due_on: string | null; created_at: string };

/** 'YYYY-MM_YYYY-MM' for a final report's period. */
export function finalPeriodKey(from: string, to: string): string {
  return `${from}_${to}`;
}

export function periodLabel(scope: ReportScope, period: string): string {
  if (scope === 'monthly') return `${formatWarekiMonth(period)}分`;
  const [from = '', to = ''] = period.split('_');
  return `${formatWarekiMonth(from)}〜${formatWarekiMonth(to)}`;
}

/** The due date of a month's package, or null outside the holiday table. */
export function monthlyDue(month: string): { dueDate: string; dueDateLabel: string } | null {
  try {
    const due = dueDateFor(month).due;
    return { dueDate: due, dueDateLabel: formatWareki(due) };
  } catch {
    return null;
  }
}

/** A file name safe on any disk (stored behind a `v<N>-` prefix): no separators or control characters, at most ~180 bytes. */
export function diskName(fileName: string): string {
  // eslint-disable-next-line no-control-regex
  let s =
    fileName
      .normalize('NFC')
      .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
      .trim() || 'report';
  while (Buffer.byteLength(s) > 180) {
    const ext = path.extname(s);
    const base = s.slice(0, s.length - ext.length);
    s = base.slice(0, -1) + ext;
  }
  return s;
}

const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const kindRank = (k: string) => KIND_RANK[k as ReportKind] ?? REPORT_KIND_ORDER.length;

function toFile(r: FileRow): StoredReportFile {
  const dueDay = r.due_day === null || r.due_day === '' || r.due_day === '\\N' ? null : r.due_day;
  return {
    id: r.file_id,
    scope: r.scope,
    period: r.period,
    periodLabel: periodLabel(r.scope, r.period),
    kind: r.kind as ReportKind,
    title: r.title,
    fileName: r.file_name,
    mime: r.mime,
    version: r.version,
    size: r.size,
    sha256: r.sha256,
    dueDate: dueDay,
    dueDateLabel: dueDay === null ? null : formatWareki(dueDay),
    createdAt: tokyoIso(r.created_ms),
    createdBy: r.created_by,
    jobId: r.job_id,
  };
}

/** Newest first; within one batch, in package order. */
function newestFirst(a: StoredReportFile, b: StoredReportFile): number {
  return (
    b.createdAt.localeCompare(a.createdAt) ||
    b.period.localeCompare(a.period) ||
    kindRank(a.kind) - kindRank(b.kind) ||
    b.version - a.version
  );
}

/** Groups files by period, keeping the latest version of each kind; newest period first. */
export function packagesOf(files: readonly StoredReportFile[]): ReportPackage[] {
  const groups = new Map<string, ReportPackage>();
  for (const f of files) {
    const key = `${f.scope}:${f.period}`;
    let p = groups.get(key);
    if (!p) {
      p = {
        scope: f.scope,
        period: f.period,
        periodLabel: f.periodLabel,
        dueDate: f.dueDate,
        dueDateLabel: f.dueDateLabel,
        createdAt: f.createdAt,
        files: [],
      };
      groups.set(key, p);
    }
    const same = p.files.findIndex((x) => x.kind === f.kind);
    if (same < 0) p.files.push(f);
    else if (p.files[same]!.version < f.version) p.files[same] = f;
    if (f.createdAt > p.createdAt) p.createdAt = f.createdAt;
  }
  const end = (p: ReportPackage) => p.period.split('_').pop()!;
  return [...groups.values()]
    .map((p) => ({ ...p, files: p.files.sort((a, b) => kindRank(a.kind) - kindRank(b.kind)) }))
    .sort(
      (a, b) =>
        end(b).localeCompare(end(a)) ||
        (a.scope === b.scope ? 0 : a.scope === 'final' ? -1 : 1) ||
        b.period.localeCompare(a.period),
    );
}

export interface SaveBatch {
  scope: ReportScope;
  period: string;
  files: readonly ReportFile[];
  createdBy: string;
  jobId?: string;
  now?: number;
}

/** Report files on disk and their rows in ClickHouse. */
export class ReportFileStore {
  constructor(
    private readonly ch: ClickHouseClient,
    readonly dir: string,
  ) {}

  /**
   * Removes temporary files a process that died mid-write left behind (`.tmp-<pid>-…` of a pid
   * that is not running); returns how many. Run at start: they were never listed.
   */
  async sweepTemporary(): Promise<number> {
    let removed = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        const pid = /^\.tmp-(\d+)-/.exec(e.name)?.[1];
        if (e.isFile() && pid !== undefined && !processAlive(Number(pid))) {
          await fs.promises.rm(full, { force: true });
          removed++;
        }
      }
    };
    await walk(this.dir);
    return removed;
  }

  async list(q: { period?: string; kind?: string; limit?: number } = {}): Promise<StoredReportFile[]> {
    const params = { period: q.period ?? '', kind: q.kind ?? '', limit: q.limit ?? 10_000 };
    const rows = await query(this.ch, 'report_files.list', params, fileRow);
    return rows.map(toFile).sort(newestFirst);
  }

  async get(id: string): Promise<StoredReportFile | undefined> {
    const [row] = await query(this.ch, 'report_files.get', { id }, fileRow);
    return row && toFile(row);
  }

  /** The files a job stored, if it got that far. */
  async ofJob(jobId: string): Promise<StoredReportFile[]> {
    return (await query(this.ch, 'report_files.of_job', { job: jobId }, fileRow))
      .map(toFile)
      .sort((a, b) => kindRank(a.kind) - kindRank(b.kind));
  }

  /** Whether any file of a period is stored. */
  async hasPeriod(scope: ReportScope, period: string): Promise<boolean> {
    const count = z.object({ n: z.coerce.number() });
    const [row] = await query(this.ch, 'report_files.count_period', { scope, period }, count);
    return (row?.n ?? 0) > 0;
  }

  /** The bytes of a file, checked against the SHA-256 recorded when it was made. */
  async read(id: string): Promise<{ file: StoredReportFile; bytes: Buffer }> {
    const [row] = await query(this.ch, 'report_files.get', { id }, fileRow);
    if (!row) throw new AppError('report_file_not_found', `帳票ファイル ${id} は見つかりません`, 404);
    const file = toFile(row);
    const full = this.#resolve(row.path);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(full);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      throw new AppError(
        'report_file_missing',
        `帳票ファイル「${file.fileName}」(第${file.version}版) が保存場所に見つかりません。保存先 (TAYORI_REPORTS_DIR) を確認するか、帳票を作成し直してください`,
        500,
      );
    }
    if (bytes.length !== file.size || sha256Hex(bytes) !== file.sha256) {
      throw new AppError(
        'report_file_corrupt',
        `帳票ファイル「${file.fileName}」(第${file.version}版) の内容が作成時と一致しません (チェックサム不一致)。ファイルが破損しているか書き換えられています。帳票を作成し直してください`,
        500,
      );
    }
    return { file, bytes };
  }

  #resolve(relative: string): string {
    const full = path.resolve(this.dir, relative);
    if (!full.startsWith(path.resolve(this.dir) + path.sep)) {
      throw new AppError('report_file_corrupt', '帳票ファイルの保存場所の記録が正しくありません', 500);
    }
    return full;
  }

  /** Where a stored file lives on disk (for operators and tests). */
  async pathOf(id: string): Promise<string | undefined> {
    const [row] = await query(this.ch, 'report_files.get', { id }, fileRow);
    return row ? this.#resolve(row.path) : undefined;
  }

  /**
   * Stores a batch of generated files as new versions: all of them or none. Returns them in
   * package order. Saves of the same period at the same time (in this process or another one on
   * the same directory) cannot take the same version: the file's name on disk decides.
   */
  async save(batch: SaveBatch): Promise<StoredReportFile[]> {
    if (!batch.files.length) throw new AppError('report_empty', '保存する帳票ファイルがありません', 500);
    const now = batch.now ?? Date.now();
    const versions = new Map(
      (
        await query(
          this.ch,
          'report_files.max_versions',
          { scope: batch.scope, period: batch.period },
          z.object({ kind: z.string(), v: z.number() }),
        )
      ).map((r) => [r.kind, r.v]),
    );
    const due = batch.scope === 'monthly' ? monthlyDue(batch.period) : null;
    const written: string[] = [];
    const rows: InsertRow[] = [];
    try {
      for (const f of batch.files) {
        const relDir = path.join(batch.period, f.kind);
        const absDir = this.#resolve(relDir);
        await fs.promises.mkdir(absDir, { recursive: true });
        const { relative, version } = await this.#writeNew(
          absDir,
          relDir,
          diskName(f.fileName),
          f.bytes,
          (versions.get(f.kind) ?? 0) + 1,
        );
        written.push(this.#resolve(relative));
        versions.set(f.kind, version);
        rows.push({
          file_id: randomUUID(),
          scope: batch.scope,
          period: batch.period,
          kind: f.kind,
          version,
          title: f.title,
          file_name: f.fileName,
          mime: f.mime,
          size: f.bytes.length,
          sha256: sha256Hex(f.bytes),
          path: relative,
          due_on: due?.dueDate ?? null,
          job_id: batch.jobId ?? '',
          created_by: batch.createdBy,
          created_at: chDateTime(now),
        });
      }
      await this.ch.insert({ table: 'report_files', values: rows, format: 'JSONEachRow' });
    } catch (e) {
      await Promise.all(written.map((p) => fs.promises.rm(p, { force: true }).catch(() => {})));
      throw e;
    }
    return rows.map(toStored).sort((a, b) => kindRank(a.kind) - kindRank(b.kind));
  }

  /**
   * Writes bytes to `v<N>-<name>` in `absDir` without ever replacing a file: temporary file, fsync,
   * link (which fails on an existing name: then the next version), directory fsync.
   */
  async #writeNew(
    absDir: string,
    relDir: string,
    name: string,
    bytes: Buffer,
    firstVersion: number,
  ): Promise<{ relative: string; version: number }> {
    const tmp = path.join(absDir, `.tmp-${process.pid}-${randomUUID()}`);
    const fh = await fs.promises.open(tmp, 'wx', 0o640);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      for (let version = firstVersion; ; version++) {
        const relative = path.join(relDir, `v${version}-${name}`);
        try {
          await fs.promises.link(tmp, this.#resolve(relative));
        } catch (e) {
          // a file of this version is on disk already (left by a job that failed before listing it)
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw e;
        }
        await syncDir(absDir);
        return { relative, version };
      }
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }
}

function toStored({ due_on, created_at, ...r }: InsertRow): StoredReportFile {
  return toFile({ ...r, due_day: due_on, created_ms: Date.parse(`${created_at.replace(' ', 'T')}Z`) });
}

/** Whether a process with this pid runs (EPERM: it does, under another user). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
