/**
 * Monitoring: /metrics is scraped (its token needed) and holds the suite's figures — webhook
 * requests and latency, the event log's backlog, delivery batches and 429s, queue depths, the
 * Insight pollers, ClickHouse latency and errors, report jobs, backups, process metrics. Then the
 * suite's own redis-server is stopped: the self-check (a short interval and threshold, set through
 * the configuration) opens one incident record (自動検知) and mails the contacts once, through a
 * local SMTP listener; with Redis back, the record gets its recovery time and a 「復旧」 mail follows.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import type { LocalRedis } from '../../core/redis-server.ts';
import { chDateTime } from '../../core/time.ts';
import { harness, isAlive, redisPidOf, startTestRedis, waitFor, type Harness } from '../helpers/index.ts';

interface Mail {
  to: string;
  subject: string;
  text: string;
}
const mails: Mail[] = [];
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, _session, done) {
    simpleParser(stream)
      .then((m) => {
        const to = Array.isArray(m.to) ? m.to.map((a) => a.text).join(', ') : (m.to?.text ?? '');
        mails.push({ to, subject: m.subject ?? '', text: m.text ?? '' });
        done();
      })
      .catch(done);
  },
});

const METRICS_TOKEN = 'metrics-token-for-the-test';
let h: Harness;
let suite: Suite;
let restarted: LocalRedis | undefined;

beforeAll(async () => {
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  const port = (smtp.server.address() as AddressInfo).port;
  h = await harness({
    clickhouse: false,
    env: {
      TAYORI_SANDBOX: 'off',
      LOG_LEVEL: 'silent',
      TAYORI_SMTP_URL: `smtp://127.0.0.1:${port}`,
      TAYORI_MAIL_FROM: 'tayori@example.jp',
      TAYORI_ALERT_TO: 'ops@example.jp,kanri@example.jp',
      TAYORI_METRICS_TOKEN: METRICS_TOKEN,
      // a check every 0.2 s; a problem lasting 1 s is an incident
      TAYORI_CHECK_INTERVAL_S: '0.2',
      TAYORI_INCIDENT_AFTER_S: '1',
    },
  });
  suite = await h.startSuite({ demo: true });
}, 180_000);
afterAll(async () => {
  await h?.close();
  await restarted?.stop();
  await new Promise<void>((r) => smtp.close(() => r()));
});

const scrape = async (token?: string) => {
  const res = await fetch(`${suite.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
};
const api = async <T = any>(method: string, p: string, body?: unknown) => {
  const res = await fetch(suite.url + p, {
    method,
    headers: { authorization: `Bearer ${suite.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
};
/** The value of one sample line (`name{labels} value`), or undefined. */
const sample = (text: string, line: string) => {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
};

