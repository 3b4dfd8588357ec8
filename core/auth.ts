import { createHash } from 'node:crypto';
import { AppError } from './errors.ts';
import { bearerMatches, type FastifyInstance, type FastifyRequest } from './http.ts';

/**
 * Who may call the API, and what they may do.
 *
 * - Operator tokens: the local suite token the CLI reads from the data directory (full access).
 * - Staff accounts: a session cookie from signing in on the dashboard, or a personal API token
 *   (`Authorization: Bearer tyr_…`) for scripts. Each account has a role and permissions.
 *
 * Roles: prefecture (every tenant, read), contractor (every tenant, operate), municipality (its own
 * tenant only), admin (everything, and staff accounts). Permissions on top of the role are granted
 * per account by an admin, capped by what the role allows.
 */

export const ROLES = ['admin', 'prefecture', 'contractor', 'municipality'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'deliver',
  'export_residents',
  'manage_reports',
  'manage_channels',
  'manage_mileage',
  'card_holders',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: '管理者',
  prefecture: '県',
  contractor: '受託者',
  municipality: '市町',
};

export const PERMISSION_LABELS: Record<Permission, string> = {
  deliver: '配信',
  export_residents: '住民データの出力',
  manage_reports: '帳票の管理',
  manage_channels: 'チャネルの管理',
  manage_mileage: 'マイレージ管理',
  card_holders: 'カード利用者情報',
};

/**
 * What each role may be granted at most. The prefecture reads: it never sends or changes channels;
 * its manage_mileage covers the benefit card's one design (and programmes), never grants of points.
 */
export const ROLE_ALLOWS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  contractor: PERMISSIONS,
  municipality: ['deliver', 'export_residents', 'manage_reports', 'manage_mileage'],
  prefecture: ['export_residents', 'manage_reports', 'manage_mileage', 'card_holders'],
};

/**
 * What a new account of a role gets unless told otherwise. カード利用者情報 (card_holders: the benefit
 * card's personal data) is never a default: an admin grants it to the few who need it.
 */
export const ROLE_DEFAULTS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS.filter((p) => p !== 'card_holders'),
  contractor: ['deliver', 'manage_reports', 'manage_channels'],
  municipality: ['deliver'],
  prefecture: ['manage_reports'],
};

/** Permissions capped by the role (unknown names dropped), in a stable order. */
export function effectivePermissions(role: Role, granted: readonly string[]): Permission[] {
  return PERMISSIONS.filter((p) => granted.includes(p) && ROLE_ALLOWS[role].includes(p));
}

export interface StaffIdentity {
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  /** A municipality account's tenant; null for roles that see every tenant. */
  tenantId: string | null;
  permissions: Permission[];
}

export type Principal =
  | { kind: 'operator' }
  | (StaffIdentity & { kind: 'staff'; via: 'session'; sessionId: string; csrfToken: string })
  | (StaffIdentity & { kind: 'staff'; via: 'token' });

/** May this caller see this tenant's figures and records? */
export function canSeeTenant(p: Principal, tenantId: string): boolean {
  if (p.kind === 'operator') return true;
  if (p.role === 'municipality') return p.tenantId === tenantId;
  return true;
}

/** Whether the caller sees every tenant (the operator, and every role but a municipality). */
export function canSeeEvery(p: Principal): boolean {
  return p.kind === 'operator' || p.role !== 'municipality';
}

/** 403 unless the caller may see the tenant. */
export function requireTenant(p: Principal, tenantId: string): void {
  if (!canSeeTenant(p, tenantId)) {
    throw new AppError('forbidden_tenant', `このアカウントではテナント ${tenantId} の情報は見られません`, 403);
  }
}

/** The tenants, of those given, this caller may see: what queries are scoped to. */
export function visibleTenants(p: Principal, tenantIds: readonly string[]): string[] {
  return tenantIds.filter((id) => canSeeTenant(p, id));
}

export function hasPermission(p: Principal, perm: Permission): boolean {
  return p.kind === 'operator' || p.permissions.includes(perm);
}

export function requirePermission(p: Principal, perm: Permission): void {
  if (!hasPermission(p, perm)) {
    throw new AppError('forbidden', `この操作には「${PERMISSION_LABELS[perm]}」の権限が必要です`, 403);
  }
}

