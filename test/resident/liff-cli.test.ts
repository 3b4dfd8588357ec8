/**
 * `npx tayori tenants liff` against a running demo suite whose tenants are wired to the sandbox: with
 * --create the CLI (through the suite's API) gets a channel access token for the tenant's LINE Login
 * channel and creates the LIFF app with the sandbox's LIFF server API; with --liff-id it stores one
 * made elsewhere. Wrong secrets and mismatched ids are refused in Japanese with exit code 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { migratedTmpDir, runCli, testConfig, testEnv } from '../helpers/index.ts';

const TENANT = '24202';
const tmp = migratedTmpDir('tayori-liff-cli-');
const env = testEnv(tmp.dir);
let suite: Suite;
let login: { channelId: string; channelSecret: string };

beforeAll(async () => {
  suite = await startSuite(
    testConfig(tmp.dir, { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1' }),
    createLogger('silent'),
    { demo: true },
  );
  const tenant = (await suite.tenants.get(TENANT))!;
  login = suite.sandbox!.api.login.loginChannel(tenant.liffChannelId)!;
}, 180_000);
afterAll(async () => {
  await suite?.close();
  tmp.remove();
});

async function liffApps(): Promise<Array<{ liffId: string; view: { url: string } }>> {
  const res = await fetch(`${suite.sandbox!.url}/oauth2/v3/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: login.channelId,
      client_secret: login.channelSecret,
    }),
  });
  const { access_token } = (await res.json()) as { access_token: string };
  const apps = await fetch(`${suite.sandbox!.url}/liff/v1/apps`, {
    headers: { authorization: `Bearer ${access_token}` },
  });
  return ((await apps.json()) as { apps: Array<{ liffId: string; view: { url: string } }> }).apps;
}

describe('npx tayori tenants liff', () => {
  it('--create makes the LIFF app through the LIFF server API and stores its id', async () => {
    const before = (await suite.tenants.get(TENANT))!.liffId;
    const r = await runCli(
      [
        'tenants',
        'liff',
        TENANT,
        '--login-channel-id',
        login.channelId,
        '--create',
        '--login-channel-secret',
        login.channelSecret,
      ],
      { env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = (await suite.tenants.get(TENANT))!;
    expect(after.liffId).not.toBe(before);
    expect(r.stdout).toContain(after.liffId);
    const app = (await liffApps()).find((a) => a.liffId === after.liffId);
    expect(app?.view.url).toBe(`${suite.url}/liff/${TENANT}/`);
    // the residents' page now starts that LIFF app
    expect(await (await fetch(`${suite.url}/liff/${TENANT}/`)).text()).toContain(`"liffId":"${after.liffId}"`);
  });

  it('--create reads the secret from stdin when it is not given', async () => {
    const r = await runCli(['tenants', 'liff', TENANT, '--login-channel-id', login.channelId, '--create'], {
      env,
      input: `${login.channelSecret}\n`,
    });
    expect(r.code).toBe(0);
    expect((await liffApps()).map((a) => a.liffId)).toContain((await suite.tenants.get(TENANT))!.liffId);
  });

  it('refuses a wrong secret in Japanese and leaves the tenant as it was', async () => {
    const before = (await suite.tenants.get(TENANT))!.liffId;
    const r = await runCli(
      ['tenants', 'liff', TENANT, '--login-channel-id', login.channelId, '--create', '--login-channel-secret', 'x'],
      { env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('シークレットが正しくありません');
    expect((await suite.tenants.get(TENANT))!.liffId).toBe(before);
  });

  it('--liff-id stores an app made elsewhere; an id of another channel or both options are refused', async () => {
    let r = await runCli(
      ['tenants', 'liff', TENANT, '--login-channel-id', login.channelId, '--liff-id', `${login.channelId}-Zz9Yy8Xx`],
      { env },
    );
    expect(r.code).toBe(0);
    expect((await suite.tenants.get(TENANT))!.liffId).toBe(`${login.channelId}-Zz9Yy8Xx`);
    r = await runCli(['tenants', 'list'], { env });
    expect(r.stdout).toContain(`${login.channelId}-Zz9Yy8Xx`);

    r = await runCli(
      ['tenants', 'liff', TENANT, '--login-channel-id', login.channelId, '--liff-id', '1999999999-Zz9Yy8Xx'],
      { env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('この LINE ログインチャネルのものではありません');
    r = await runCli(['tenants', 'liff', TENANT, '--login-channel-id', login.channelId], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('どちらか一方');
  });
});
