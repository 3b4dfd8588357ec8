import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { openClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { loadSecretBox, SecretBox } from '../core/crypto.ts';
import { AppError } from '../core/errors.ts';
import { migrate } from '../core/migrations.ts';
import { TenantStore } from '../core/tenants.ts';
import { dueDateFor, formatWareki, formatWarekiMonth } from '../reports/due-date.ts';
import { parseReportJobInput } from '../reports/files-routes.ts';
import { table } from './output.ts';
import { callSuite, withGateway, type SuiteState } from './suite-state.ts';
// Types only: the reports modules (and the document builders) are loaded when a command needs them.
import type { JobProgress, ReportJobInput, ReportJobView } from '../reports/jobs.ts';
import type { ReportPackage, StoredReportFile } from '../reports/files.ts';
import type { Issue, Minutes } from '../reports/store.ts';

/**
 * `tayori report …`, `tayori minutes …`, `tayori issues …`: what the contractor owes the prefecture.
 *
 *   report due 2022-09                     → 2022-10-11 (first line: the ISO date, for scripts), then 和暦
 *   report generate --month 2026-10        the monthly package (議事録・課題管理表・KPI 報告書)
 *   report generate --final --from 2025-04 --to 2026-03
 *   report list [--period 2026-10]         stored files (newest first)
 *   report download <id> [--out DIR|FILE]  a stored file, checked against its SHA-256
 *   minutes list|add                       議事録
 *   issues list|add|update                 課題管理表
 *
 * With the suite running on the data directory, everything goes through its API (the suite holds
 * the embedded ClickHouse); otherwise the data directory is opened directly.
 */

type FileView = Omit<StoredReportFile, 'jobId'>;
type Listing = { files: FileView[]; packages: Array<Omit<ReportPackage, 'files'> & { files: FileView[] }> };
type Progress = (p: JobProgress) => void;

interface ReportsGateway {
  /** Makes a package or final report and returns its files. */
  generate(input: ReportJobInput, onProgress: Progress): Promise<FileView[]>;
  /** Queues one (suite only) without waiting. */
  enqueue(input: ReportJobInput): Promise<string>;
  list(q: { period?: string; kind?: string }): Promise<Listing>;
  download(id: string): Promise<{ file: FileView; bytes: Buffer }>;
  listMinutes(q: Record<string, string | undefined>): Promise<Minutes[]>;
  addMinutes(input: Record<string, unknown>): Promise<Minutes>;
  listIssues(q: Record<string, string | undefined>): Promise<Issue[]>;
  addIssue(input: Record<string, unknown>): Promise<Issue>;
  updateIssue(id: string, patch: Record<string, unknown>): Promise<Issue>;
  close(): Promise<void>;
}

const query = (q: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return s ? `?${s}` : '';
};

function apiGateway(suite: SuiteState): ReportsGateway {
  const call = <T>(method: string, p: string, body?: unknown) => callSuite<T>(suite, method, p, body);
  const list = (q: { period?: string; kind?: string }) => call<Listing>('GET', `/api/v1/reports${query(q)}`);
  return {
    async enqueue(input) {
      return (await call<{ jobId: string }>('POST', '/api/v1/reports/jobs', input)).jobId;
    },
    async generate(input, onProgress) {
      const jobId = await this.enqueue(input);
      let last = '';
      for (;;) {
        const job = await call<ReportJobView>('GET', `/api/v1/reports/jobs/${encodeURIComponent(jobId)}`);
        const key = `${job.state}:${job.progress.step}`;
        if (key !== last) onProgress(job.progress);
        last = key;
        if (job.state === 'failed')
          throw new AppError('report_job_failed', job.error ?? '帳票の作成に失敗しました', 500);
        if (job.state === 'completed') {
          const ids = new Set(job.fileIds ?? []);
          return (await list({ period: job.period })).files.filter((f) => ids.has(f.id));
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    },
    list,
    async download(id) {
      let res: Response;
      try {
        res = await fetch(`${suite.url}/api/v1/reports/files/${encodeURIComponent(id)}`, {
          headers: { authorization: `Bearer ${suite.token}` },
        });
      } catch (e) {
        throw new AppError(
          'suite_unreachable',
          `稼働中の Tayori (${suite.url}) に接続できません: ${(e as Error).message}`,
          503,
        );
      }
      if (!res.ok) {
        const j = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
        throw new AppError(j.error?.code ?? 'api_error', j.error?.message ?? `HTTP ${res.status}`, res.status);
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      const file = (await list({})).files.find((f) => f.id === id);
      if (!file) throw new AppError('report_file_not_found', `帳票ファイル ${id} は見つかりません`, 404);
      return { file, bytes };
    },
    listMinutes: async (q) => (await call<{ minutes: Minutes[] }>('GET', `/api/v1/minutes${query(q)}`)).minutes,
    addMinutes: (input) => call('POST', '/api/v1/minutes', input),
    listIssues: async (q) => (await call<{ issues: Issue[] }>('GET', `/api/v1/issues${query(q)}`)).issues,
    addIssue: (input) => call('POST', '/api/v1/issues', input),
    updateIssue: (id, patch) => call('PATCH', `/api/v1/issues/${encodeURIComponent(id)}`, patch),
    close: async () => {},
  };
}

async function directGateway(config: Config): Promise<ReportsGateway> {
  const ch: ClickHouseClient = await openClickHouse(config.clickhouse);
  try {
    await migrate(ch);
  } catch (e) {
    await ch.close();
    throw e;
  }
  const r = await import('../reports/index.ts');
  const s = await import('../reports/schemas.ts');
  const store = new r.ReportStore(ch);
  const files = new r.ReportFileStore(ch, config.reportsDir);
  const actor = 'operator';
  const strip = ({ jobId: _job, ...f }: StoredReportFile): FileView => f;
  const checkTenants = async (ids: string[], field: string, code: string) => {
    const unknown = await store.unknownTenants(ids);
    if (unknown.length) throw new AppError(code, `登録されていない団体です: ${unknown.join('、')} (${field})`);
  };
  return {
    async generate(input, onProgress) {
      const checked = r.parseReportJobInput(input);
      const sources = { ch, tenants: new TenantStore(ch, secretBoxOrThrowaway(config)), store };
      const saved = await r.produceReport({ sources, files, build: await r.documentBuilders() }, checked, {
        createdBy: actor,
        onProgress,
      });
      return saved.map(strip);
    },
    enqueue: async () => {
      throw new AppError(
        'suite_not_running',
        '--no-wait はスイートの稼働中だけ使えます (帳票の作成ジョブはスイートが実行します)',
      );
    },
    async list(q) {
      const list = await files.list(q);
      return { files: list.map(strip), packages: r.packagesOf(list).map((p) => ({ ...p, files: p.files.map(strip) })) };
    },
    async download(id) {
      const { file, bytes } = await files.read(id);
      return { file: strip(file), bytes };
    },
    listMinutes: (q) => store.listMinutes(s.minutesListQuerySchema.parse(q)),
    async addMinutes(input) {
      const m = s.minutesCreateSchema.parse(input);
      await checkTenants(m.tenantIds, 'tenantIds', 'invalid_minutes');
      return store.createMinutes(m, actor);
    },
    listIssues: (q) => store.listIssues(s.issueListQuerySchema.parse(q)),
    async addIssue(input) {
      const i = s.issueCreateSchema.parse(input);
      await checkTenants([i.tenantId], 'tenantId', 'invalid_issue');
      return store.createIssue(i, actor);
    },
    async updateIssue(id, patch) {
      const p = s.issuePatchSchema.parse(patch);
      if (p.tenantId !== undefined) await checkTenants([p.tenantId], 'tenantId', 'invalid_issue');
      return store.changeIssue(id, actor, p, () => {});
    },
    close: () => ch.close(),
  };
}

/** The builders read tenants' names only: without a key file (nothing was ever encrypted) any key will do. */
function secretBoxOrThrowaway(config: Config): SecretBox {
  try {
    return loadSecretBox(config);
  } catch (e) {
    if ((e as AppError).code === 'secret_key_missing') return new SecretBox(randomBytes(32));
    throw e;
  }
}

function gateway<T>(config: Config, fn: (g: ReportsGateway) => Promise<T>): Promise<T> {
  return withGateway(config.dataDir, { api: apiGateway, direct: () => directGateway(config) }, fn);
}

const collect = (v: string, prev: string[]) => [...prev, v];
const size = (n: number) =>
  n >= 1024 * 1024
    ? `${(n / 1024 / 1024).toFixed(1)} MB`
    : `${Math.max(1, Math.round(n / 1024)).toLocaleString('ja-JP')} KB`;
const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');

export function printFiles(files: FileView[]): string {
  return (
    table(
      ['期間', '帳票', '版', 'ファイル名', 'サイズ', '作成日時', '作成者', '提出期限', 'ID'],
      files.map((f) => [
        f.periodLabel,
        f.title,
        `第${f.version}版`,
        f.fileName,
        size(f.size),
        when(f.createdAt),
        f.createdBy,
        f.dueDateLabel ?? '—',
        f.id,
      ]),
      [4],
    ) + `\n${files.length} 件`
  );
}

function progressPrinter(): Progress {
  let last = '';
  return (p) => {
    const line = p.total > 0 && p.done < p.total ? `  [${p.done + 1}/${p.total}] ${p.step}` : `  ${p.step}`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

function jobInput(o: { month?: string; final?: boolean; from?: string; to?: string; due?: string }): ReportJobInput {
  if (o.final) {
    if (!o.from || !o.to)
      throw new AppError('invalid_report_job', '最終報告には --from と --to (YYYY-MM) を指定してください');
    return { type: 'final', from: o.from, to: o.to, ...(o.due ? { due: o.due } : {}) };
  }
  if (!o.month)
    throw new AppError(
      'invalid_report_job',
      '--month YYYY-MM (月次報告) か --final --from YYYY-MM --to YYYY-MM (最終報告) を指定してください',
    );
  return { type: 'monthly', month: o.month };
}

/** 'organization:name' → attendee; 'task|owner|due' → action item. */
function attendee(s: string) {
  const i = s.lastIndexOf(':');
  return i < 0
    ? { organization: '', name: s.trim() }
    : { organization: s.slice(0, i).trim(), name: s.slice(i + 1).trim() };
}
function actionItem(s: string) {
  const [task = '', owner = '', due = ''] = s.split('|').map((x) => x.trim());
  return { task, owner, due: due || null };
}

/** An issue given by its No. (1, 2, 3 …) or its ID. */
async function issueId(g: ReportsGateway, ref: string): Promise<string> {
  if (!/^\d+$/.test(ref)) return ref;
  const found = (await g.listIssues({ limit: '10000' })).find((i) => i.no === Number(ref));
  if (!found) throw new AppError('issue_not_found', `課題 No.${ref} は見つかりません`, 404);
  return found.id;
}

export function registerReportCommand(program: Command, config: () => Config): void {
  const report = program
    .command('report')
    .description('県への報告: 提出期限、月次報告・最終報告の作成と一覧、ダウンロード');

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
        for (const s of d.skipped)
          lines.push(`  ${s.date} ${formatWareki(s.date, { weekday: true })} — ${s.reason}のため閉庁`);
        if (!d.skipped.length) lines.push('  翌月10日が開庁日のため、そのまま期限です');
      }
      console.log(lines.join('\n'));
    });

  report
    .command('generate')
    .description('月次報告 (議事録・課題管理表・KPI 報告書) または最終報告を作成し、新しい版として保存します')
    .option('--month <YYYY-MM>', '月次報告の対象月 (例: 2026-10)')
    .option('--final', '最終報告を作成します (--from と --to で期間を指定)')
    .option('--from <YYYY-MM>', '最終報告の期間の最初の月')
    .option('--to <YYYY-MM>', '最終報告の期間の最後の月')
    .option('--due <YYYY-MM-DD>', '最終報告の提出期限 (契約で定めた日。文書に表示します)')
    .option('--no-wait', 'スイート稼働中: 作成ジョブを登録するだけで、終わるのを待ちません')
    .option('--json', '作成したファイルを JSON で出力します')
    .action(
      async (o: {
        month?: string;
        final?: boolean;
        from?: string;
        to?: string;
        due?: string;
        wait: boolean;
        json?: boolean;
      }) => {
        const input = parseReportJobInput(jobInput(o));
        const what =
          input.type === 'monthly'
            ? `${formatWarekiMonth(input.month)}分の月次報告`
            : `最終報告 (${input.from}〜${input.to})`;
        await gateway(config(), async (g) => {
          if (!o.wait) {
            const jobId = await g.enqueue(input);
            console.log(o.json ? JSON.stringify({ jobId }) : `${what}の作成ジョブを登録しました (ジョブ ID: ${jobId})`);
            return;
          }
          process.stderr.write(`${what}を作成しています…\n`);
          const files = await g.generate(input, progressPrinter());
          if (o.json) {
            console.log(JSON.stringify(files, null, 2));
            return;
          }
          const due = files[0]?.dueDateLabel ? `、提出期限 ${files[0].dueDateLabel}` : '';
          console.log(`${what}を作成しました (${files.length} ファイル${due})\n${printFiles(files)}`);
        });
      },
    );

  report
    .command('list')
    .description('保存されている帳票ファイルを新しい順に表示します')
    .option('--period <period>', '期間 YYYY-MM (月次) または YYYY-MM_YYYY-MM (最終報告)')
    .option(
      '--kind <kind>',
      '帳票の種類 (minutes-docx, issues-xlsx, kpi-xlsx, kpi-docx, kpi-pdf, final-docx, final-xlsx)',
    )
    .option('--json', 'JSON で出力します')
    .action(async (o: { period?: string; kind?: string; json?: boolean }) => {
      const listing = await gateway(config(), (g) => g.list({ period: o.period, kind: o.kind }));
      console.log(o.json ? JSON.stringify(listing, null, 2) : printFiles(listing.files));
    });

  report
    .command('download')
    .description('保存されている帳票ファイルを取り出します (作成時のチェックサムと照合します)')
    .argument('<id>', 'ファイル ID (report list で表示)')
    .option('--out <path>', '保存先のファイルまたはディレクトリ (既定: カレントディレクトリに元のファイル名で)')
    .action(async (id: string, o: { out?: string }) => {
      const { file, bytes } = await gateway(config(), (g) => g.download(id));
      let out = path.resolve(o.out ?? '.');
      if (fs.existsSync(out) && fs.statSync(out).isDirectory())
        out = path.join(out, path.basename(file.fileName.replace(/[/\\]/g, '_')));
      fs.writeFileSync(out, bytes, { flag: 'wx' });
      console.log(`${out} に保存しました (${size(bytes.length)}、SHA-256 ${file.sha256})`);
    });

  const minutes = program.command('minutes').description('議事録 (県・市町との会議の記録)');

  minutes
    .command('list')
    .description('議事録を開催日時の順に表示します')
    .option('--month <YYYY-MM>', '開催月')
    .option('--tenant <code>', '関係団体の地方公共団体コード')
    .option('--status <status>', 'draft (下書き) または approved (承認済み)')
    .option('--json', 'JSON で出力します')
    .action(async (o: { month?: string; tenant?: string; status?: string; json?: boolean }) => {
      const list = await gateway(config(), (g) =>
        g.listMinutes({ month: o.month, tenant: o.tenant, status: o.status }),
      );
      if (o.json) return console.log(JSON.stringify(list, null, 2));
      console.log(
        table(
          ['開催日時', '種別', '件名', '関係団体', '状態', '提出期限', 'ID'],
          list.map((m) => [
            when(m.heldAt),
            m.kind,
            m.title,
            m.tenantIds.join('、') || '—',
            m.statusLabel,
            m.reportDue || '—',
            m.id,
          ]),
        ) + `\n${list.length} 件`,
      );
    });

  minutes
    .command('add')
    .description('議事録を下書きとして登録します')
    .requiredOption('--held-at <datetime>', '開始日時 (日本時間、例: 2026-10-15T14:00)')
    .requiredOption('--kind <kind>', '種別 (定例会・個別検討会議・研修・その他)')
    .requiredOption('--title <title>', '件名')
    .option('--ended-at <datetime>', '終了日時')
    .option('--place <place>', '場所 (会議室、web会議 など)')
    .option('--tenant <code>', '関係団体の地方公共団体コード (複数指定可)', collect, [])
    .option('--attendee <所属:氏名>', '出席者 (複数指定可、例: "三重県 健康推進課:山田 花子")', collect, [])
    .option('--agenda <text>', '議題 (複数指定可)', collect, [])
    .option('--discussion <text>', '協議内容')
    .option('--decision <text>', '決定事項 (複数指定可)', collect, [])
    .option('--action <対応事項|担当|期限>', '対応事項 (複数指定可、例: "配信原稿の作成|佐藤|2026-10-31")', collect, [])
    .option('--json', '登録した議事録を JSON で出力します')
    .action(
      async (o: {
        heldAt: string;
        kind: string;
        title: string;
        endedAt?: string;
        place?: string;
        tenant: string[];
        attendee: string[];
        agenda: string[];
        discussion?: string;
        decision: string[];
        action: string[];
        json?: boolean;
      }) => {
        const input = {
          heldAt: o.heldAt,
          kind: o.kind,
          title: o.title,
          tenantIds: o.tenant,
          attendees: o.attendee.map(attendee),
          agenda: o.agenda,
          decisions: o.decision,
          actionItems: o.action.map(actionItem),
          ...(o.endedAt !== undefined ? { endedAt: o.endedAt } : {}),
          ...(o.place !== undefined ? { place: o.place } : {}),
          ...(o.discussion !== undefined ? { discussion: o.discussion } : {}),
        };
        const m = await gateway(config(), (g) => g.addMinutes(input));
        console.log(
          o.json
            ? JSON.stringify(m, null, 2)
            : `議事録「${m.title}」(${when(m.heldAt)}) を下書きとして登録しました (ID: ${m.id}、提出期限 ${m.reportDue || '—'})`,
        );
      },
    );

  const issues = program.command('issues').description('課題管理表 (変更はすべて履歴に残ります)');

  issues
    .command('list')
    .description('課題管理表を No. の順に表示します')
    .option('--month <YYYY-MM>', 'その月の課題管理表 (月末までに発生し、月初より前に解決していないもの)')
    .option('--tenant <code>', '団体の地方公共団体コード')
    .option('--status <status>', '状態 (未着手・対応中・完了)')
    .option('--json', 'JSON で出力します')
    .action(async (o: { month?: string; tenant?: string; status?: string; json?: boolean }) => {
      const list = await gateway(config(), (g) => g.listIssues({ month: o.month, tenant: o.tenant, status: o.status }));
      if (o.json) return console.log(JSON.stringify(list, null, 2));
      console.log(
        table(
          ['No.', '市町', '起票日', '分類', '内容', '担当', '状況', '期限', '完了日'],
          list.map((i) => [
            String(i.no),
            i.tenantId,
            i.raisedOn,
            i.category,
            i.description,
            i.owner || '—',
            i.status,
            i.dueOn ?? '—',
            i.resolvedOn ?? '—',
          ]),
          [0],
        ) + `\n${list.length} 件`,
      );
    });

  const issueFields = (c: Command) =>
    c
      .option('--raised-on <date>', '起票日 YYYY-MM-DD (既定: 今日)')
      .option('--response <text>', '対応内容')
      .option('--owner <name>', '担当')
      .option('--status <status>', '状態 (未着手・対応中・完了)')
      .option('--due <date>', '期限 YYYY-MM-DD')
      .option('--resolved-on <date>', '完了日 YYYY-MM-DD (完了のとき。省略すると今日)')
      .option('--note <text>', '変更の理由 (履歴に残ります)')
      .option('--json', '結果を JSON で出力します');
  type IssueOpts = {
    tenant?: string;
    category?: string;
    description?: string;
    raisedOn?: string;
    response?: string;
    owner?: string;
    status?: string;
    due?: string;
    resolvedOn?: string;
    note?: string;
    json?: boolean;
  };
  const issueInput = (o: IssueOpts) =>
    Object.fromEntries(
      Object.entries({
        tenantId: o.tenant,
        category: o.category,
        description: o.description,
        raisedOn: o.raisedOn,
        response: o.response,
        owner: o.owner,
        status: o.status,
        dueOn: o.due,
        resolvedOn: o.resolvedOn,
        note: o.note,
      }).filter(([, v]) => v !== undefined),
    );

  issueFields(
    issues
      .command('add')
      .description('課題を登録します (次の No. が付きます)')
      .requiredOption('--tenant <code>', '団体の地方公共団体コード (県全体は 24000)')
      .requiredOption('--category <text>', '分類 (操作・設定・集計 など)')
      .requiredOption('--description <text>', '課題の内容'),
  ).action(async (o: IssueOpts) => {
    const i = await gateway(config(), (g) => g.addIssue(issueInput(o)));
    console.log(
      o.json
        ? JSON.stringify(i, null, 2)
        : `課題 No.${i.no} を登録しました (${i.tenantId} ${i.category}: ${i.description}、状態 ${i.status})`,
    );
  });

  issueFields(
    issues
      .command('update')
      .description('課題を変更します (変更した項目と理由が履歴に残ります)')
      .argument('<no>', '課題の No. (または ID)')
      .option('--tenant <code>', '団体の地方公共団体コード')
      .option('--category <text>', '分類')
      .option('--description <text>', '課題の内容'),
  ).action(async (ref: string, o: IssueOpts) => {
    const patch = issueInput(o);
    if (!Object.keys(patch).some((k) => k !== 'note'))
      throw new AppError('invalid_issue', '変更する項目を指定してください (--status、--response など)');
    const i = await gateway(config(), async (g) => g.updateIssue(await issueId(g, ref), patch));
    console.log(
      o.json
        ? JSON.stringify(i, null, 2)
        : `課題 No.${i.no} を変更しました (状況 ${i.status}${i.resolvedOn ? `、完了日 ${i.resolvedOn}` : ''})`,
    );
  });
}
