/**
 * The ID-token verifier (core/resident/id-token.ts), with jose against keys served over HTTP:
 * - the sandbox's own (real tokens from its hook): valid, expired, a token for another tenant's
 *   Login channel;
 * - a key server made here, signing whatever a forger would: the wrong issuer, a bad signature (a
 *   key of the same `kid` the server never published), `alg: none`, HS256 with the public key as
 *   secret, no `sub`; and the key set fetched once for many verifications.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { IdTokenVerifier } from '../../core/resident/index.ts';
import { startSandbox, type RunningSandbox } from '../../sandbox/index.ts';
import { stillResidents } from '../helpers/harness.ts';
import { sandboxIdToken } from '../helpers/resident.ts';

const LOGIN_A = '1000000171';
const LOGIN_B = '1000000172';
const USER_OF = (i: number) => `U${i.toString(16).padStart(32, '0')}`;
let sandbox: RunningSandbox;
let userA: string;

// the forger's key server
let keyServer: Server;
let keyUrl: string;
let certRequests = 0;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
const KID = 'test-kid-1';

beforeAll(async () => {
  sandbox = await startSandbox({
    config: {
      channels: ['1', '2'].map((n) => ({
        channelId: `200000017${n}`,
        botUserId: `U${n.repeat(32)}`,
        channelSecret: `secret-${n}`,
        channelAccessToken: `token-17${n}`,
        login: { channelId: `100000017${n}`, channelSecret: `login-secret-${n}` },
        residents: stillResidents(20, 170 + Number(n)),
      })),
    },
  });
  const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${LOGIN_A}/residents?limit=1`);
  userA = ((await res.json()) as { residents: Array<{ userId: string }> }).residents[0]!.userId;

  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  keyServer = createServer((req, res) => {
    if (req.url === '/oauth2/v2.1/certs') {
      certRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  keyUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sandbox?.close();
  await new Promise((r) => keyServer?.close(r));
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return `${e.status} ${e.code}`;
    throw e;
  }
  return 'verified';
}

const now = () => Math.floor(Date.now() / 1000);

function forged(claims: Record<string, unknown> = {}, key: CryptoKey = signingKey) {
  return new SignJWT({ amr: ['linesso'], ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: KID })
    .setIssuer((claims.iss as string) ?? 'https://access.line.me')
    .setSubject((claims.sub as string) ?? USER_OF(1))
    .setAudience(LOGIN_A)
    .setIssuedAt(now())
    .setExpirationTime(now() + 600)
    .sign(key);
}

describe('with the sandbox (LINE Login stand-in)', () => {
  const verifier = new IdTokenVerifier();
  const verify = (token: string, audience = LOGIN_A) => verifier.verify(token, { lineBaseUrl: sandbox.url, audience });

  it('accepts a valid token and names the resident', async () => {
    const r = await verify(await sandboxIdToken(sandbox.url, LOGIN_A, userA));
    expect(r.userId).toBe(userA);
    expect(r.displayName).toBeTruthy();
  });

  it('refuses an expired token with id_token_expired', async () => {
    const token = await sandboxIdToken(sandbox.url, LOGIN_A, userA, { expiresIn: -30 });
    expect(await codeOf(verify(token))).toBe('401 id_token_expired');
  });

  it("refuses a token for another tenant's Login channel (the wrong audience)", async () => {
    const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${LOGIN_B}/residents?limit=1`);
    const userB = ((await res.json()) as { residents: Array<{ userId: string }> }).residents[0]!.userId;
    const token = await sandboxIdToken(sandbox.url, LOGIN_B, userB);
    expect(await codeOf(verify(token))).toBe('401 id_token_invalid');
    expect(await codeOf(verify(token, LOGIN_B))).toBe('verified');
  });

  it('refuses no token and garbage', async () => {
    expect(await codeOf(verify(''))).toBe('401 id_token_missing');
    expect(await codeOf(verify('a.b.c'))).toBe('401 id_token_invalid');
    expect(await codeOf(verify('x'.repeat(10_000)))).toBe('401 id_token_invalid');
  });
});

describe('against forgeries (own key server)', () => {
  const verifier = new IdTokenVerifier();
  const verify = (token: string) => verifier.verify(token, { lineBaseUrl: keyUrl, audience: LOGIN_A });

  it('accepts a well-formed token signed with the published key', async () => {
    expect(await codeOf(verify(await forged()))).toBe('verified');
  });

  it('refuses the wrong issuer', async () => {
    expect(await codeOf(verify(await forged({ iss: 'https://access.line.me.evil.example' })))).toBe(
      '401 id_token_invalid',
    );
  });

  it('refuses a signature by a key that was not published (same kid)', async () => {
    expect(await codeOf(verify(await forged({}, strangerKey)))).toBe('401 id_token_invalid');
  });

  it('refuses a tampered payload', async () => {
    const [h, , s] = (await forged()).split('.');
    const payload = Buffer.from(
      JSON.stringify({ iss: 'https://access.line.me', sub: USER_OF(2), aud: LOGIN_A, exp: now() + 600, iat: now() }),
    ).toString('base64url');
    expect(await codeOf(verify(`${h}.${payload}.${s}`))).toBe('401 id_token_invalid');
  });

  it('refuses alg none and HS256', async () => {
    const none = new UnsecuredJWT({ amr: ['linesso'] })
      .setIssuer('https://access.line.me')
      .setSubject(USER_OF(1))
      .setAudience(LOGIN_A)
      .setIssuedAt()
      .setExpirationTime('10m')
      .encode();
    expect(await codeOf(verify(none))).toBe('401 id_token_invalid');
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .setIssuer('https://access.line.me')
      .setSubject(USER_OF(1))
      .setAudience(LOGIN_A)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('a-secret-anyone-could-guess-0123456789'));
    expect(await codeOf(verify(hs))).toBe('401 id_token_invalid');
  });

  it('refuses a token without a LINE user id as subject', async () => {
    expect(await codeOf(verify(await forged({ sub: 'admin' })))).toBe('401 id_token_invalid');
  });

  it('fetches the key set once for many verifications', async () => {
    const fresh = new IdTokenVerifier();
    const before = certRequests;
    const token = await forged();
    for (let i = 0; i < 50; i++) {
      await fresh.verify(token, { lineBaseUrl: keyUrl, audience: LOGIN_A });
    }
    expect(certRequests - before).toBe(1);
  });

  it('answers 503 (not the resident’s fault) when the keys cannot be fetched', async () => {
    const fresh = new IdTokenVerifier();
    const r = await codeOf(fresh.verify(await forged(), { lineBaseUrl: 'http://127.0.0.1:9', audience: LOGIN_A }));
    expect(r).toBe('503 id_token_keys_unavailable');
  });
});
