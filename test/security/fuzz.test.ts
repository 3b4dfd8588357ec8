/**
 * Whatever arrives, the suite stays up and answers: a generated set (fast-check, fixed seed, so a
 * failure is the same on every run) of malformed paths, headers, bodies and query strings sent to
 * every route fastify has (and the webhook receiver in front of it), anonymous and signed in. Every
 * answer is below 500 or a 503 — never another 5xx, never a connection dropped without an answer,
 * never a hang — and /healthz answers after each route's batch. The crash inputs of issue 13 are
 * sent by name first.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, sign } from '../helpers/webhooks.ts';
import {
  codeOf,
  fillPath,
  OWN,
  rawRequest,
  STATE_CHANGES,
  startSecuritySuite,
  type RawAnswer,
  type RawRequest,
  type RouteEntry,
  type SecuritySuite,
} from './suite-harness.ts';

let s: SecuritySuite;

beforeAll(async () => {
  s = await startSecuritySuite();
}, 120_000);
afterAll(async () => {
  await s?.close();
});

const SEED = 1313;
/** Generated requests per route and caller (anonymous, a municipality's session, the operator): about 4,000 in all. */
const PER_ROUTE = 16;
const PARALLEL = 6;

/** The webhook receiver answers before the app (a front handler), so it is not in the route table. */
const FRONT: RouteEntry[] = [{ method: 'POST', url: '/webhook/:tenantId' }];

const long = (n: number, c = 'a') => c.repeat(n);

const badSegment = fc.constantFrom(
  '%E0',
  '%',
  '%zz',
  '%00',
  '%C0%AE%C0%AE',
  '..',
  '%2e%2e',
  '%2F',
  '.',
  '%FF%FE',
  '%F0%9F%98%80',
  '%E6%B4%A5%E5%B8%82',
  '%252F',
  '%u0000',
  long(3000),
  '-1',
  '1e20',
  'NaN',
  '__proto__',
  'constructor',
  '24201%00',
  ' ',
  '%20',
);

/** A path mutation of a route's filled path. */
const pathArb = (path: string) =>
  fc.oneof(
    // one segment replaced
    fc.tuple(fc.nat(), badSegment).map(([i, bad]) => {
      const parts = path.split('/');
      const at = 1 + (i % Math.max(1, parts.length - 1));
      parts[at] = bad;
      return parts.join('/');
    }),
    // appended
    badSegment.map((bad) => `${path}/${bad}`),
    fc.constantFrom(
      path.replaceAll('/', '//'),
      `${path}/`,
      `${path}/..`,
      `/.${path}`,
      `/%${path.charCodeAt(1).toString(16)}${path.slice(2)}`,
      `${path};x=1`,
      path.toUpperCase(),
      `${path}%`,
      `${path}#frag`,
      `//${path}`,
      `/..${path}`,
      `${path}/%2e%2e/%2e%2e/etc/passwd`,
      long(9000, '/a'),
    ),
  );

const queryArb = fc.option(
  fc.constantFrom(
    'limit=-1',
    'limit=NaN',
    'limit=1e309',
    'limit=0',
    'limit[]=1',
    'limit=1&limit=2',
    'month=2026-13',
    'month=%E0',
    'month=-1',
    'from=9999-99-99&to=0000-00-00',
    'from=2026-01-02&to=2026-01-01',
    'tenant=24201&tenant=24202',
    'tenant[]=24201',
    'tenant=%E0',
    'tests=1&tests=true',
    'next=//evil.example',
    '%E0=1',
    '__proto__[x]=1',
    'constructor[prototype][x]=1',
    `${long(5000)}=1`,
    'status=%00',
    'friends=1&friends=0',
    '=&&&=',
  ),
  { nil: undefined },
);

const header = (name: string, values: string[]) => fc.constantFrom(...values).map((v): [string, string] => [name, v]);

