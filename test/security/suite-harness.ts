/**
 * The running suite as an attacker meets it: started in this process (embedded ClickHouse, its own
 * redis-server, the demo's tenants wired to the sandbox, its clock slowed to real time), staff accounts signed in over HTTP, a few records
 * of another tenant to aim at, the route table fastify registered, and a raw HTTP client that sends
 * exactly the bytes it is given (no URL normalisation, any header) and never waits forever.
 */
import net from 'node:net';
import type { Suite } from '../../cli/suite.ts';
import { routeTable, type RouteEntry } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { harness } from '../helpers/index.ts';

export type { RouteEntry };

/** The municipality the signed-in account belongs to, and the one it must not reach. */
export const OWN = '24201';
export const OTHER = '24202';
export const OTHER_NAME = '四日市市';

export interface Session {
  username: string;
  cookie: string;
  csrfToken: string;
}

export interface Fixtures {
  /** A draft delivery of OTHER, and one of OWN. */
  otherDelivery: string;
  ownDelivery: string;
  /** Minutes concerning OTHER only, and an issue of OTHER. */
  otherMinutes: string;
  otherIssue: string;
}

export interface SecuritySuite {
  suite: Suite;
  /** The suite's data directory (its redis-server's files under redis/). */
  dataDir: string;
  url: string;
  port: number;
  /** Every route of the app (method, pattern), HEAD twins left out. */
  routes: readonly RouteEntry[];
  fixtures: Fixtures;
  /** The municipality account of OWN (deliver, export_residents, manage_reports). */
  tsu: () => Promise<Session>;
  /** The prefecture's account (reads every tenant; manage_reports, export_residents). */
  ken: () => Promise<Session>;
  /** With the operator token (what the CLI uses). */
  op(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

const PASSWORD = 'security-suite-pass-1';

export async function startSecuritySuite(extraEnv: Record<string, string> = {}): Promise<SecuritySuite> {
  const h = await harness({
    prefix: 'tayori-security-',
    clickhouse: false,
    env: { TAYORI_SANDBOX: 'on', TAYORI_DEMO_SPEED: '1', ...extraEnv },
  });
  try {
    const suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'warn' : 'silent'));
    const port = Number(new URL(suite.url).port);
    const op = (path: string, init: RequestInit = {}) =>
      fetch(suite.url + path, {
        ...init,
        headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json', ...init.headers },
      });
    const created = async (path: string, body: unknown): Promise<{ id: string }> => {
      const res = await op(path, { method: 'POST', body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`fixture ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string };
    };
    await created('/api/v1/users', {
      username: 'tsu-sec',
      role: 'municipality',
      tenantId: OWN,
      password: PASSWORD,
      permissions: ['deliver', 'export_residents', 'manage_reports'],
    });
    await created('/api/v1/users', {
      username: 'ken-sec',
      role: 'prefecture',
      password: PASSWORD,
      permissions: ['manage_reports', 'export_residents'],
    });
    const draft = (tenant: string) => ({ title: `${tenant} の下書き`, messages: [{ type: 'text', text: 'お知らせ' }] });
    const fixtures: Fixtures = {
      otherDelivery: (await created(`/api/v1/tenants/${OTHER}/deliveries`, draft(OTHER))).id,
      ownDelivery: (await created(`/api/v1/tenants/${OWN}/deliveries`, draft(OWN))).id,
      otherMinutes: (
        await created('/api/v1/minutes', {
          heldAt: '2026-04-15T14:00',
          kind: '定例会',
          title: `${OTHER_NAME} 定例会`,
          tenantIds: [OTHER],
        })
      ).id,
      otherIssue: (
        await created('/api/v1/issues', {
          tenantId: OTHER,
          category: '配信',
          description: `${OTHER_NAME} の課題`,
        })
      ).id,
    };
    const sessions = new Map<string, Session>();
    const as = (username: string) => async () => {
      const known = sessions.get(username);
      if (known && (await stillSignedIn(suite.url, known))) return known;
      const fresh = await signIn(suite.url, username, PASSWORD);
      sessions.set(username, fresh);
      return fresh;
    };
    const tsu = as('tsu-sec');
    return {
      suite,
      dataDir: h.dir,
      url: suite.url,
      port,
      routes: routeTable(suite.app),
      fixtures,
      tsu,
      ken: as('ken-sec'),
      op,
      close: () => h.close(),
    };
  } catch (e) {
    await h.close();
    throw e;
  }
}

export async function signIn(url: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201) throw new Error(`sign-in of ${username}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { username, cookie, csrfToken };
}

async function stillSignedIn(url: string, s: Session): Promise<boolean> {
  const res = await fetch(`${url}/api/v1/me`, { headers: { cookie: s.cookie } });
  return res.status === 200;
}

/** Path parameters filled in: aimed at `tenant`, and at records of it where the route names one. */
export function fillPath(route: string, tenant: string, f: Fixtures): string {
  const own = tenant === OWN;
  return route.replace(/:(\w+)/g, (_m, name: string) => {
    switch (name) {
      case 'tenantId':
        return tenant;
      case 'id':
        if (route.startsWith('/api/v1/minutes/')) return f.otherMinutes;
        if (route.startsWith('/api/v1/issues/')) return f.otherIssue;
        if (route.startsWith('/api/v1/reports/')) return '00000000-0000-4000-8000-000000000000';
        return tenant;
      case 'deliveryId':
        return own ? f.ownDelivery : f.otherDelivery;
      case 'userId':
        return `U${'0'.repeat(32)}`;
      case 'username':
        return 'yokkaichi';
      case 'categoryId':
      case 'itemId':
        return '1';
      case 'name':
        return 'dashboard.js';
      case 'token':
        return 'AAAAAAAAAAAAAAAAAAAAAA';
      default:
        return name;
    }
  });
}

/** What a route is about when it names no tenant in its path: the tenant in the query and the body. */
export function aimQuery(tenant: string): string {
  return `tenant=${tenant}&tenantId=${tenant}&from=2026-01-01&to=2026-01-02&month=2026-01`;
}
export function aimBody(tenant: string): Record<string, unknown> {
  return { tenant, tenantId: tenant, tenantIds: [tenant] };
}

export const STATE_CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RawAnswer {
  /** The HTTP status, or 'timeout' (no answer in time) / 'closed' (connection ended without a status line). */
  status: number | 'timeout' | 'closed';
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  method: string;
  /** Sent as it is on the request line. */
  path: string | Buffer;
  /** Header lines as they are (name, value); Host and Connection: close are added. */
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /** Content-Length is set from the body unless a header gives one or this is false. */
  contentLength?: boolean;
}

/**
 * One request over a fresh connection, bytes as given. A server that answers nothing within
 * `timeoutMs` is a hang: the answer says 'timeout' rather than waiting.
 */
export function rawRequest(port: number, req: RawRequest, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (status?: RawAnswer['status']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(status === 'timeout' ? { status, headers: {}, body: '' } : parse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', () => finish());
    const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
    const headers = [...(req.headers ?? [])];
    const has = (n: string) => headers.some(([k]) => k.toLowerCase() === n);
    if (!has('host')) headers.unshift(['Host', `127.0.0.1:${port}`]);
    if (req.contentLength !== false && !has('content-length') && (body.length || STATE_CHANGES.has(req.method)))
      headers.push(['Content-Length', String(body.length)]);
    headers.push(['Connection', 'close']);
    const head = Buffer.concat([
      Buffer.from(`${req.method} `),
      Buffer.from(req.path),
      Buffer.from(` HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`),
    ]);
    socket.write(Buffer.concat([head, body]));
  });
}

function parse(buf: Buffer): RawAnswer {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, 16).toString('latin1'));
  if (!m) return { status: 'closed', headers: {}, body: buf.toString('utf8') };
  const end = buf.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  const head = buf.subarray(0, end < 0 ? undefined : end).toString('latin1');
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  // the first answer only (a refused request's leftover bytes may have been answered as another)
  const length = Number(headers['content-length']);
  const rest = end < 0 ? Buffer.alloc(0) : buf.subarray(end + 4);
  const body = Number.isInteger(length) ? rest.subarray(0, length) : rest;
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

/** The error code of a JSON error body, if it is one. */
export function codeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
