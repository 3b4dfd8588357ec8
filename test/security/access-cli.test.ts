/**
 * `npx tayori users create-token --days`, `users tokens list` and `users tokens revoke`, directly on
 * a data directory (no suite running): the lifetime is kept, the list never shows the token, a
 * revoked token leaves the list, a password change revokes the rest, and each step is audited.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../core/clickhouse.ts';
import { runCli, testConfig, testEnv, migratedTmpDir } from '../helpers/index.ts';

const tmp = migratedTmpDir();
const env = testEnv(tmp.dir);

afterAll(() => tmp.remove());

interface Listed {
  id: string;
  username: string;
  label: string;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
}

const list = async (username?: string): Promise<Listed[]> => {
  const r = await runCli(['users', 'tokens', 'list', '--json', ...(username ? ['--username', username] : [])], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
};

describe('tayori users tokens', () => {
  it('makes tokens with a lifetime, lists them without the token, revokes them', async () => {
    const add = await runCli(['users', 'add', '--username', 'script-user', '--role', 'prefecture'], {
      env,
      input: 'prefecture-pass-1\n',
    });
    expect(add.code, add.stderr).toBe(0);

    const made = await runCli(
      ['users', 'create-token', '--username', 'script-user', '--days', '30', '--label', '集計'],
      {
        env,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^tyr_[A-Za-z0-9_-]{20,}$/);
    const id = createHash('sha256').update(token).digest('hex').slice(0, 12);
    expect(made.stderr).toContain(`ID ${id}`);

    const other = await runCli(['users', 'create-token', '--username', 'script-user'], { env });
    expect(other.code, other.stderr).toBe(0);

    const bad = await runCli(['users', 'create-token', '--username', 'script-user', '--days', '0'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--days は 1〜730 の整数で指定してください');

    const tokens = await list('script-user');
    expect(tokens).toHaveLength(2);
    const mine = tokens.find((t) => t.id === id)!;
    expect(mine).toMatchObject({ username: 'script-user', label: '集計', expired: false });
    expect(Date.parse(mine.expiresAt) - Date.parse(mine.createdAt)).toBe(30 * 86_400_000);
    const dflt = tokens.find((t) => t.id !== id)!;
    expect(Date.parse(dflt.expiresAt) - Date.parse(dflt.createdAt)).toBe(90 * 86_400_000);
    const table = await runCli(['users', 'tokens', 'list'], { env });
    expect(table.stdout).toContain(id);
    expect(table.stdout).not.toContain(token);

    const revoke = await runCli(['users', 'tokens', 'revoke', '--username', 'script-user', '--id', id], { env });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`トークン ${id}`);
    expect((await list('script-user')).map((t) => t.id)).toEqual([dflt.id]);
    const again = await runCli(['users', 'tokens', 'revoke', '--username', 'script-user', '--id', id], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('見つかりません');

    // a new password revokes the rest
    const pw = await runCli(['users', 'set-password', '--username', 'script-user'], {
      env,
      input: 'prefecture-pass-2\n',
    });
    expect(pw.code, pw.stderr).toBe(0);
    expect(await list('script-user')).toEqual([]);

    const ch = await openClickHouse(testConfig(tmp.dir).clickhouse);
    try {
      const rs = await ch.query({
        query: `SELECT action, target, detail FROM audit_log WHERE action LIKE 'api_token_%' ORDER BY at, event_id`,
        format: 'JSONEachRow',
      });
      const rows = await rs.json<{ action: string; target: string; detail: string }>();
      expect(rows.map((r) => r.action)).toEqual(['api_token_created', 'api_token_created', 'api_token_revoked']);
      expect(rows.every((r) => r.target === 'script-user' && JSON.parse(r.detail).via === 'cli')).toBe(true);
    } finally {
      await ch.close();
    }
  });
});
