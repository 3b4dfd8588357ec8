/**
 * The verifier's cache of verified ID tokens (core/resident/id-token.ts): a token is remembered until
 * its `exp` and no longer (the clock moved past it: id_token_expired), only for the audience and
 * LINE URL it was verified for, and the cache stays within its bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { IdTokenVerifier } from '../../core/resident/index.ts';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.ts';
import { stillResidents } from '../helpers/harness.ts';
import { sandboxIdToken } from '../helpers/resident.ts';

const LOGIN_A = '1000000181';
const LOGIN_B = '1000000182';
let sandbox: RunningSandbox;
let users: string[];

beforeAll(async () => {
  sandbox = await startSandbox({
    config: {
      channels: ['1', '2'].map((n) => ({
        channelId: `200000018${n}`,
        botUserId: `U${n.repeat(32)}`,
        channelSecret: `secret-${n}`,
        channelAccessToken: `token-18${n}`,
        login: { channelId: `100000018${n}`, channelSecret: `login-secret-${n}` },
        residents: stillResidents(5, 180 + Number(n)),
      })),
    },
  });
  const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${LOGIN_A}/residents?limit=3`);
  users = ((await res.json()) as { residents: Array<{ userId: string }> }).residents.map((r) => r.userId);
});
afterAll(() => sandbox?.close());

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof AppError ? `${e.status} ${e.code}` : String(e)),
  );

describe('the verified-token cache', () => {
  it('honours exp: a remembered token is refused once the clock passes its expiry', async () => {
    let now = Date.now();
    const v = new IdTokenVerifier({ now: () => now });
    const token = await sandboxIdToken(sandbox.url, LOGIN_A, users[0]!, { expiresIn: 600 });
    const opts = { lineBaseUrl: sandbox.url, audience: LOGIN_A };
    expect((await v.verify(token, opts)).userId).toBe(users[0]);
    expect(v.cached).toBe(1);
    expect((await v.verify(token, opts)).userId).toBe(users[0]);
    now += 601_000;
    expect(await codeOf(v.verify(token, opts))).toBe('401 id_token_expired');
    expect(v.cached).toBe(0);
  });

  it('the same token arriving twice at once (a double tap) is checked once; a bad one fails both', async () => {
    const v = new IdTokenVerifier();
    const token = await sandboxIdToken(sandbox.url, LOGIN_A, users[1]!);
    const opts = { lineBaseUrl: sandbox.url, audience: LOGIN_A };
    const both = await Promise.all([v.verify(token, opts), v.verify(token, opts), v.verify(token, opts)]);
    expect(both.map((r) => r.userId)).toEqual([users[1], users[1], users[1]]);
    expect(v.checks).toBe(1);
    const forged = `${token.slice(0, -4)}AAAA`;
    const bad = await Promise.all([codeOf(v.verify(forged, opts)), codeOf(v.verify(forged, opts))]);
    expect(bad).toEqual(['401 id_token_invalid', '401 id_token_invalid']);
    expect(v.checks).toBe(2);
    // a failed check is not remembered: the next try checks again
    expect(await codeOf(v.verify(forged, opts))).toBe('401 id_token_invalid');
    expect(v.checks).toBe(3);
  });

  it('a remembered token does not pass for another audience', async () => {
    const v = new IdTokenVerifier();
    const token = await sandboxIdToken(sandbox.url, LOGIN_A, users[0]!);
    expect(await codeOf(v.verify(token, { lineBaseUrl: sandbox.url, audience: LOGIN_A }))).toBe('ok');
    expect(await codeOf(v.verify(token, { lineBaseUrl: sandbox.url, audience: LOGIN_B }))).toBe('401 id_token_invalid');
  });

  it('stays within its bound', async () => {
    const v = new IdTokenVerifier({ cacheSize: 2 });
    const opts = { lineBaseUrl: sandbox.url, audience: LOGIN_A };
    for (const u of users) await v.verify(await sandboxIdToken(sandbox.url, LOGIN_A, u), opts);
    expect(v.cached).toBeLessThanOrEqual(2);
    const off = new IdTokenVerifier({ cacheSize: 0 });
    await off.verify(await sandboxIdToken(sandbox.url, LOGIN_A, users[0]!), opts);
    expect(off.cached).toBe(0);
  });
});
