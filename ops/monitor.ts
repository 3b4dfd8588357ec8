/**
 * The built-in self-check, for those who run nothing else: every interval (a minute by default) the
 * suite checks itself — readiness (ClickHouse, Redis, the event log), the event-log backlog, failed
 * jobs and deliveries, the certificate of TAYORI_PUBLIC_URL. Each result is kept (ops_checks: the
 * monthly availability is read from them). A problem that lasts past the threshold opens an
 * incident record (障害報告書, 自動検知) and mails the contacts once; when it clears the record gets
 * its recovery time and a second mail says so.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Logger } from '../core/logger.ts';
import type { Mailer } from '../core/mailer.ts';
import { gauge, counter } from '../core/metrics-registry.ts';
import { chDateTime, tokyoIso, tokyoMinute } from '../core/time.ts';
import type { OpsRecords } from './records.ts';

export interface Problem {
  /** Stable across checks: the incident is about it. */
  key: string;
  /** Japanese, for the record and the mail. */
  message: string;
}

/** What the self-check reads; the suite hands these in (ops imports no other capability). */
export interface MonitorSources {
  readiness(): Promise<{ status: 'ok' | 'degraded' | 'error'; errors: Record<string, string> }>;
  /** Events acknowledged but not yet in ClickHouse. */
  backlog?(): number;
  /** Jobs that failed in the last hour (all queues). */
  failedJobs?(): Promise<number>;
  /** Deliveries that failed in the last hour. */
  failedDeliveries?(): Promise<number>;
  /** TAYORI_PUBLIC_URL: its certificate's expiry is checked when https. */
  publicUrl?: string;
}

export interface MonitorOptions {
  ch: ClickHouseClient;
  records: OpsRecords;
  mailer: Mailer;
  logger: Logger;
  sources: MonitorSources;
  intervalMs: number;
  /** How long a problem must last before an incident is opened. */
  incidentAfterMs: number;
  /** A backlog above this is a problem. */
  backlogLimit?: number;
  /** Days before a certificate's expiry that count as a problem. */
  certificateDays?: number;
  now?: () => number;
  /** The suite's name in mail subjects. */
  name?: string;
}

const SYSTEM = '自動検知 (自己診断)';
const PART_LABELS: Record<string, string> = {
  redis: 'Redis (処理待ちの管理)',
  clickhouse: 'データベース (ClickHouse)',
  event_log: 'イベントログ',
};

const upGauge = gauge('tayori_selfcheck_up', 'The last self-check found the suite ready (1) or not (0)');
const problemsGauge = gauge('tayori_selfcheck_problems', 'Problems the last self-check found');
const incidentsGauge = gauge('tayori_incidents_open', 'Incidents opened by the self-check and not yet recovered');
const checksCounter = counter('tayori_selfcheck_runs_total', 'Self-checks run');

export class Monitor {
  readonly #o: MonitorOptions;
  readonly #now: () => number;
  /** problem key → when it was first seen (this spell). */
  readonly #since = new Map<string, number>();
  /** problem key → open incident (id, or '' while its record could not be written yet). */
  readonly #open = new Map<string, { id: string; no: number; message: string; mailed: boolean }>();
  readonly #pending: Array<{ checked_at: string; up: number; problems: string }> = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #loaded = false;
  last: { at: string; up: boolean; problems: Problem[] } | undefined;