const headersArb = fc.array(
  fc.oneof(
    // framing Node's parser refuses before the app sees anything: rarer, so most requests reach it
    { weight: 1, arbitrary: header('Content-Length', ['abc', '-1', '1e3', '00']) },
    { weight: 1, arbitrary: header('Transfer-Encoding', ['chunked', 'gzip']) },
    header('Cookie', [
      'tayori_session=%E0',
      `tayori_session=${long(6000)}`,
      'tayori_session=a; tayori_session=b',
      ';;;==',
      'tayori_session',
      'tayori_session="quoted"',
      '__Host-tayori_session=x',
    ]),
    header('Authorization', [
      `Bearer ${long(6000)}`,
      'Bearer',
      'Bearer ',
      'Basic Og==',
      `Bearer tyr_${long(40, 'A')}`,
      'bearer  tyr_ a',
      'Bearer %E0',
      `Negotiate ${long(100, 'Z')}`,
      'Bearer tyr_\t',
    ]),
    header('Content-Type', [
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'application/json;;',
      'application/xml',
      '*/*',
      'application/csp-report',
      'application/json; charset=%E0',
    ]),
    header('X-CSRF-Token', ['', long(5000), '%E0', 'null']),
    header('X-Forwarded-For', ['%E0', '1.1.1.1, , ,', long(2000, '9'), '::ffff:999.1.1.1']),
    header('X-Forwarded-Proto', ['https, http', 'javascript']),
    header('Accept-Version', ['1.x', '%E0']),
    header('Accept', ['text/html', '*/*;q=x']),
    header('Origin', ['null', 'http://evil.example']),
  ),
  { maxLength: 3 },
);

const KEYS = [
  'title',
  'messages',
  'audience',
  'send',
  'scheduledAt',
  'tenantIds',
  'tenantId',
  'tenant',
  'heldAt',
  'kind',
  'version',
  'username',
  'password',
  'currentPassword',
  'permissions',
  'disabled',
  'from',
  'to',
  'type',
  'period',
  'due',
  'userId',
  'label',
  'name',
  'sort',
  'retired',
  'options',
  'condition',
  'newsUrl',
  'limit',
  '_csrf',
  '__proto__',
  'constructor',
];
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(1e20, -1, 0, 2 ** 53 + 1, '', ' ', 'NaN', '<script>alert(1)</script>', '\u0000', long(20_000, 'あ')),
);
const deep = (n: number, open: string, close: string, mid = '1') => open.repeat(n) + mid + close.repeat(n);

