/**
 * Backups that restore: data made through a running suite's API (minutes, an issue, a support
 * record, a delivery draft, a monthly report package), backed up through the API; restored by the
 * CLI into an empty data directory (with the key file copied apart, as the README says), where a
 * second suite (a child process: the embedded engine binds one directory per process) answers the
 * overview, the delivery list and every report download exactly as the first. A backup with one
 * byte changed fails `backup verify`, naming the file, and is refused by `restore`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.ts';
import {
  harness,
  reapRedis,
  repoRoot,
  runCli,
  stillResidents,
  testEnv,
  tmpDir,
  waitFor,
  type Harness,
} from '../helpers/index.ts';

const MONTH = '2026-04';
let h: Harness;
let suite: Suite;
const target = tmpDir('tayori-restore-');
let envB: Record<string, string>;
const children: ChildProcess[] = [];
let sandbox: RunningSandbox;
/** The new tenant's channel, in a sandbox of the test's own that stands in for LINE (LINE_API_BASE_URL). */
const CHANNEL = {
  channelId: '2009999999',
  botUserId: `U${'9'.repeat(32)}`,
  channelSecret: 'secret-2009999999',
  channelAccessToken: 'token-restore',
  residents: stillResidents(20, 7),
};

beforeAll(async () => {
  sandbox = await startSandbox({ config: { channels: [CHANNEL] } });
  const env = { TAYORI_SANDBOX: 'off', LOG_LEVEL: 'error', LINE_API_BASE_URL: sandbox.url };
  envB = testEnv(target.dir, env);
  h = await harness({ clickhouse: false, env });
  suite = await h.startSuite({ demo: true });
}, 180_000);
afterAll(async () => {
  await sandbox?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  reapRedis(target.dir);
  target.remove();
  await h?.close();
});