  constructor(opts: MonitorOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  start(): void {
    this.#stopped = false;
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.check()
        .catch((e: unknown) => this.#o.logger.warn({ err: (e as Error).message }, 'self-check failed'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs);
        });
    };
    this.#timer = setTimeout(tick, Math.min(this.#o.intervalMs, 1000));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#flush().catch(() => {});
  }

  /** Problems with the suite now. */
  async problems(): Promise<{ up: boolean; problems: Problem[] }> {
    const s = this.#o.sources;
    const problems: Problem[] = [];
    const r = await s.readiness().catch((e: unknown) => ({
      status: 'error' as const,
      errors: { suite: (e as Error).message },
    }));
    for (const [part, err] of Object.entries(r.errors)) {
      const base = part.split('.')[0]!;
      problems.push({ key: `part:${base}`, message: `${PART_LABELS[base] ?? base} に接続できません (${err})` });
    }
    const backlog = s.backlog?.() ?? 0;
    const limit = this.#o.backlogLimit ?? 100_000;
    if (backlog > limit)
      problems.push({
        key: 'backlog',
        message: `イベントログの未反映件数が ${backlog.toLocaleString('ja-JP')} 件あります (上限 ${limit.toLocaleString('ja-JP')} 件)`,
      });
    const jobs = await s.failedJobs?.().catch(() => 0);
    if (jobs) problems.push({ key: 'failed_jobs', message: `この1時間に失敗したジョブが ${jobs} 件あります` });
    const deliveries = await s.failedDeliveries?.().catch(() => 0);
    if (deliveries)
      problems.push({ key: 'failed_deliveries', message: `この1時間に失敗した配信が ${deliveries} 件あります` });
    if (s.publicUrl?.startsWith('https:')) {
      const host = new URL(s.publicUrl).host;
      const limitDays = this.#o.certificateDays ?? 14;
      const days = await certificateDaysLeft(s.publicUrl, { now: this.#now() }).catch((e: unknown) => e as Error);
      if (days instanceof Error)
        problems.push({
          key: 'certificate',
          message: `${host} のサーバー証明書を確認できません (${connectionReason(days)})`,
        });
      else if (days < limitDays)
        problems.push({
          key: 'certificate',
          message:
            days <= 0
              ? `${host} のサーバー証明書の有効期限が切れています`
              : `${host} のサーバー証明書の有効期限まで ${Math.floor(days)} 日です (${limitDays} 日未満)`,
        });
    }
    // deduplicated by key (several errors of one part are one problem)
    const byKey = new Map(problems.map((p) => [p.key, p]));
    return { up: r.status !== 'error', problems: [...byKey.values()] };
  }

  /** One check: record it, open or close incidents, mail. */
  async check(): Promise<void> {
    const now = this.#now();
    const { up, problems } = await this.problems();
    checksCounter.inc();
    upGauge.set(up ? 1 : 0);
    problemsGauge.set(problems.length);
    this.last = { at: tokyoIso(now), up, problems };
    this.#pending.push({ checked_at: chDateTime(now), up: up ? 1 : 0, problems: JSON.stringify(problems) });
    if (this.#pending.length > 10_000) this.#pending.splice(0, this.#pending.length - 10_000);
    await this.#flush().catch((e: unknown) =>
      this.#o.logger.debug({ err: (e as Error).message }, 'self-check results kept for later'),
    );
    if (!this.#loaded) await this.#loadOpen().catch(() => {});

    const seen = new Set(problems.map((p) => p.key));
    for (const p of problems) if (!this.#since.has(p.key)) this.#since.set(p.key, now);
    for (const key of [...this.#since.keys()]) if (!seen.has(key)) this.#since.delete(key);

    for (const p of problems) {
      const since = this.#since.get(p.key)!;
      if (now - since < this.#o.incidentAfterMs) continue;
      let open = this.#open.get(p.key);
      if (!open) {
        open = { id: '', no: 0, message: p.message, mailed: false };
        this.#open.set(p.key, open);
      }
      if (!open.id) {
        try {
          const rec = await this.#o.records.create(
            'incident',
            {
              title: p.message,
              detectedAt: tokyoIso(since),
              impact: '',
              response: '自己診断が検知し、連絡先にメールで通知しました',
            },
            { system: SYSTEM },
            { source: '自動検知', checkKey: p.key },
          );
          open.id = rec.id;
          open.no = rec.no;
        } catch (e) {
          this.#o.logger.warn({ err: (e as Error).message, problem: p.key }, 'incident record not written yet');
        }
      }
      if (!open.mailed) {
        open.mailed = await this.#mail(
          `【障害検知】${p.message}`,
          [
            `${this.#o.name ?? 'Tayori'} の自己診断が障害を検知しました。`,
            '',
            `内容: ${p.message}`,
            `検知日時: ${tokyoMinute(since)}`,
            open.no ? `障害報告書: No.${open.no}` : '障害報告書: (データベースに接続でき次第、記録します)',
            '',
            '復旧すると、あらためてお知らせします。',
          ].join('\n'),
        );
      }
    }
    for (const [key, open] of [...this.#open]) {
      if (seen.has(key)) continue;
      if (open.id) {
        try {
          await this.#o.records.change(
            'incident',
            open.id,
            { recoveredAt: tokyoIso(now), status: '復旧', note: '自己診断が復旧を確認しました' },
            { system: SYSTEM },
          );
        } catch (e) {
          this.#o.logger.warn({ err: (e as Error).message }, 'incident recovery not recorded yet');
          continue;
        }
      }
      const sent =
        !open.mailed ||
        (await this.#mail(
          `【復旧】${open.message}`,
          [
            `${this.#o.name ?? 'Tayori'} の自己診断が復旧を確認しました。`,
            '',
            `内容: ${open.message}`,
            `復旧日時: ${tokyoMinute(now)}`,
            open.no ? `障害報告書: No.${open.no} (復旧から5開庁日以内に報告書を完成させてください)` : '',
          ].join('\n'),
        ));
      if (sent) this.#open.delete(key);
    }
    incidentsGauge.set(this.#open.size);
  }

  async #mail(subject: string, text: string): Promise<boolean> {
    if (!this.#o.mailer.enabled) return true;
    try {
      await this.#o.mailer.send({ subject, text });
      return true;
    } catch (e) {
      this.#o.logger.warn({ err: (e as Error).message }, 'incident mail not sent; trying again at the next check');
      return false;
    }
  }

  /** Open automatic incidents from an earlier run, so a restart neither opens them twice nor forgets them. */
  async #loadOpen(): Promise<void> {
    for (const r of await this.#o.records.list('incident')) {
      if (r.source === '自動検知' && r.checkKey && r.status === '対応中' && !r.recoveredAt)
        this.#open.set(r.checkKey, { id: r.id, no: r.no, message: r.title, mailed: true });
    }
    this.#loaded = true;
  }

  async #flush(): Promise<void> {
    if (!this.#pending.length) return;
    const rows = this.#pending.slice();
    await this.#o.ch.insert({ table: 'ops_checks', values: rows, format: 'JSONEachRow' });
    this.#pending.splice(0, rows.length);
  }
}

/**
 * Days until the certificate served at `url` expires, counted from `now` (fractional; negative when
 * it has expired). Rejects when the host cannot be reached or serves no certificate.
 */
export function certificateDaysLeft(url: string, o: { timeoutMs?: number; now?: number } = {}): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: u.hostname,
        port: Number(u.port || 443),
        // SNI carries host names only (RFC 6066)
        ...(isIP(u.hostname) ? {} : { servername: u.hostname }),
        rejectUnauthorized: false,
      },
      () => {
        const cert = socket.getPeerCertificate();
        socket.end();
        if (!cert?.valid_to) return reject(new Error('no certificate'));
        resolve((Date.parse(cert.valid_to) - (o.now ?? Date.now())) / 86_400_000);
      },
    );
    socket.setTimeout(o.timeoutMs ?? 5000, () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
  });
}

/** Why a host could not be checked, in Japanese. */
function connectionReason(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return '接続を拒否されました';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'ホスト名を解決できません';
  if (e.message === 'timeout' || code === 'ETIMEDOUT') return '応答がありません';
  if (e.message === 'no certificate') return '証明書が提示されませんでした';
  return `接続できません: ${code ?? e.message}`;
}
