/**
 * The sandbox as LINE Login and the LIFF server API: the published keys (JWKS) verify the ID tokens
 * its hook issues (checked here with jose against /oauth2/v2.1/certs, as Tayori does); the verify
 * endpoint answers the payload or LINE's error descriptions; stateless channel access tokens for the
 * Login channel; LIFF apps added, listed, updated and deleted, with LINE's 400/401/404. Every LIFF
 * answer is checked against liff.yml at the end.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSandboxConfig, startSandbox, type RecordedResponse, type RunningSandbox } from '../../sandbox/index.ts';
import { validateResponse } from '../../sandbox/openapi.ts';

const CHANNEL = '2000000161';
const LOGIN = '1000000161';
const SECRET = 'login-secret-161';
let sandbox: RunningSandbox;
const recorded: RecordedResponse[] = [];
let residents: Array<{ userId: string; displayName: string }>;

beforeAll(async () => {
  sandbox = await startSandbox({
    config: {
      channels: [
        {
          channelId: CHANNEL,
          botUserId: `U${'1'.repeat(32)}`,
          channelSecret: 'messaging-secret',
          channelAccessToken: 'messaging-token-161',
          login: { channelId: LOGIN, channelSecret: SECRET },
          residents: { count: 200, initialFriendRatio: 0.5, seed: 161, blockRatePerDay: 0, followRatePerDay: 0 },
        },
      ],
    },
    server: { onResponse: (r) => recorded.push(r) },
  });
  const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${LOGIN}/residents?limit=5`);
  expect(res.status).toBe(200);
  residents = ((await res.json()) as { residents: typeof residents }).residents;
});
afterAll(async () => {
  await sandbox?.close();
});

const post = (path: string, body: Record<string, string>) =>
  fetch(sandbox.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });

async function idToken(body: Record<string, unknown>, login = LOGIN): Promise<string> {
  const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${login}/id-tokens`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { idToken: string }).idToken;
}

async function verify(body: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await post('/oauth2/v2.1/verify', body);
  return { status: res.status, json: await res.json() };
}

describe('ID tokens', () => {
  it('lists residents who can sign in, with their display names', () => {
    expect(residents).toHaveLength(5);
    for (const r of residents) {
      expect(r.userId).toMatch(/^U[0-9a-f]{32}$/);
      expect(r.displayName).not.toBe('');
    }
  });

  it('are ES256 JWTs with LINE claims, verifiable with the published JWKS', async () => {
    const token = await idToken({ userId: residents[0]!.userId });
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('ES256');
    const certs = (await (await fetch(`${sandbox.url}/oauth2/v2.1/certs`)).json()) as { keys: Array<{ kid: string }> };
    expect(certs.keys.map((k) => k.kid)).toContain(header.kid);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${sandbox.url}/oauth2/v2.1/certs`)), {
      issuer: 'https://access.line.me',
      audience: LOGIN,
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe(residents[0]!.userId);
    expect(payload.amr).toEqual(['linesso']);
    expect(payload.name).toBe(residents[0]!.displayName);
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('are refused for an unknown resident or Login channel, and a malformed request', async () => {
    const hook = (login: string, body: unknown) =>
      fetch(`${sandbox.url}/__sandbox/login-channels/${login}/id-tokens`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
    expect((await hook(LOGIN, { userId: `U${'0'.repeat(32)}` })).status).toBe(404);
    expect((await hook('1999999999', { userId: residents[0]!.userId })).status).toBe(404);
    expect((await hook(LOGIN, { userId: residents[0]!.userId, expiresIn: 'soon' })).status).toBe(400);
  });
});

describe('POST /oauth2/v2.1/verify', () => {
  it('answers the payload of a valid token', async () => {
    const token = await idToken({ userId: residents[1]!.userId, nonce: 'n-1' });
    const r = await verify({ id_token: token, client_id: LOGIN, nonce: 'n-1', user_id: residents[1]!.userId });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      iss: 'https://access.line.me',
      sub: residents[1]!.userId,
      aud: LOGIN,
      nonce: 'n-1',
      amr: ['linesso'],
      name: residents[1]!.displayName,
    });
  });

  it("answers LINE's error descriptions", async () => {
    const user = residents[1]!.userId;
    const valid = await idToken({ userId: user, nonce: 'n-2' });
    const expired = await idToken({ userId: user, expiresIn: -60 });
    const forged = `${valid.slice(0, -4)}AAAA`;
    const cases: Array<[Record<string, string>, string]> = [
      [{ id_token: expired, client_id: LOGIN }, 'IdToken expired.'],
      [{ id_token: valid, client_id: '1999999999' }, 'Invalid IdToken Audience.'],
      [{ id_token: valid, client_id: LOGIN, nonce: 'other' }, 'Invalid IdToken Nonce.'],
      [{ id_token: valid, client_id: LOGIN, user_id: residents[2]!.userId }, 'Invalid IdToken Subject Identifier.'],
      [{ id_token: forged, client_id: LOGIN }, 'Invalid IdToken.'],
      [{ id_token: 'not-a-jwt', client_id: LOGIN }, 'Invalid IdToken.'],
    ];
    for (const [body, description] of cases) {
      const r = await verify(body);
      expect(r, description).toEqual({
        status: 400,
        json: { error: 'invalid_request', error_description: description },
      });
    }
    expect((await verify({ client_id: LOGIN })).status).toBe(400);
    expect((await verify({ id_token: valid })).status).toBe(400);
  });
});

describe('stateless channel access tokens and the LIFF server API', () => {
  let token: string;

  it('issues a token for the Login channel with its secret only', async () => {
    const bad = await post('/oauth2/v3/token', {
      grant_type: 'client_credentials',
      client_id: LOGIN,
      client_secret: 'x',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_client');
    const res = await post('/oauth2/v3/token', {
      grant_type: 'client_credentials',
      client_id: LOGIN,
      client_secret: SECRET,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(validateResponse('issueStatelessChannelToken', 200, body)).toEqual([]);
    expect(body.token_type).toBe('Bearer');
    token = body.access_token;
  });

  const liff = (method: string, path: string, body?: unknown, auth = `Bearer ${token}`) =>
    fetch(`${sandbox.url}/liff/v1/apps${path}`, {
      method,
      headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('adds, lists, updates and deletes LIFF apps', async () => {
    expect((await liff('GET', '')).status).toBe(404); // none yet
    const added = await liff('POST', '', { view: { type: 'full', url: 'https://tayori.example.jp/liff/24201/' } });
    expect(added.status).toBe(200);
    const { liffId } = (await added.json()) as { liffId: string };
    expect(liffId).toMatch(new RegExp(`^${LOGIN}-[A-Za-z0-9]{8}$`));
    const listed = (await (await liff('GET', '')).json()) as { apps: Array<{ liffId: string; view: { url: string } }> };
    expect(listed.apps.map((a) => a.liffId)).toEqual([liffId]);
    expect((await liff('PUT', `/${liffId}`, { view: { url: 'https://tayori.example.jp/liff/24202/' } })).status).toBe(
      200,
    );
    const after = (await (await liff('GET', '')).json()) as { apps: Array<{ view: { type: string; url: string } }> };
    expect(after.apps[0]!.view).toEqual({ type: 'full', url: 'https://tayori.example.jp/liff/24202/' });
    expect((await liff('DELETE', `/${liffId}`)).status).toBe(200);
    expect((await liff('DELETE', `/${liffId}`)).status).toBe(404);
  });

  it("answers LINE's errors: 401 without a valid token, 400 for a bad body, 404 for an unknown app", async () => {
    expect((await liff('GET', '', undefined, '')).status).toBe(401);
    expect((await liff('GET', '', undefined, 'Bearer forged')).status).toBe(401);
    expect((await liff('GET', '', undefined, 'Bearer messaging-token-161')).status).toBe(401);
    const noView = await liff('POST', '', { description: 'x' });
    expect(noView.status).toBe(400);
    expect(((await noView.json()) as { details: Array<{ property: string }> }).details[0]!.property).toBe('view');
    expect((await liff('POST', '', { view: { type: 'huge', url: 'https://x.example.jp/' } })).status).toBe(400);
    expect((await liff('POST', '', { view: { type: 'full', url: 'http://x.example.jp/' } })).status).toBe(400);
    expect((await liff('PUT', `/${LOGIN}-Unknown1`, { description: 'x' })).status).toBe(404);
  });

  it('answers as liff.yml says', () => {
    const liffAnswers = recorded.filter((r) => r.path.startsWith('/liff/'));
    expect(liffAnswers.length).toBeGreaterThan(8);
    const problems = liffAnswers.flatMap((r) =>
      r.operationId
        ? validateResponse(r.operationId, r.status, r.body).map((p) => `${r.method} ${r.path} ${r.status}: ${p}`)
        : [`${r.method} ${r.path}: no operation`],
    );
    expect(problems).toEqual([]);
  });
});

describe('the sandbox config', () => {
  it('refuses one LINE Login channel on two channels', () => {
    const channel = (n: string) => ({
      channelId: `20000001${n}`,
      botUserId: `U${n.repeat(16)}`,
      channelSecret: 's',
      channelAccessToken: `t-${n}`,
      login: { channelId: '1000000199', channelSecret: 'x' },
    });
    expect(() => parseSandboxConfig({ channels: [channel('01'), channel('02')] })).toThrow(
      /channels\.1\.login\.channelId: duplicates channels\.0\.login\.channelId/,
    );
  });
});