const bodyArb = fc.option(
  fc.oneof(
    fc.constantFrom(
      '{',
      'null',
      '[]',
      '"x"',
      '1e999',
      '-0',
      'true',
      '{"__proto__":{"isAdmin":true,"role":"admin"}}',
      '{"constructor":{"prototype":{"role":"admin"}}}',
      deep(5000, '[', ']'),
      deep(3000, '{"a":', '}'),
      '{"limit":1e308,"version":1e400,"sort":-1e999}',
      '{"messages":"x","audience":[],"title":{}}',
      'a=%E0&_csrf=%&permissions=%E0',
      '\uFEFF{}',
      `{"title":"${long(200_000)}"}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1'),
    ),
    fc.dictionary(fc.constantFrom(...KEYS), oddValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  ),
  { nil: undefined },
);

function requestsFor(r: RouteEntry, seed: number): RawRequest[] {
  const path = fillPath(r.url, OWN, s.fixtures);
  const arb = fc.record({
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant(r.method) },
      { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'TRACE', 'PROPFIND', 'HEAD', 'PATCH') },
    ),
    path: fc.oneof({ weight: 1, arbitrary: fc.constant(path) }, { weight: 3, arbitrary: pathArb(path) }),
    query: queryArb,
    headers: headersArb,
    body: bodyArb,
  });
  return fc.sample(arb, { seed, numRuns: PER_ROUTE }).map((g) => ({
    method: g.method,
    path: g.query ? `${g.path}?${g.query}` : g.path,
    headers: [
      ...(STATE_CHANGES.has(g.method) && !g.headers.some(([k]) => k === 'Content-Type')
        ? ([['Content-Type', 'application/json']] as Array<[string, string]>)
        : []),
      ...g.headers,
    ],
    body: g.body === undefined ? undefined : Buffer.from(g.body, /^[\x00-\xff]*$/.test(g.body) ? 'latin1' : 'utf8'),
  }));
}

/** Why an answer is not acceptable, or undefined. */
function wrong(a: RawAnswer, method = 'GET'): string | undefined {
  if (a.status === 'timeout') return 'no answer (hang)';
  if (a.status === 'closed') return `connection closed without an answer ${a.body.slice(0, 60)}`;
  if (a.status >= 500 && a.status !== 503) return `${a.status} ${codeOf(a.body) ?? a.body.slice(0, 120)}`;
  // every answer, whatever broke in the request, carries the security headers
  if (a.headers['x-content-type-options'] !== 'nosniff') return `${a.status} without the security headers`;
  // the app's own JSON errors carry a code
  if (
    method !== 'HEAD' &&
    a.status >= 400 &&
    /application\/json/.test(a.headers['content-type'] ?? '') &&
    !codeOf(a.body)
  )
    return `${a.status} without a code: ${a.body.slice(0, 120)}`;
  return undefined;
}

const describeReq = (q: RawRequest) =>
  `${q.method} ${String(q.path).slice(0, 120)} [${(q.headers ?? []).map(([k, v]) => `${k}: ${v.slice(0, 30)}`).join(', ')}] ${q.body === undefined ? '' : Buffer.from(q.body).toString('utf8').slice(0, 60)}`;

async function healthy(): Promise<boolean> {
  const a = await rawRequest(s.port, { method: 'GET', path: '/healthz' });
  return a.status === 200;
}

describe('the crash inputs of issue 13', () => {
  it('an undecodable or malformed webhook path answers 404 with a code; the process stays up', async () => {
    const failures: string[] = [];
    for (const path of [
      '/webhook/%E0',
      '/webhook/%',
      '/webhook/%zz',
      '/webhook/24201%00',
      '/webhook/%2e%2e',
      `/webhook/${long(5000, '9')}`,
      '/webhook/24201/%E0',
    ]) {
      for (const method of ['POST', 'GET']) {
        const a = await rawRequest(s.port, {
          method,
          path,
          headers: [
            ['Content-Type', 'application/json'],
            ['X-Line-Signature', 'AAAA'],
          ],
          body: method === 'POST' ? '{"destination":"U0","events":[]}' : undefined,
        });
        if (a.status !== 404 || !codeOf(a.body))
          failures.push(`${method} ${path.slice(0, 40)} → ${a.status} ${a.body.slice(0, 80)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await healthy()).toBe(true);
  });

  it('a signed webhook with an absurd timestamp answers 400, and the receiver keeps taking webhooks', async () => {
    const creds = await s.suite.tenants.credentials(OWN);
    const post = (events: unknown[]) => {
      const body = JSON.stringify({ destination: creds.botUserId, events });
      return rawRequest(s.port, {
        method: 'POST',
        path: `/webhook/${OWN}`,
        headers: [
          ['Content-Type', 'application/json'],
          ['X-Line-Signature', sign(body, creds.channelSecret)],
        ],
        body,
      });
    };
    const user = `U${'a'.repeat(32)}`;
    const absurd = await post([event('follow', user, {}, 1e20)]);
    expect([absurd.status, absurd.body]).toEqual([400, expect.stringContaining('"code"')]);
    for (const ts of [-1, 8.64e15 + 1, Number.MAX_VALUE]) {
      const a = await post([event('follow', user, {}, ts)]);
      expect(a.status, `timestamp ${ts}: ${a.body}`).toBe(400);
    }
    // the same signed shape with odd fields elsewhere: answered, never a 5xx
    for (const events of [
      [{ ...event('follow', user), timestamp: '1e20' }],
      [{ ...event('message', user), message: { type: 'text', text: long(10_000) } }],
      [{ ...event('postback', user), postback: { data: '%E0'.repeat(100) } }],
      [{ ...event('follow', user), source: { type: 'user', userId: '%E0' } }],
      [{ ...event('follow', user), __proto__: { polluted: true } }],
      [null, 1, 'x'],
    ]) {
      const a = await post(events);
      expect(wrong(a), JSON.stringify(events).slice(0, 120)).toBeUndefined();
    }
    const ok = await post([event('follow', user)]);
    expect(ok.status).toBe(200);
    expect(await healthy()).toBe(true);
  });
});