describe('/metrics', () => {
  it('needs its token', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('wrong')).status).toBe(401);
    expect((await scrape(suite.token)).status).toBe(403); // the operator token is known, but not the metrics token
  });

  it('holds the suite figures', async () => {
    // a webhook refused (no signature) and one for an unknown tenant: both counted, with their latency
    await fetch(`${suite.url}/webhook/24201`, { method: 'POST', body: '{}' });
    await fetch(`${suite.url}/webhook/99999`, { method: 'POST', body: '{}' });
    // a backup, and a report job
    expect((await api('POST', '/api/v1/ops/backups', {})).status).toBe(201);
    const job = await api<{ jobId: string }>('POST', '/api/v1/reports/jobs', { type: 'monthly', month: '2026-04' });
    await waitFor(
      async () => (await api(`GET`, `/api/v1/reports/jobs/${job.body.jobId}`)).body.state === 'completed',
      120_000,
      'the package',
      300,
    );
    await waitFor(
      async () => (await scrape(METRICS_TOKEN)).text.includes('tayori_selfcheck_runs_total'),
      20_000,
      'a self-check',
    );

    const { status, text } = await scrape(METRICS_TOKEN);
    expect(status).toBe(200);
    expect(sample(text, 'tayori_webhook_requests_total{status="4xx"}')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'tayori_webhook_ack_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'tayori_event_log_backlog_events')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE tayori_delivery_batches_total counter');
    expect(text).toContain('# TYPE tayori_delivery_429_total counter');
    expect(sample(text, 'tayori_queue_jobs{queue="reports",state="failed"}')).toBe(0);
    expect(text).toContain('tayori_queue_jobs{queue="ops",state="delayed"}'); // the daily backup's next run
    expect(text).toContain('# TYPE tayori_queue_stalled_jobs_total counter');
    expect(sample(text, 'tayori_insight_jobs_failed')).toBe(0);
    expect(text).toContain('tayori_insight_lag_seconds');
    expect(sample(text, 'tayori_clickhouse_seconds_count{op="query"}')).toBeGreaterThan(0);
    expect(text).toContain('tayori_clickhouse_errors_total');
    expect(sample(text, 'tayori_report_jobs_total{outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'tayori_backups_total{outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'tayori_backup_last_ok')).toBe(1);
    expect(sample(text, 'tayori_backup_last_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'tayori_selfcheck_up')).toBe(1);
    expect(sample(text, 'tayori_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toContain('tayori_nodejs_eventloop_lag_seconds');
  }, 180_000);
});

describe('the dashboard’s notices', () => {
  it('every page shows a planned stop from ten days before; 県全体 also shows the month’s availability', async () => {
    const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    const made = await api('POST', '/api/v1/ops/stops', {
      startsAt: at(4),
      endsAt: at(4.1),
      reason: '通知テストの保守',
    });
    expect(made.status).toBe(201);
    await api('POST', '/api/v1/ops/stops', { startsAt: at(30), endsAt: at(30.1), reason: 'ずっと先の保守' });
    // self-check results of this month (the last ten minutes, all up), so there is an availability figure
    const now = Date.now();
    await suite.ch.insert({
      table: 'ops_checks',
      format: 'JSONEachRow',
      values: Array.from({ length: 10 }, (_, i) => ({
        checked_at: chDateTime(now - i * 60_000),
        up: 1,
        problems: '[]',
      })),
    });
    const page = async (p: string) =>
      (await fetch(`${suite.url}${p}`, { headers: { authorization: `Bearer ${suite.token}` } })).text();
    const overview = await waitFor(
      async () => {
        const text = await page('/overview');
        return text.includes('通知テストの保守') && text.includes('稼働率') ? text : undefined;
      },
      30_000,
      'the notices on 県全体',
    );
    expect(overview).toContain('お知らせ:');
    expect(overview).toContain('href="/ops"');
    expect(overview).not.toContain('ずっと先の保守'); // more than ten days ahead
    const municipality = await page('/municipalities/24201');
    expect(municipality).toContain('通知テストの保守');
    expect(municipality).not.toContain('今月 ('); // the availability is the overview's
  });
});

describe('the self-check', () => {
  it('a stopped redis-server opens one incident and mails once; Redis back: recovered and a second mail', async () => {
    expect(mails).toEqual([]);
    const port = Number(suite.redis.options.port);
    const pid = redisPidOf(h.dir);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !isAlive(pid), 10_000, 'redis-server gone');

    const opened = await waitFor(async () => (mails.length ? mails : undefined), 60_000, 'the incident mail', 100);
    expect(opened).toHaveLength(1);
    expect(opened[0]!.subject).toMatch(/^【障害検知】Redis/);
    expect(opened[0]!.to).toContain('ops@example.jp');
    expect(opened[0]!.to).toContain('kanri@example.jp');
    expect(opened[0]!.text).toContain('障害報告書: No.1');
    const incidents = (await api<{ incidents: any[] }>('GET', '/api/v1/ops/incidents')).body.incidents;
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      no: 1,
      source: '自動検知',
      checkKey: 'part:redis',
      status: '対応中',
      recoveredAt: null,
    });
    // the threshold: the incident's detection is the problem's first check, its record came a threshold later
    expect(Date.parse(incidents[0].createdAt)).toBeGreaterThanOrEqual(Date.parse(incidents[0].detectedAt));

    restarted = await startTestRedis(h.dir, port);
    const resolved = await waitFor(
      async () => (mails.length >= 2 ? mails : undefined),
      60_000,
      'the resolved mail',
      100,
    );
    expect(resolved[1]!.subject).toMatch(/^【復旧】Redis/);
    expect(resolved[1]!.text).toContain('障害報告書: No.1');
    const after = (await api(`GET`, `/api/v1/ops/incidents/${incidents[0].id}`)).body;
    expect(after.status).toBe('復旧');
    expect(after.recoveredAt).not.toBeNull();
    const history = (await api<{ history: any[] }>('GET', `/api/v1/ops/incidents/${incidents[0].id}/history`)).body
      .history;
    expect(history.map((e) => e.action)).toEqual(['created', 'updated']);
    expect(history[1].changes.map((c: { label: string }) => c.label).sort()).toEqual(['復旧日時', '状況']);
    // no second incident, no further mail, while Redis stays up
    const checks = (await api('GET', '/api/v1/ops/status')).body.lastCheck.at;
    await waitFor(
      async () => (await api('GET', '/api/v1/ops/status')).body.lastCheck.at !== checks,
      10_000,
      'a later check',
    );
    expect(mails).toHaveLength(2);
    expect((await api<{ incidents: any[] }>('GET', '/api/v1/ops/incidents')).body.incidents).toHaveLength(1);
    // the incident report in Word, due five open days after recovery
    const docx = await fetch(`${suite.url}/api/v1/ops/incidents/${incidents[0].id}/report.docx`, {
      headers: { authorization: `Bearer ${suite.token}` },
    });
    expect(docx.status).toBe(200);
    expect(
      Buffer.from(await docx.arrayBuffer())
        .subarray(0, 2)
        .toString('latin1'),
    ).toBe('PK');
  }, 180_000);
});