export function requireRole(p: Principal, ...roles: Role[]): void {
  if (p.kind === 'operator') return;
  if (!roles.includes(p.role)) {
    throw new AppError(
      'forbidden',
      `この操作は ${roles.map((r) => ROLE_LABELS[r]).join('・')} のアカウントのみ行えます`,
      403,
    );
  }
}

/** Admins and the operator token. */
export function requireAdmin(p: Principal): void {
  requireRole(p, 'admin');
}

/** The session cookie on plain http (localhost): browsers refuse `__Host-` cookies without TLS. */
export const SESSION_COOKIE = 'tayori_session';
/** The session cookie over https: `__Host-` binds it to this host (Secure, Path=/, no Domain). */
export const SECURE_SESSION_COOKIE = '__Host-tayori_session';
export const CSRF_HEADER = 'x-csrf-token';

/** Whether the request came over TLS (directly, or through a trusted proxy), or the suite is served over https. */
export function isSecureRequest(req: FastifyRequest, publicUrl?: string): boolean {
  return req.protocol === 'https' || (publicUrl ?? '').startsWith('https:');
}

/** The session cookie's name for this request. */
export function sessionCookieName(req: FastifyRequest, publicUrl?: string): string {
  return isSecureRequest(req, publicUrl) ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** Looks up what a session cookie or a staff API token stands for (wired by the suite). */
export interface StaffResolver {
  /** The signed-in account behind a session token, or undefined (expired, signed out, disabled). */
  session(token: string): Promise<(StaffIdentity & { sessionId: string; csrfToken: string }) | undefined>;
  /** The account behind a personal API token, or undefined; `cachedOnly`: no store lookup. */
  apiToken(token: string, opts?: { cachedOnly?: boolean }): Promise<StaffIdentity | undefined>;
}

export interface Authenticator {
  /** Who is calling, or undefined for an anonymous request. */
  identify(req: FastifyRequest): Promise<Principal | undefined>;
  /** Who is calling; 401 when nobody signed in. */
  require(req: FastifyRequest): Promise<Principal>;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Constant-time comparison of two strings of any length. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return ha.equals(hb) && a.length === b.length;
}

/**
 * Failed API-token lookups per address in a window (in memory, bounded). Past the limit an
 * address's tokens are no longer looked up in the store (only tokens already in the cache still
 * work) and the caller gets 401 saying so, until the window passes: tokens cannot be guessed at
 * speed, nor the store flooded with lookups.
 */
export class TokenFailureLimiter {
  readonly #byIp = new Map<string, { count: number; until: number }>();
  constructor(private readonly opts: { max?: number; windowMs?: number; maxEntries?: number } = {}) {}

  /** Seconds until this address may look tokens up again, or 0 when it may now. */
  blockedFor(ip: string, now = Date.now()): number {
    const e = this.#byIp.get(ip);
    return e && e.until > now && e.count >= (this.opts.max ?? 20) ? Math.ceil((e.until - now) / 1000) : 0;
  }

  failed(ip: string, now = Date.now()): void {
    const e = this.#byIp.get(ip);
    if (e && e.until > now) e.count++;
    else {
      const max = this.opts.maxEntries ?? 10_000;
      if (this.#byIp.size >= max) {
        for (const [k, v] of this.#byIp) if (v.until <= now) this.#byIp.delete(k);
        // still full: the oldest entry goes (Maps iterate in insertion order)
        if (this.#byIp.size >= max) this.#byIp.delete(this.#byIp.keys().next().value as string);
      }
      this.#byIp.delete(ip);
      this.#byIp.set(ip, { count: 1, until: now + (this.opts.windowMs ?? 60_000) });
    }
  }
}

/**
 * Operator tokens first (the CLI's access to a running suite), then staff API tokens, then the
 * session cookie. A session may change state only with its CSRF token (header or form field).
 * Over https only the `__Host-` session cookie counts (a plain-named one could be planted by a
 * sibling host).
 */
export function createAuthenticator(opts: {
  operatorTokens: readonly string[];
  staff?: StaffResolver;
  publicUrl?: string;
  tokenFailures?: TokenFailureLimiter;
}): Authenticator {
  const failures = opts.tokenFailures ?? new TokenFailureLimiter();
  const identify = async (req: FastifyRequest): Promise<Principal | undefined> => {
    const header = req.headers.authorization;
    if (header) {
      if (bearerMatches(header, opts.operatorTokens)) return { kind: 'operator' };
      const m = /^Bearer\s+(tyr_[A-Za-z0-9_-]{20,100})$/i.exec(header);
      if (m && opts.staff) {
        const blocked = failures.blockedFor(req.ip);
        const who = await opts.staff.apiToken(m[1]!, { cachedOnly: blocked > 0 });
        if (who) return { ...who, kind: 'staff', via: 'token' };
        if (blocked) {
          throw new AppError(
            'unauthorized',
            `無効なトークンでの呼び出しが続いたため、約 ${blocked} 秒間このアドレスからのトークンは確認しません。しばらくしてからお試しください`,
            401,
            { retryAfterSeconds: blocked },
          );
        }
        failures.failed(req.ip);
      }
      return undefined;
    }
    const token = readCookie(req.headers.cookie, sessionCookieName(req, opts.publicUrl));
    if (token && opts.staff) {
      const s = await opts.staff.session(token);
      if (s) return { ...s, kind: 'staff', via: 'session' };
    }
    return undefined;
  };
  return {
    identify,
    async require(req) {
      const p = await identify(req);
      if (!p) {
        throw new AppError(
          'unauthorized',
          '認証が必要です。サインインするか、Authorization: Bearer <トークン> を付けてください',
          401,
        );
      }
      return p;
    },
  };
}

/** 403 when a state change made with a session cookie lacks its CSRF token (header or form field). */
export function checkCsrf(req: FastifyRequest, p: Principal): void {
  if (p.kind !== 'staff' || p.via !== 'session' || SAFE_METHODS.has(req.method)) return;
  const given = csrfTokenOf(req);
  if (!given || !sameSecret(given, p.csrfToken)) {
    throw new AppError(
      'csrf_failed',
      '画面の有効期限が切れたか、不正な送信元からの操作です。ページを読み込み直してから操作してください',
      403,
    );
  }
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The caller of an API request, as the API hook established it. */
export function principalOf(req: FastifyRequest): Principal {
  const p = principals.get(req);
  if (!p) throw new AppError('unauthorized', '認証が必要です', 401);
  return p;
}

/** Remembers who is calling (for pages outside /api that identify callers themselves). */
export function setPrincipal(req: FastifyRequest, p: Principal): void {
  principals.set(req, p);
}

/** Routes under /api/ that answer without a caller (signing in). */
const PUBLIC_API = new Set(['POST /api/v1/sessions']);
const installed = new WeakSet<object>();

/**
 * The path the router matched, as registered ('/api/v1/tenants/:id'), or for a request no route
 * matched, its decoded path: never the raw URL, which `/%61pi/…` would slip past.
 */
export function routePath(req: FastifyRequest): string {
  const matched = req.routeOptions?.url;
  if (matched) return matched;
  const raw = req.url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Whether a request is for the API: by the matched route, else by the decoded path (any case). */
export function isApiRequest(req: FastifyRequest): boolean {
  return /^\/+api(\/|$)/i.test(routePath(req));
}

/**
 * Every /api/ route needs a caller (401 otherwise) and, for state changes by a session, its CSRF
 * token (403). Decided by the matched route, not the raw URL, so a percent-encoded path cannot
 * step around it; a request under /api/ that matches no route needs a caller too (fail closed).
 * Installed once per app, whichever feature registers first.
 */
export function installApiAuth(app: FastifyInstance, auth: Authenticator): void {
  if (installed.has(app)) return;
  installed.add(app);
  app.addHook('onRequest', async (req) => {
    if (!isApiRequest(req)) return;
    if (req.routeOptions?.url && PUBLIC_API.has(`${req.method} ${req.routeOptions.url}`)) return;
    principals.set(req, await auth.require(req));
  });
  app.addHook('preHandler', async (req) => {
    const p = principals.get(req);
    if (p && isApiRequest(req)) checkCsrf(req, p);
  });
}

/** The CSRF token sent with a state change: the header (fetch) or the `_csrf` form field. */
export function csrfTokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers[CSRF_HEADER];
  if (typeof h === 'string' && h) return h;
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' && typeof body._csrf === 'string' ? body._csrf : undefined;
}

/** The old operator-only authenticator (kept for callers that need nothing more). */
export function operatorTokenAuth(tokens: readonly string[]): Authenticator {
  return createAuthenticator({ operatorTokens: tokens });
}
