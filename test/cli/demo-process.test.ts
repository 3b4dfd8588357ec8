import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, reapRedis, redisPidOf, repoRoot, runCli, testEnv, tmpDir, waitFor } from '../helpers/index.ts';
import { docxText } from '../helpers/report-documents-fixtures.ts';

// `npm run demo` runs `node bin/tayori.mjs demo` after the bootstrap; this drives that process.
const tmp = tmpDir();
const env = testEnv(tmp.dir, { LOG_LEVEL: 'error' });
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  reapRedis(tmp.dir);
  tmp.remove();
});

function startDemo(extraEnv: Record<string, string> = {}): {
  child: ChildProcess;
  output: () => string;
  url: Promise<string>;
} {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), 'demo'], {
    env: { ...env, ...extraEnv },
    cwd: repoRoot,
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = waitFor(async () => /起動しました: (http:\/\/\S+)/.exec(out)?.[1], 110_000, 'the demo URL');
  url.catch(() => {});
  return { child, output: () => out, url };
}

/** The reports API lists last month's package (6 files), and every file downloads intact and opens. */
async function lastMonthPackageOpens(url: string): Promise<void> {
  const { token } = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'suite.json'), 'utf8')) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const now = new Date(Date.now() + 9 * 3600_000);
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  type File = { id: string; kind: string; period: string; sha256: string; fileName: string };
  const files = await waitFor(
    async () => {
      const r = (await (await fetch(`${url}/api/v1/reports?period=${last}`, { headers: auth })).json()) as {
        files: File[];
      };
      return r.files.length >= 6 ? r.files : undefined;
    },
    150_000,
    `last month's (${last}) report package`,
  );
  expect(files.map((f) => f.kind).sort()).toEqual([
    'issues-xlsx',
    'kpi-docx',
    'kpi-pdf',
    'kpi-xlsx',
    'minutes-docx',
    'ops-xlsx',
  ]);
  // the demo's records of that month are in the package
  const minutes = (await (await fetch(`${url}/api/v1/minutes?month=${last}`, { headers: auth })).json()) as {
    minutes: Array<{ title: string }>;
  };
  expect(minutes.minutes.map((m) => m.title)).toContain('健康マイレージ LINE 運用 定例会');
  for (const f of files) {
    const res = await fetch(`${url}/api/v1/reports/files/${f.id}`, { headers: auth });
    expect(res.status, f.fileName).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    if (f.kind === 'minutes-docx') expect(docxText(bytes)).toContain('健康マイレージ LINE 運用 定例会');
    if (f.kind.endsWith('pdf')) expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    else expect(bytes.subarray(0, 2).toString('latin1'), f.fileName).toBe('PK');
    if (f.kind === 'kpi-xlsx') {
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(bytes as unknown as ArrayBuffer);
      expect(wb.worksheets.length).toBeGreaterThan(0);
      const text = wb.worksheets.flatMap((ws) => ws.getSheetValues().flat()).join(' ');
      expect(text).toContain('津市');
    }
  }
}

/** Demo residents registered in LINE: 津市's districts, and friends counted by them and by interest. */
async function residentsRegistered(url: string): Promise<void> {
  const { token } = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'suite.json'), 'utf8')) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const areas = (
    (await (await fetch(`${url}/api/v1/tenants/24201/categories`, { headers: auth })).json()) as {
      categories: Array<{ parentId: string; name: string }>;
    }
  ).categories
    .filter((c) => c.parentId === '@area')
    .map((c) => c.name);
  expect(areas).toEqual(['津', '久居', '河芸', '芸濃', '美里', '安濃', '香良洲', '一志', '白山', '美杉']);
  // friends arrive through the sandbox's follow webhooks; their answers were there from the start
  type Items = { items: Array<{ item: string; label: string; residents: number }> };
  const items = await waitFor(
    async () => {
      const a = (await (
        await fetch(`${url}/api/v1/dashboard/municipalities/24201/attributes`, { headers: auth })
      ).json()) as Items;
      return a.items.some((i) => i.item === 'residence') && a.items.some((i) => i.item === 'interests')
        ? a.items
        : undefined;
    },
    180_000,
    '津市 residents by attribute',
  );
  expect(items.filter((i) => i.item === 'residence').every((i) => areas.includes(i.label))).toBe(true);
  expect(items.find((i) => i.item === 'interests' && i.label.startsWith('健康 › '))).toBeTruthy();
  const female = (await (
    await fetch(`${url}/api/v1/tenants/24201/deliveries/count`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        audience: { type: 'segment', condition: { attr: 'gender', op: 'in', values: ['female'] } },
      }),
    })
  ).json()) as { count: number };
  expect(female.count).toBeGreaterThan(0);
}

const exited = (c: ChildProcess) =>
  new Promise<number | string | null>((r) =>
    c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code, signal) => r(code ?? signal)),
  );

describe('npm run demo', () => {
  it('starts, is ready with 30 tenants, stops cleanly on Ctrl-C, and reuses its data when run again', async () => {
    for (const round of [1, 2]) {
      // the first run also makes last month's report package, as `npm run demo` does
      const demo = startDemo(round === 1 ? { TAYORI_REPORTS_CATCH_UP: 'on', TAYORI_DEMO_REGISTRATIONS: 'on' } : {});
      const url = await demo.url;
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, demo.output()).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        clickhouse: 'ok',
        redis: 'ok',
        event_log: { status: 'ok' },
      });
      if (round === 1) await lastMonthPackageOpens(url);
      if (round === 1) await residentsRegistered(url);

      const list = await runCli(['tenants', 'list'], { env });
      expect(list.stdout, `round ${round}`).toContain('30 件');
      const home = await (await fetch(url)).text();
      expect(home).toContain('三重県');

      const redisPid = redisPidOf(tmp.dir);
      expect(isAlive(redisPid)).toBe(true);
      demo.child.kill('SIGINT');
      expect(await exited(demo.child), demo.output().slice(-3000)).toBe(0);
      expect(demo.output()).toContain('停止しました');
      await waitFor(async () => !isAlive(redisPid), 10_000, 'redis-server to exit');
      expect(fs.existsSync(path.join(tmp.dir, 'suite.json'))).toBe(false);
    }
    expect(fs.statSync(path.join(tmp.dir, 'secret.key')).mode & 0o777).toBe(0o600);
  }, 420_000);

  it('fails fast with a message naming ClickHouse when CLICKHOUSE_URL points nowhere', async () => {
    const other = tmpDir();
    const r = await runCli(['demo'], {
      env: { ...testEnv(other.dir), CLICKHOUSE_URL: 'http://127.0.0.1:1' },
      timeoutMs: 60_000,
    });
    other.remove();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ClickHouse に接続できません \(http:\/\/127\.0\.0\.1:1/);
  });

  it('stops at start with one line naming a bad variable', async () => {
    const r = await runCli(['demo'], { env: { ...env, PORT: 'eighty' }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('PORT');
  });
});