const call = async <T = any>(base: string, token: string, method: string, p: string, body?: unknown) => {
  const res = await fetch(base + p, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
};
const api = <T = any>(method: string, p: string, body?: unknown) => call<T>(suite.url, suite.token, method, p, body);

/** What the comparison reads of a suite: the overview, the deliveries and every report file's bytes. */
async function figures(base: string, token: string) {
  const get = async (p: string) => {
    const res = await fetch(base + p, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status, p).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  const overview = (await get(`/api/v1/dashboard/overview?month=${MONTH}`)).toString();
  const deliveries = (await get('/api/v1/deliveries')).toString();
  const list = JSON.parse((await get(`/api/v1/reports?period=${MONTH}`)).toString()) as {
    files: Array<{ id: string; kind: string }>;
  };
  const files: Record<string, string> = {};
  for (const f of list.files) files[f.kind] = (await get(`/api/v1/reports/files/${f.id}`)).toString('base64');
  return { overview, deliveries, files };
}

let backupId = '';
let before: Awaited<ReturnType<typeof figures>>;

describe('backup → restore → compare', () => {
  it('backs up what was made through the API', async () => {
    expect(
      (
        await api('POST', '/api/v1/minutes', {
          heldAt: '2026-04-15T14:00',
          kind: '定例会',
          title: '第1回 定例会',
          place: 'web会議',
          tenantIds: ['24000', '24201'],
          attendees: [{ organization: '受託者', name: '佐藤 一郎' }],
          agenda: ['配信計画'],
          discussion: '復元の確認',
          decisions: [],
          actionItems: [],
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/api/v1/issues', {
          tenantId: '24201',
          raisedOn: '2026-04-10',
          category: '配信',
          description: '画像の差し替え',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/api/v1/ops/supports', {
          receivedAt: '2026-04-13T10:00:00+09:00',
          inquirer: '津市 健康づくり課',
          content: '配信予約の取り消し方法',
          responder: '佐藤',
          response: '配信一覧から取り消せます',
          answeredAt: '2026-04-14T09:00:00+09:00',
        })
      ).status,
    ).toBe(201);
    // a tenant of its own (its channel's secrets encrypted with the key file kept apart), and a draft
    expect(
      (
        await api('POST', '/api/v1/tenants', {
          id: '24999',
          name: '復元テスト町',
          kind: 'municipality',
          population: 1000,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('PUT', '/api/v1/tenants/24999/credentials', {
          channelId: CHANNEL.channelId,
          botUserId: CHANNEL.botUserId,
          channelSecret: CHANNEL.channelSecret,
          channelAccessToken: CHANNEL.channelAccessToken,
        })
      ).status,
    ).toBe(200);
    const draft = await api('POST', '/api/v1/tenants/24999/deliveries', {
      title: '5月の健康情報',
      messages: [{ type: 'text', text: '健康ポイントのお知らせです' }],
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const job = await api<{ jobId: string }>('POST', '/api/v1/reports/jobs', { type: 'monthly', month: MONTH });
    expect(job.status).toBe(202);
    await waitFor(
      async () => (await api(`GET`, `/api/v1/reports/jobs/${job.body.jobId}`)).body.state === 'completed',
      120_000,
      'the monthly package',
      300,
    );
    before = await figures(suite.url, suite.token);
    expect(Object.keys(before.files)).toContain('ops-xlsx');

    const made = await api<{ id: string; tables: number; rows: number }>('POST', '/api/v1/ops/backups', {});
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    backupId = made.body.id;
    expect(made.body.rows).toBeGreaterThan(0);
    const dir = path.join(h.config.ops.backupDir, backupId);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      files: Array<{ path: string }>;
      tables: Array<{ name: string; rows: number }>;
    };
    expect(manifest.tables.find((t) => t.name === 'report_minutes_history')?.rows).toBe(1);
    expect(manifest.files.some((f) => f.path.startsWith('files/reports/'))).toBe(true);
    expect(manifest.files.some((f) => f.path === 'redis/keys.jsonl')).toBe(true);
    // the key file is never in a backup
    const key = fs.readFileSync(path.join(h.dir, 'secret.key'));
    for (const f of manifest.files) expect(fs.readFileSync(path.join(dir, f.path)).includes(key)).toBe(false);
    expect(manifest.files.some((f) => f.path.endsWith('secret.key'))).toBe(false);
    // the export through the running suite (the CLI goes through its API): the card store's households too
    const exported = path.join(target.dir, '..', `${path.basename(target.dir)}-export`);
    const ex = await runCli(['export', '--tenant', '24999', '--out', exported], {
      env: testEnv(h.dir, { TAYORI_SANDBOX: 'off', LINE_API_BASE_URL: sandbox.url }),
      timeoutMs: 120_000,
    });
    try {
      expect(ex.stderr).toBe('');
      expect(ex.code).toBe(0);
      const m = JSON.parse(fs.readFileSync(path.join(exported, 'manifest.json'), 'utf8')) as {
        tenant: string;
        tables: Array<{ name: string; rows: number }>;
      };
      expect(m.tenant).toBe('24999');
      expect(m.tables.find((t) => t.name === 'deliveries')?.rows).toBe(1);
      expect(m.tables.find((t) => t.name === 'cards_households')?.rows).toBe(0);
    } finally {
      fs.rmSync(exported, { recursive: true, force: true });
    }
    // plain through the running suite: the named account's password checked by the suite, its permissions too
    await suite.cards.households.save(
      '24201',
      `U${'8'.repeat(32)}`,
      { holderName: '津 花子', relationship: '母', kind: 'pregnant' },
      '2026-12-06',
    );
    for (const [username, permissions] of [
      ['export-plain', ['export_residents', 'card_holders']],
      ['export-only', ['export_residents']],
    ] as const)
      expect(
        (
          await api('POST', '/api/v1/users', {
            username,
            displayName: username,
            role: 'contractor',
            permissions,
            password: 'export-plain-pass-1',
          })
        ).status,
      ).toBe(201);
    const refused = await api('POST', '/api/v1/ops/exports', {
      tenant: '24201',
      out: `${exported}-refused`,
      plain: true,
      operator: { username: 'export-only', password: 'export-plain-pass-1' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('「カード利用者情報」の権限が必要です');
    const plain = await runCli(
      ['export', '--tenant', '24201', '--out', exported, '--plain', '--operator', 'export-plain'],
      {
        env: testEnv(h.dir, { TAYORI_SANDBOX: 'off', LINE_API_BASE_URL: sandbox.url }),
        input: 'export-plain-pass-1\n',
        timeoutMs: 120_000,
      },
    );
    try {
      expect(plain.stderr).toBe('');
      expect(plain.code).toBe(0);
      const m = JSON.parse(fs.readFileSync(path.join(exported, 'manifest.json'), 'utf8'));
      expect(m).toMatchObject({ plain: true, plainBy: 'export-plain' });
      expect(m.tables.find((t: { name: string }) => t.name === 'cards_households')).toMatchObject({
        plain: true,
        rows: 1,
      });
      const csv = fs.readFileSync(path.join(exported, 'cards_households.csv'), 'utf8');
      expect(csv).toContain('"津 花子","母","pregnant","[]"');
    } finally {
      fs.rmSync(exported, { recursive: true, force: true });
    }
    // listed by the CLI (it reads the directory; the suite need not be asked)
    const listed = await runCli(['backup', 'list', '--from', h.config.ops.backupDir], { env: envB });
    expect(listed.stdout).toContain(backupId);
  }, 240_000);

  it('restores into an empty data directory, where a suite answers the same figures and files', async () => {
    fs.copyFileSync(path.join(h.dir, 'secret.key'), path.join(target.dir, 'secret.key'));
    const r = await runCli(['backup', 'restore', backupId, '--from', h.config.ops.backupDir], {
      env: envB,
      timeoutMs: 180_000,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('復元しました');

    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), 'serve'], {
      env: envB,
      cwd: repoRoot,
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const state = await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the restored suite stopped: ${out}`);
        const s = JSON.parse(fs.readFileSync(path.join(target.dir, 'suite.json'), 'utf8')) as {
          url?: string;
          token?: string;
        };
        return s.url && s.token ? (s as { url: string; token: string }) : undefined;
      },
      120_000,
      'the restored suite',
      200,
    );
    const after = await figures(state.url, state.token);
    expect(after.overview).toBe(before.overview);
    expect(after.deliveries).toBe(before.deliveries);
    expect(after.files).toEqual(before.files);
    const supports = await call(state.url, state.token, 'GET', '/api/v1/ops/supports');
    expect(supports.body.supports.map((s: { inquirer: string }) => s.inquirer)).toEqual(['津市 健康づくり課']);
    child.kill('SIGTERM');
    await waitFor(async () => child.exitCode !== null, 30_000, 'the restored suite to stop');
  }, 300_000);

  it('a backup with one byte changed fails verify by name, and restore refuses it', async () => {
    const copy = tmpDir('tayori-corrupt-');
    try {
      fs.cpSync(path.join(h.config.ops.backupDir, backupId), path.join(copy.dir, backupId), { recursive: true });
      const ok = await runCli(['backup', 'verify', backupId, '--from', copy.dir], { env: envB });
      expect(ok.code).toBe(0);
      const victim = path.join(copy.dir, backupId, 'clickhouse', 'report_issues_history.native');
      const bytes = fs.readFileSync(victim);
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
      fs.writeFileSync(victim, bytes);
      const bad = await runCli(['backup', 'verify', backupId, '--from', copy.dir], { env: envB });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('clickhouse/report_issues_history.native');
      expect(bad.stderr).toContain('チェックサムが違います');
      const empty = tmpDir('tayori-restore2-');
      try {
        const refused = await runCli(['backup', 'restore', backupId, '--from', copy.dir], {
          env: testEnv(empty.dir, { TAYORI_SANDBOX: 'off' }),
          timeoutMs: 120_000,
        });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain('report_issues_history.native');
      } finally {
        reapRedis(empty.dir);
        empty.remove();
      }
    } finally {
      copy.remove();
    }
  }, 240_000);
});