describe('generated malformed requests against every route', () => {
  it('answer below 500 or 503, never hang, and the process stays up', async () => {
    const routes = [...s.routes, ...FRONT];
    const failures: string[] = [];
    let sent = 0;
    for (const [i, r] of routes.entries()) {
      const session = await s.tsu();
      const as = (seed: number, own: Array<[string, string]>) =>
        requestsFor(r, seed).map((q) => ({
          ...q,
          headers: [...own, ...(q.headers ?? []).filter(([k]) => !own.some(([o]) => o === k))],
        }));
      const batch = [
        ...requestsFor(r, SEED + i),
        ...as(SEED + 10_000 + i, [
          ['Cookie', session.cookie],
          ['X-CSRF-Token', session.csrfToken],
        ]),
        ...as(SEED + 20_000 + i, [['Authorization', `Bearer ${s.suite.token}`]]),
      ];
      for (let j = 0; j < batch.length; j += PARALLEL) {
        await Promise.all(
          batch.slice(j, j + PARALLEL).map(async (q) => {
            const why = wrong(await rawRequest(s.port, q), q.method);
            if (why) failures.push(`${r.method} ${r.url}: ${describeReq(q)} → ${why}`);
          }),
        );
      }
      sent += batch.length;
      if (!(await healthy())) {
        failures.push(`/healthz did not answer after the batch of ${r.method} ${r.url}`);
        break;
      }
    }
    expect(sent).toBeGreaterThan(3000);
    expect(failures).toEqual([]);
  }, 900_000);
});

/** Inputs that pass validation, for routes where one is easy to give: mutated one field at a time. */
const text = [{ type: 'text', text: 'お知らせ' }];
const SAMPLES: Record<string, Record<string, unknown>> = {
  'POST /api/v1/tenants/:tenantId/deliveries': { title: '試験', messages: text },
  'PUT /api/v1/tenants/:tenantId/deliveries/:deliveryId': { title: '試験', messages: text },
  'POST /api/v1/tenants/:tenantId/deliveries/preview': { messages: text },
  'POST /api/v1/tenants/:tenantId/deliveries/count': { audience: { type: 'all' } },
  'POST /api/v1/tenants/:tenantId/deliveries/:deliveryId/schedule': { scheduledAt: '2030-01-01T10:00' },
  'POST /api/v1/tenants/:tenantId/test-devices': { userId: `U${'0'.repeat(32)}`, label: '試験端末' },
  'POST /api/v1/minutes': { heldAt: '2026-04-15T14:00', kind: '定例会', title: '試験', tenantIds: [OWN] },
  'POST /api/v1/issues': { tenantId: OWN, category: '配信', description: '試験' },
  'PATCH /api/v1/issues/:id': { status: '対応中', note: '試験' },
  'PUT /api/v1/tenants/:id/auto-reply': { text: '自動応答' },
  'POST /api/v1/insight/backfill': { tenant: OWN, from: '2026-01-01', to: '2026-01-02' },
};

/** Every path to a value in `v`, a few levels down: ['messages', 0, 'text'], … */
function leaves(v: unknown, at: Array<string | number> = [], depth = 0): Array<Array<string | number>> {
  if (depth > 3 || v === null || typeof v !== 'object') return [at];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return [at, ...entries.flatMap(([k, x]) => leaves(x, [...at, k], depth + 1))];
}

