/**
 * The FAQ's AI endpoint cannot be pointed at what only the server reaches: through the staff API, http
 * is refused and so are loopback, private, link-local (cloud metadata), IPv6 local and mapped
 * addresses, and host names that resolve to any of them (every address checked), each with a code and
 * a Japanese message, nothing saved; a host the operator allowed (TAYORI_FAQ_AI_ALLOW) is accepted.
 * At call time the connection's own DNS lookup is checked again: a name that turned internal after it
 * was saved (DNS rebinding) is refused before any connection, and the resident gets the fallback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/logger.ts';
import { askAi } from '../../faq/ai.ts';
import { createAiGuard, type ResolvedAddress } from '../../faq/ai-guard.ts';
import { type FaqWorld, faqWorld, T, TSU } from './fixtures.ts';

type Err = { error: { code: string; message: string } };

// DNS stood in for: names of the test's own (everything else fails to resolve, as offline)
const NAMES: Record<string, ResolvedAddress[]> = {
  'ai.example.jp': [{ address: '203.0.113.10', family: 4 }],
  'mixed.example.jp': [
    { address: '203.0.113.11', family: 4 },
    { address: '10.0.0.7', family: 4 },
  ],
  'v6local.example.jp': [{ address: 'fd00:ec2::254', family: 6 }],
  'ai.internal.example': [{ address: '10.20.30.40', family: 4 }],
  localhost: [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ],
};
const resolve = async (host: string) => {
  const r = NAMES[host];
  if (!r) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return r;
};

let w: FaqWorld;
const base = `/api/v1/faq/tenants/${TSU}/settings`;

beforeAll(async () => {
  w = await faqWorld('tayori-faq-ai-guard-', { aiAllow: ['ai.internal.example'], aiResolve: resolve });
}, 60_000);
afterAll(() => w?.h.close());

describe('saving the AI endpoint', () => {
  const save = (aiEndpoint: string) => w.call<Err>(T.tsuDeliver, 'PUT', base, { acceptTyped: true, aiEndpoint });

  it('refuses http, internal addresses and names that resolve to one, each with a code; nothing saved', async () => {
    const before = (await w.call(T.tsuDeliver, 'GET', base)).body;
    const cases: Array<[string, string, string]> = [
      ['http://ai.example.jp/answer', 'ai_endpoint_https_required', 'https://'],
      ['https://127.0.0.1/answer', 'ai_endpoint_internal', '127.0.0.1'],
      ['https://10.1.2.3/answer', 'ai_endpoint_internal', '10.1.2.3'],
      ['https://172.16.5.4/', 'ai_endpoint_internal', '172.16.5.4'],
      ['https://192.168.0.10/', 'ai_endpoint_internal', '192.168.0.10'],
      ['https://169.254.169.254/latest/meta-data/', 'ai_endpoint_internal', '169.254.169.254'],
      ['https://100.100.100.200/', 'ai_endpoint_internal', '100.100.100.200'],
      ['https://0.0.0.0/', 'ai_endpoint_internal', '0.0.0.0'],
      ['https://[::1]/', 'ai_endpoint_internal', '::1'],
      ['https://[fe80::1]/', 'ai_endpoint_internal', 'fe80::1'],
      ['https://[::ffff:127.0.0.1]/', 'ai_endpoint_internal', '::ffff:7f00:1'],
      ['https://localhost:8443/answer', 'ai_endpoint_internal', '127.0.0.1'],
      ['https://mixed.example.jp/answer', 'ai_endpoint_internal', '10.0.0.7'],
      ['https://v6local.example.jp/answer', 'ai_endpoint_internal', 'fd00:ec2::254'],
      ['https://nowhere.example.jp/answer', 'ai_endpoint_unresolved', '名前解決できません'],
      ['https://user:pw@ai.example.jp/answer', 'ai_endpoint_invalid', 'パスワード'],
    ];
    for (const [url, code, text] of cases) {
      const r = await save(url);
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toBe(code);
      expect(r.body.error.message, url).toContain(text);
      expect(r.body.error.message, url).toMatch(/[ぁ-んァ-ン一-龥]/);
    }
    expect((await save('https://127.0.0.1/')).body.error.message).toContain('TAYORI_FAQ_AI_ALLOW');
    expect((await w.call(T.tsuDeliver, 'GET', base)).body).toEqual(before);
  });

  it('accepts https on a public address, and a host the operator allowed (internal, over http)', async () => {
    const pub = await save('https://ai.example.jp/answer');
    expect(pub.status).toBe(200);
    expect(pub.body).toMatchObject({ aiEndpoint: 'https://ai.example.jp/answer' });
    const allowed = await save('http://ai.internal.example:8080/answer');
    expect(allowed.status).toBe(200);
    expect((await w.call(T.tsuDeliver, 'GET', base)).body).toMatchObject({
      aiEndpoint: 'http://ai.internal.example:8080/answer',
    });
    // the allow-list names hosts: the same internal address under another name is still refused
    expect((await save('https://10.20.30.40/answer')).body.error.code).toBe('ai_endpoint_internal');
    const cleared = await save('');
    expect(cleared.status).toBe(200);
  });
});

describe('calling the AI endpoint', () => {
  let server: http.Server;
  let port: number;
  let connections = 0;
  const warnings: string[] = [];
  const logger = {
    warn: (o: { err?: string }) => void warnings.push(String(o.err ?? '')),
    info: () => {},
    debug: () => {},
    error: () => {},
  } as unknown as Logger;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.writeHead(200).end('{"answer":"内部の回答"}'));
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('refuses a name that resolves to an internal address when connecting (DNS rebinding)', async () => {
    // public when saved and when checked before the call, loopback when the connection looks it up
    let n = 0;
    const rebinding = async (): Promise<ResolvedAddress[]> =>
      ++n <= 1 ? [{ address: '203.0.113.20', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    const guard = createAiGuard({ resolve: rebinding });
    const answer = await askAi(`https://rebind.example.jp:${port}/answer`, 2000, TSU, '質問', logger, guard);
    expect(answer).toBeUndefined();
    expect(n).toBe(2);
    expect(warnings.at(-1)).toBe('ai_endpoint_internal');
    expect(connections).toBe(0);
  });

  it('refuses at call time an endpoint saved before the operator removed it from the allow-list', async () => {
    const guard = createAiGuard({ allow: [], resolve });
    const answer = await askAi(`http://127.0.0.1:${port}/answer`, 2000, TSU, '質問', logger, guard);
    expect(answer).toBeUndefined();
    expect(warnings.at(-1)).toBe('ai_endpoint_https_required');
    expect(connections).toBe(0);
    // allowed: the same server answers
    const allowed = createAiGuard({ allow: ['127.0.0.1'], resolve });
    expect(await askAi(`http://127.0.0.1:${port}/answer`, 2000, TSU, '質問', logger, allowed)).toBe('内部の回答');
    expect(connections).toBe(1);
  });
});
