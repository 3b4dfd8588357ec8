import { afterAll, describe, expect, it } from 'vitest';
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { runCli, testConfig, testEnv, migratedTmpDir } from '../helpers/index.ts';

// `npx tayori users …`: directly on a data directory, and through a running suite's API.
const direct = migratedTmpDir();
const running = migratedTmpDir();
let suite: Suite | undefined;

afterAll(async () => {
  await suite?.close();
  direct.remove();
  running.remove();
});

describe('tayori users', () => {
  it('adds an account directly (password from stdin), lists it, and refuses bad input in Japanese', async () => {
    const env = testEnv(direct.dir);
    const add = await runCli(['users', 'add', '--username', 'boss', '--role', 'admin', '--name', '管理者'], {
      env,
      input: 'admin-password-1\n',
    });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('ユーザー boss (管理者) を登録しました');

    const noTenant = await runCli(['users', 'add', '--username', 'tsu', '--role', 'municipality'], {
      env,
      input: 'municipal-password\n',
    });
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toContain('市町のアカウントには担当テナント (--tenant) が必要です');

    const short = await runCli(['users', 'add', '--username', 'ken', '--role', 'prefecture'], {
      env,
      input: 'short\n',
    });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('パスワードは 10 文字以上');

    const list = await runCli(['users', 'list'], { env });
    expect(list.stdout).toMatch(/boss\s+管理者\s+管理者\s+すべて/);
    expect(list.stdout).not.toMatch(/argon2/);
  });

  it('goes through the running suite, and the new account can sign in', async () => {
    suite = await startSuite(testConfig(running.dir, { TAYORI_SANDBOX: 'off' }), createLogger('silent'), {
      demo: true,
    });
    const env = testEnv(running.dir);
    const add = await runCli(
      [
        'users',
        'add',
        '--username',
        'tsu2',
        '--role',
        'municipality',
        '--tenant',
        '24201',
        '--permissions',
        'deliver,export_residents',
      ],
      {
        env,
        input: 'municipal-password-2\n',
      },
    );
    expect(add.stderr).toBe('');
    expect(add.stdout).toContain('ユーザー tsu2 (市町、テナント 24201) を登録しました。権限: 配信・住民データの出力');
    const signIn = await fetch(`${suite.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'tsu2', password: 'municipal-password-2' }),
    });
    expect(signIn.status).toBe(201);
    const unknownTenant = await runCli(
      ['users', 'add', '--username', 'x99', '--role', 'municipality', '--tenant', '24999'],
      { env, input: 'municipal-password-3\n' },
    );
    expect(unknownTenant.code).toBe(1);
    expect(unknownTenant.stderr).toContain('テナント 24999 は登録されていません');
  });
});