function mutated(sample: Record<string, unknown>, seed: number, n: number): string[] {
  const arb = fc.record({
    at: fc.constantFrom(...leaves(sample).filter((p) => p.length > 0)),
    how: fc.constantFrom('replace', 'delete', 'proto'),
    value: oddValue,
  });
  return fc.sample(arb, { seed, numRuns: n }).map(({ at, how, value }) => {
    const copy = structuredClone(sample) as Record<string | number, unknown>;
    let parent = copy;
    for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = at[at.length - 1]!;
    if (how === 'delete') delete parent[last];
    else parent[last] = value;
    const json = JSON.stringify(copy);
    // a prototype key next to the real ones, as JSON.parse would see it
    return how === 'proto' ? json.replace(/^\{/, '{"__proto__":{"role":"admin","tenantId":null},') : json;
  });
}

describe('near-valid inputs, past the first check', () => {
  it('valid bodies with one field made odd, and odd paging and dates on every GET, answer below 500 or 503', async () => {
    const failures: string[] = [];
    const session = await s.tsu();
    const callers: Array<Array<[string, string]>> = [
      [['Authorization', `Bearer ${s.suite.token}`]],
      [
        ['Cookie', session.cookie],
        ['X-CSRF-Token', session.csrfToken],
      ],
    ];
    const requests: RawRequest[] = [];
    for (const [i, r] of s.routes.entries()) {
      const path = fillPath(r.url, OWN, s.fixtures);
      const sample = SAMPLES[`${r.method} ${r.url}`];
      for (const [c, who] of callers.entries()) {
        if (sample) {
          for (const body of mutated(sample, SEED + i, 24))
            requests.push({ method: r.method, path, headers: [...who, ['Content-Type', 'application/json']], body });
        }
        if (r.method === 'GET') {
          // the odd queries reach the handler alike for either caller: each goes once, the callers in turn
          for (const [q, query] of [
            'limit=-1',
            'limit=NaN',
            'limit=1e309',
            'limit=99999999999',
            'limit=1.5',
            'limit[]=1',
            'offset=-1',
            'before=-1',
            'month=2026-13',
            'month=0000-01',
            'from=2026-02-30&to=2026-03-01',
            'from=1900-01-01&to=2999-12-31',
            `tenant=${OWN}&tenant=${OWN}`,
            'tenant=all',
            'status=%E0',
            'friends=%00',
          ].entries())
            if (q % callers.length === c) requests.push({ method: 'GET', path: `${path}?${query}`, headers: who });
        }
      }
    }
    for (let j = 0; j < requests.length; j += PARALLEL) {
      await Promise.all(
        requests.slice(j, j + PARALLEL).map(async (q) => {
          const why = wrong(await rawRequest(s.port, q), q.method);
          if (why) failures.push(`${describeReq(q)} → ${why}`);
        }),
      );
    }
    expect(requests.length).toBeGreaterThan(1000);
    expect(failures).toEqual([]);
    expect(await healthy()).toBe(true);
  }, 600_000);
});

describe('signed webhooks with generated events', () => {
  it('are answered below 500 or 503 and their handlers leave the process up', async () => {
    const creds = await s.suite.tenants.credentials(OWN);
    const user = fc.oneof(
      { weight: 4, arbitrary: fc.constant(`U${'b'.repeat(32)}`) },
      fc.constantFrom('', '%E0', `U${long(100, 'f')}`, 'U0', '__proto__'),
    );
    const eventArb = fc.record(
      {
        type: fc.constantFrom(
          'follow',
          'unfollow',
          'message',
          'postback',
          'join',
          'leave',
          'memberJoined',
          'accountLink',
          'beacon',
          'things',
          'unsend',
          'videoPlayComplete',
          'membership',
          'unknownType',
        ),
        mode: fc.oneof({ weight: 4, arbitrary: fc.constant('active') }, fc.constantFrom('standby', 'x')),
        timestamp: fc.oneof(
          { weight: 6, arbitrary: fc.constant(Date.now()) },
          fc.constantFrom(0, -1, 1e20, 1.5, Number.MAX_SAFE_INTEGER),
        ),
        source: fc.oneof(
          { weight: 6, arbitrary: user.map((userId) => ({ type: 'user', userId })) },
          fc.constantFrom({ type: 'group', groupId: 'C1' }, { type: 'room' }, null, 'user'),
        ),
        webhookEventId: fc.oneof({ weight: 6, arbitrary: fc.uuid() }, fc.constantFrom('', long(500))),
        replyToken: fc.oneof(
          { weight: 4, arbitrary: fc.constant('0123456789abcdef0123456789abcdef') },
          fc.constant(''),
        ),
        deliveryContext: fc.oneof(
          { weight: 6, arbitrary: fc.constant({ isRedelivery: false }) },
          fc.constantFrom({ isRedelivery: 'yes' }, null),
        ),
        message: fc.oneof(
          {
            weight: 4,
            arbitrary: fc.record({
              type: fc.constantFrom('text', 'image', 'sticker', 'location'),
              id: fc.string(),
              text: fc.string(),
            }),
          },
          oddValue,
        ),
        postback: fc.oneof(
          {
            weight: 4,
            arbitrary: fc.record({
              data: fc.oneof(
                fc.string(),
                fc.constantFrom('action=register', 'a=%E0&b=', 'page=-1', 'page=1e20', '__proto__=1', long(3000)),
              ),
            }),
          },
          oddValue,
        ),
      },
      { requiredKeys: ['type', 'mode', 'timestamp', 'source', 'webhookEventId', 'deliveryContext'] },
    );
    const bodies = fc.sample(fc.array(eventArb, { maxLength: 3 }), { seed: SEED, numRuns: 300 });
    const failures: string[] = [];
    let accepted = 0;
    const rejected = new Set<string>();
    for (let j = 0; j < bodies.length; j += PARALLEL) {
      await Promise.all(
        bodies.slice(j, j + PARALLEL).map(async (events) => {
          const body = JSON.stringify({ destination: creds.botUserId, events });
          const a = await rawRequest(s.port, {
            method: 'POST',
            path: `/webhook/${OWN}`,
            headers: [
              ['Content-Type', 'application/json'],
              ['X-Line-Signature', sign(body, creds.channelSecret)],
            ],
            body,
          });
          const why = wrong(a, 'POST');
          if (why) failures.push(`${body.slice(0, 160)} → ${why}`);
          if (a.status === 200) accepted++;
          else rejected.add(`${a.status} ${codeOf(a.body)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    // enough of them well-formed enough to be taken, so the event handlers ran on them
    expect(accepted, [...rejected].join(', ')).toBeGreaterThan(bodies.length / 4);
    // the handlers run after the answer: the process is still up and still taking webhooks
    const body = JSON.stringify({ destination: creds.botUserId, events: [event('follow', `U${'c'.repeat(32)}`)] });
    const ok = await rawRequest(s.port, {
      method: 'POST',
      path: `/webhook/${OWN}`,
      headers: [
        ['Content-Type', 'application/json'],
        ['X-Line-Signature', sign(body, creds.channelSecret)],
      ],
      body,
    });
    expect(ok.status).toBe(200);
    expect(await healthy()).toBe(true);
  }, 300_000);
});

describe('bodies nested as deep as the size limit allows', () => {
  it('are refused or answered below 500 on every state-changing route, the process stays up', async () => {
    const deepArray = deep(400_000, '[', ']');
    const deepInside = (key: string) =>
      `{"title":"x","messages":[{"type":"flex","altText":"x","contents":${deep(150_000, '{"a":', '}', `{"${key}":1}`)}}]}`;
    const failures: string[] = [];
    const session = await s.tsu();
    for (const r of s.routes.filter((x) => STATE_CHANGES.has(x.method))) {
      const path = fillPath(r.url, OWN, s.fixtures);
      for (const who of [
        [['Authorization', `Bearer ${s.suite.token}`]] as Array<[string, string]>,
        [
          ['Cookie', session.cookie],
          ['X-CSRF-Token', session.csrfToken],
        ] as Array<[string, string]>,
      ]) {
        for (const body of [deepArray, deepInside('type')]) {
          const q = {
            method: r.method,
            path,
            headers: [...who, ['Content-Type', 'application/json']],
            body,
          } as RawRequest;
          const why = wrong(await rawRequest(s.port, q), q.method);
          if (why) failures.push(`${r.method} ${path} (${body.length} bytes nested) → ${why}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await healthy()).toBe(true);
  }, 300_000);
});
