/**
 * `tayori minutes …`, `tayori issues …` and `tayori report generate|list|download` as a person runs
 * them: through the running suite's API while the suite holds the data directory, directly on the
 * data directory once it is stopped.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { harness, runCli, testEnv, type Harness } from '../helpers/index.ts';

const key = { TAYORI_SECRET_KEY: randomBytes(32).toString('base64') };
let h: Harness;
let suite: Suite | undefined;
const cli = (...args: string[]) => runCli(args, { env: testEnv(h.dir, key), timeoutMs: 180_000 });

beforeAll(async () => {
  h = await harness({ clickhouse: false, env: key });
  suite = await h.startSuite();
  await suite.tenants.add({ id: '24000', name: '三重県', kind: 'prefecture', population: 1_740_000 });
  await suite.tenants.add({ id: '24201', name: '津市', kind: 'municipality', population: 274_500 });
  await suite.tenants.add({ id: '24202', name: '四日市市', kind: 'municipality', population: 310_000 });
}, 120_000);
afterAll(() => h?.close());

const api = async <T>(p: string): Promise<T> =>
  (await (await fetch(suite!.url + p, { headers: { authorization: `Bearer ${suite!.token}` } })).json()) as T;

describe('with the suite running (through its API)', () => {
  it('minutes add records a draft with attendees, decisions and action items', async () => {
    const r = await cli(
      'minutes',
      'add',
      '--held-at',
      '2025-06-12T14:00',
      '--ended-at',
      '2025-06-12T15:30',
      '--kind',
      '定例会',
      '--title',
      '第3回 定例会',
      '--place',
      '三重県庁',
      '--tenant',
      '24000',
      '--tenant',
      '24201',
      '--attendee',
      '三重県 健康推進課:山田 花子',
      '--attendee',
      '受託者:佐藤 一郎',
      '--agenda',
      '友だち登録数の推移',
      '--decision',
      '7月は熱中症予防の案内を配信する',
      '--action',
      '配信原稿の作成|佐藤|2025-06-30',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^議事録「第3回 定例会」\(2025-06-12 14:00\) を下書きとして登録しました \(ID: [0-9a-f-]{36}、提出期限 2025-07-10\)/,
    );
    const { minutes } = await api<{ minutes: Array<Record<string, unknown>> }>('/api/v1/minutes?month=2025-06');
    expect(minutes).toHaveLength(1);
    expect(minutes[0]).toMatchObject({
      title: '第3回 定例会',
      kind: '定例会',
      place: '三重県庁',
      tenantIds: ['24000', '24201'],
      status: 'draft',
      createdBy: 'operator',
      attendees: [
        { organization: '三重県 健康推進課', name: '山田 花子' },
        { organization: '受託者', name: '佐藤 一郎' },
      ],
      decisions: ['7月は熱中症予防の案内を配信する'],
      actionItems: [{ task: '配信原稿の作成', owner: '佐藤', due: '2025-06-30' }],
    });
    const list = await cli('minutes', 'list', '--month', '2025-06');
    expect(list.stdout).toContain('第3回 定例会');
    expect(list.stdout).toContain('1 件');
  });

  it('minutes add refuses bad input in Japanese, naming each field', async () => {
    const r = await cli(
      'minutes',
      'add',
      '--held-at',
      '2025-06-31T10:00',
      '--kind',
      '懇親会',
      '--title',
      '会議',
      '--tenant',
      '99999',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^エラー: 入力内容に誤りがあります: heldAt — 日時は/);
    expect(r.stderr).toContain('kind — 種別は 定例会・個別検討会議・研修・その他 のいずれかです');
  });

  it('issues add and update keep the log', async () => {
    const add = await cli(
      'issues',
      'add',
      '--tenant',
      '24201',
      '--category',
      '操作',
      '--description',
      '配信予約の時刻を間違えやすい',
      '--raised-on',
      '2025-06-03',
      '--owner',
      '佐藤',
    );
    expect(add.code).toBe(0);
    expect(add.stdout.trim()).toBe('課題 No.1 を登録しました (24201 操作: 配信予約の時刻を間違えやすい、状態 未着手)');
    const upd = await cli(
      'issues',
      'update',
      '1',
      '--status',
      '完了',
      '--resolved-on',
      '2025-06-20',
      '--response',
      '操作手順書を改訂した',
      '--note',
      '県と協議のうえ対応',
    );
    expect(upd.code).toBe(0);
    expect(upd.stdout.trim()).toBe('課題 No.1 を変更しました (状況 完了、完了日 2025-06-20)');
    const list = await cli('issues', 'list', '--month', '2025-06');
    expect(list.stdout).toMatch(/1\s+24201\s+2025-06-03\s+操作\s+配信予約の時刻を間違えやすい\s+佐藤\s+完了/);
    const nothing = await cli('issues', 'update', '1', '--note', '理由だけ');
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('変更する項目を指定してください');
    const missing = await cli('issues', 'update', '99', '--status', '対応中');
    expect(missing.stderr.trim()).toBe('エラー: 課題 No.99 は見つかりません');
  });

  it("report generate makes the month's package through the suite, showing progress", async () => {
    const r = await cli('report', 'generate', '--month', '2025-06');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('令和7年6月分の月次報告を作成しています…');
    // the steps seen while polling the job (how many depends on the machine's load)
    expect(r.stderr).toMatch(/\[\d+\/\d+\] .+を作成しています/);
    expect(r.stdout).toContain('令和7年6月分の月次報告を作成しました (6 ファイル、提出期限 令和7年7月10日)');
    for (const name of [
      '2025-06_議事録.docx',
      '2025-06_課題管理表.xlsx',
      '2025-06_月次KPI報告書.xlsx',
      '2025-06_月次KPI報告書.docx',
      '2025-06_月次KPI報告書.pdf',
      '2025-06_運用報告.xlsx',
    ]) {
      expect(r.stdout).toContain(name);
    }
    expect(r.stdout).toContain('第1版');
  }, 200_000);

  it('report list and download: the file comes out as stored, with its checksum', async () => {
    const list = await cli('report', 'list', '--period', '2025-06', '--json');
    const { files } = JSON.parse(list.stdout) as {
      files: Array<{ id: string; kind: string; fileName: string; sha256: string }>;
    };
    expect(files).toHaveLength(6);
    const kpi = files.find((f) => f.kind === 'kpi-xlsx')!;
    const out = path.join(h.dir, 'out');
    fs.mkdirSync(out);
    const dl = await cli('report', 'download', kpi.id, '--out', out);
    expect(dl.code, dl.stderr).toBe(0);
    const saved = path.join(out, kpi.fileName);
    expect(dl.stdout).toContain(`${saved} に保存しました`);
    expect(createHash('sha256').update(fs.readFileSync(saved)).digest('hex')).toBe(kpi.sha256);
  });
});

describe('with the suite stopped (directly on the data directory)', () => {
  it('lists and makes reports without the suite', async () => {
    await suite!.close();
    suite = undefined;
    const list = await cli('report', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('6 件');
    const queued = await cli('report', 'generate', '--month', '2025-06', '--no-wait');
    expect(queued.code).toBe(1);
    expect(queued.stderr).toContain('--no-wait はスイートの稼働中だけ使えます');
    const again = await cli('report', 'generate', '--month', '2025-06', '--json');
    expect(again.code, again.stderr).toBe(0);
    const files = JSON.parse(again.stdout) as Array<{ kind: string; version: number; createdBy: string }>;
    expect(files.map((f) => [f.kind, f.version])).toEqual([
      ['minutes-docx', 2],
      ['issues-xlsx', 2],
      ['kpi-xlsx', 2],
      ['kpi-docx', 2],
      ['kpi-pdf', 2],
    ]);
    const minutes = await cli('minutes', 'list');
    expect(minutes.stdout).toContain('第3回 定例会');
  }, 200_000);
});
