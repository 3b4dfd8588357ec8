import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, testEnv, migratedTmpDir } from '../helpers/index.ts';

// The CLI opens the embedded ClickHouse directly when no suite is running on the data directory.
const tmp = migratedTmpDir();
const env = testEnv(tmp.dir);
afterAll(() => tmp.remove());

const SECRET = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const TOKEN = 'tok-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789';

describe('npx tayori tenants', () => {
  it('prints help for every command', async () => {
    for (const args of [
      ['--help'],
      ['tenants', '--help'],
      ['tenants', 'list', '--help'],
      ['tenants', 'add', '--help'],
      ['tenants', 'set-credentials', '--help'],
      ['db', 'migrate', '--help'],
      ['demo', '--help'],
    ]) {
      const r = await runCli(args, { env });
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: tayori/);
    }
  });

  it('adds and lists tenants', async () => {
    // the key file is made by the demo; a plain CLI needs one
    fs.mkdirSync(tmp.dir, { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, 'secret.key'), Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });

    let r = await runCli(
      ['tenants', 'add', '--id', '24201', '--name', '津市', '--kind', 'municipality', '--population', '274500'],
      { env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('24201 津市');
    r = await runCli(['tenants', 'add', '--id', '24000', '--name', '三重県', '--kind', 'prefecture'], { env });
    expect(r.code).toBe(0);

    r = await runCli(['tenants', 'list'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/24000\s+三重県\s+県/);
    expect(r.stdout).toMatch(/24201\s+津市\s+市町\s+274,500/);
    expect(r.stdout).toContain('2 件');

    r = await runCli(['tenants', 'list', '--json'], { env });
    const list = JSON.parse(r.stdout) as Array<{ id: string; hasCredentials: boolean }>;
    expect(list.map((t) => t.id)).toEqual(['24000', '24201']);
  });

  it('refuses a duplicate or malformed tenant with a clear message and exit code 1', async () => {
    let r = await runCli(['tenants', 'add', '--id', '24201', '--name', '津市', '--kind', 'municipality'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('既に登録されています');
    r = await runCli(['tenants', 'add', '--id', '242', '--name', 'x', '--kind', 'municipality'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('地方公共団体コード');
    r = await runCli(['tenants', 'add', '--id', '24299', '--name', 'x', '--kind', 'city'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('prefecture');
    r = await runCli(
      ['tenants', 'add', '--id', '24299', '--name', 'x', '--kind', 'municipality', '--population', 'many'],
      { env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('人口');
    r = await runCli(['tenants', 'list', '--json'], { env });
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(2);
  });

  it('sets credentials from stdin, encrypted at rest and never shown', async () => {
    const r = await runCli(
      [
        'tenants',
        'set-credentials',
        '--id',
        '24201',
        '--channel-id',
        '1234567890',
        '--bot-user-id',
        `U${'a'.repeat(32)}`,
      ],
      {
        env,
        input: `${SECRET}\n${TOKEN}\n`,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);

    const list = await runCli(['tenants', 'list', '--json'], { env });
    expect(list.stdout).not.toContain(SECRET);
    expect(list.stdout).not.toContain(TOKEN);
    const t = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((x) => x.id === '24201')!;
    expect(t).toMatchObject({ hasCredentials: true, channelId: '1234567890', lineApi: 'line' });

    // Nothing on disk holds the plaintext (ClickHouse parts are uncompressed enough to find it if it were there).
    const hits: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && fs.readFileSync(p).includes(SECRET)) hits.push(p);
      }
    };
    walk(tmp.dir);
    expect(hits).toEqual([]);
  });

  it('sets and resets the automatic reply text', async () => {
    let r = await runCli(
      [
        'tenants',
        'set-auto-reply',
        '--id',
        '24201',
        '--text',
        '津市健康マイレージ事務局です。お問い合わせは 059-000-0000 へ。',
      ],
      { env },
    );
    expect(r.code).toBe(0);
    let t = (
      JSON.parse((await runCli(['tenants', 'list', '--json'], { env })).stdout) as Array<Record<string, string>>
    ).find((x) => x.id === '24201')!;
    expect(t.autoReplyText).toContain('津市健康マイレージ事務局');
    r = await runCli(['tenants', 'set-auto-reply', '--id', '24201', '--text', ''], { env });
    expect(r.stdout).toContain('既定の文に戻しました');
    t = (
      JSON.parse((await runCli(['tenants', 'list', '--json'], { env })).stdout) as Array<Record<string, string>>
    ).find((x) => x.id === '24201')!;
    expect(t.autoReplyText).toBe('');
    r = await runCli(['tenants', 'set-auto-reply', '--id', '24201', '--text', 'あ'.repeat(501)], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('500 文字');
  });

  it('refuses credentials for an unknown tenant or an empty stdin', async () => {
    let r = await runCli(['tenants', 'set-credentials', '--id', '24999'], { env, input: `${SECRET}\n${TOKEN}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('登録されていません');
    r = await runCli(['tenants', 'set-credentials', '--id', '24201'], { env, input: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('チャネルシークレット');
  });
});
