import {
  checkCsrf,
  principalOf,
  isSecureRequest,
  readCookie,
  ROLE_LABELS,
  sessionCookieName,
  type Authenticator,
  type Principal,
} from '../core/auth.ts';
import type { AuditLog } from '../core/audit.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import type { LoginThrottle, SessionStore } from '../core/sessions.ts';
import type { StaffStore, StaffUser } from '../core/users.ts';
import { z } from '../core/zod.ts';
import { loginPage } from './pages.ts';

export interface SessionDeps {
  auth: Authenticator;
  users: StaffStore;
  sessions: SessionStore;
  throttle: LoginThrottle;
  audit: AuditLog;
  /** Cookies get `Secure` when the public URL is https (or the request came over TLS). */
  publicUrl?: string;
}

const credentialsSchema = z.object({
  username: z.string().trim().min(1, 'ユーザー名を入力してください').max(64),
  password: z.string().min(1, 'パスワードを入力してください').max(200),
  next: z.string().optional(),
});

/** Only same-site paths may follow a sign-in. */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : '/';
}

const meta = (req: FastifyRequest) => ({ ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });

/**
 * The session cookie: `__Host-tayori_session` with Secure over https (bound to this host: no Domain,
 * Path=/), the plain name on plain http (localhost), which browsers require; HttpOnly, SameSite=Lax.
 */
function sessionCookie(req: FastifyRequest, publicUrl: string | undefined, token: string, maxAgeS: number): string {
  const name = sessionCookieName(req, publicUrl);
  return `${name}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${isSecureRequest(req, publicUrl) ? '; Secure' : ''}`;
}

/** Refuses a sign-in posted from another site (login CSRF). */
function sameOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = '';
  }
  if (host !== req.headers.host) throw new AppError('csrf_failed', '別のサイトからのサインインは受け付けません', 403);
}

export function whoAmI(p: Principal): Record<string, unknown> {
  if (p.kind === 'operator') return { kind: 'operator', role: 'admin', roleLabel: '運用トークン' };
  return {
    kind: 'staff',
    username: p.username,
    displayName: p.displayName,
    role: p.role,
    roleLabel: ROLE_LABELS[p.role],
    tenantId: p.tenantId,
    permissions: p.permissions,
    ...(p.via === 'session' ? { csrfToken: p.csrfToken } : {}),
  };
}

/** Sign-in (page and JSON), sign-out, and who is signed in. */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionDeps): void {
  const { users, sessions, throttle, audit } = deps;

  const signIn = async (
    req: FastifyRequest,
    username: string,
    password: string,
  ): Promise<{ user: StaffUser; token: string; csrfToken: string }> => {
    sameOrigin(req);
    try {
      await throttle.check(username, req.ip);
    } catch (e) {
      await audit.record({
        action: 'sign_in_failed',
        outcome: 'denied',
        username,
        detail: { reason: 'throttled' },
        ...meta(req),
      });
      throw e;
    }
    const user = await users.verify(username, password);
    if (!user) {
      await throttle.failed(username, req.ip);
      await audit.record({
        action: 'sign_in_failed',
        outcome: 'failed',
        username: username.slice(0, 64),
        detail: { reason: 'bad_credentials' },
        ...meta(req),
      });
      throw new AppError('sign_in_failed', 'ユーザー名またはパスワードが正しくありません', 401);
    }
    await throttle.succeeded(user.username);
    const { token, record } = await sessions.create(user.username, user.userId);
    await audit.record({
      action: 'sign_in',
      tenantId: user.tenantId,
      actor: { ...user, kind: 'staff', via: 'session', sessionId: '', csrfToken: '' },
      ...meta(req),
    });
    return { user, token, csrfToken: record.csrfToken };
  };

  const endSession = async (req: FastifyRequest, reply: FastifyReply, p: Principal) => {
    const token = readCookie(req.headers.cookie, sessionCookieName(req, deps.publicUrl));
    if (token) await sessions.destroy(token);
    void reply.header('set-cookie', sessionCookie(req, deps.publicUrl, '', 0));
    // the session is gone either way: a sign-out whose record cannot be written (ClickHouse down) is
    // still a sign-out, not an error the person would retry
    await audit
      .record({ action: 'sign_out', actor: p, tenantId: p.kind === 'staff' ? p.tenantId : null, ...meta(req) })
      .catch((err: unknown) => req.log.warn({ err }, 'sign-out not recorded in the audit log'));
  };

  app.get<{ Querystring: { next?: string; signed_out?: string } }>('/login', async (req, reply) => {
    const p = await deps.auth.identify(req);
    if (p) return reply.redirect(safeNext(req.query.next), 303);
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(loginPage({ next: safeNext(req.query.next), signedOut: req.query.signed_out === '1' }));
  });

  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = credentialsSchema.safeParse(body);
    const next = safeNext(typeof body.next === 'string' ? body.next : undefined);
    if (!parsed.success) {
      return reply
        .status(400)
        .type('text/html; charset=utf-8')
        .send(loginPage({ next, error: parsed.error.issues[0]!.message, username: String(body.username ?? '') }));
    }
    try {
      const s = await signIn(req, parsed.data.username, parsed.data.password);
      void reply.header('set-cookie', sessionCookie(req, deps.publicUrl, s.token, Math.floor(sessions.maxMs / 1000)));
      return reply.redirect(next, 303);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      return reply
        .status(e.status)
        .type('text/html; charset=utf-8')
        .send(loginPage({ next, error: e.message, username: parsed.data.username }));
    }
  });

  app.post('/logout', async (req, reply) => {
    const p = await deps.auth.identify(req);
    if (p) {
      checkCsrf(req, p);
      await endSession(req, reply, p);
    }
    return reply.redirect('/login?signed_out=1', 303);
  });

  app.post('/api/v1/sessions', async (req, reply) => {
    const v = credentialsSchema.parse(req.body ?? {});
    const s = await signIn(req, v.username, v.password);
    void reply.header('set-cookie', sessionCookie(req, deps.publicUrl, s.token, Math.floor(sessions.maxMs / 1000)));
    return reply.status(201).send({
      user: whoAmI({ ...s.user, kind: 'staff', via: 'session', sessionId: '', csrfToken: s.csrfToken }),
      csrfToken: s.csrfToken,
    });
  });

  app.delete('/api/v1/sessions/current', async (req, reply) => {
    const p = principalOf(req);
    if (p.kind !== 'staff' || p.via !== 'session')
      throw new AppError('no_session', 'サインインしたセッションではありません', 400);
    await endSession(req, reply, p);
    return reply.status(204).send();
  });

  app.get('/api/v1/me', async (req) => whoAmI(principalOf(req)));
}
