/**
 * The residents' frame (ResidentShell): pages at /liff/<tenantId>/<path>, APIs at
 * /liff-api/<tenantId>/<path> for residents whose LIFF ID token verifies, the frame's browser files,
 * and — for tenants wired to the sandbox only — the demo/test helpers the LIFF mock uses
 * (/liff/<tenantId>/__mock/…), which fetch a simulated resident's real ID token from the sandbox.
 */
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../errors.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  frontHandlers,
  toErrorResponse,
} from '../http.ts';
import { lineBaseUrl, type LineEndpoints } from '../line.ts';
import type { ResidentContext, ResidentPageContent, ResidentShell } from '../resident-shell.ts';
import { tenantIdSchema, type Tenant, type TenantStore } from '../tenants.ts';
import { IdTokenVerifier, idTokenErrors, type VerifiedResident } from './id-token.ts';
import { FRAME_ASSETS, homeBody, residentErrorPage, residentPage, type LiffConfig } from './pages.ts';

/** JSON bodies of resident APIs: small (no resident uploads a file). */
const API_BODY_LIMIT = 16 * 1024;
/** How long a tenant read for a resident request is reused (changes in this process clear it at once). */
const TENANT_CACHE_MS = 5000;
/** After a failed reading, how long the tenant read before serves until the next try. */
const TENANT_RETRY_MS = 1000;

/**
 * LIFF pages run LINE's SDK, which talks to LINE (api.line.me, access.line.me); otherwise the
 * suite's policy (core/security-headers.ts): scripts and styles from this site only.
 */
export const RESIDENT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "connect-src 'self' https://api.line.me https://access.line.me https://liffsdk.line-scdn.net",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

export interface ResidentFrameDeps {
  app: FastifyInstance;
  tenants: TenantStore;
  /** Where each tenant's LINE calls go (LINE, or the sandbox when it runs). */
  endpoints: () => LineEndpoints;
  /** The suite's public URL (TAYORI_PUBLIC_URL or where it listens): sandbox tenants' page links. */
  publicUrl: () => string | undefined;
  /** Serves browser files under /assets/ (the dashboard shell's table). */
  assets: (files: Record<string, string>) => void;
}

export interface ResidentFrame extends ResidentShell {
  /** The verifier (shared, its key sets cached per LINE base URL). */
  readonly verifier: IdTokenVerifier;
}

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

interface MenuEntry {
  path: string;
  title: string;
}

export function createResidentFrame(deps: ResidentFrameDeps): ResidentFrame {
  const { app, tenants } = deps;
  const verifier = new IdTokenVerifier();
  const menu: MenuEntry[] = [];
  const residents = new WeakMap<FastifyRequest, VerifiedResident>();

  // Tenants read for resident requests: one reading at a time per tenant, and a tenant read before
  // keeps serving while the next reading is under way or fails (ClickHouse busy or down): a surge at
  // the tills never waits on ClickHouse, nor sends it a query per waiting request.
  const cache = new Map<string, { tenant: Tenant | undefined; until: number }>();
  const reading = new Map<string, Promise<Tenant | undefined>>();
  const changes = new Map<string, number>();
  tenants.onChange((id) => {
    cache.delete(id);
    changes.set(id, (changes.get(id) ?? 0) + 1);
  });
  const read = (id: string): Promise<Tenant | undefined> => {
    let p = reading.get(id);
    if (!p) {
      const change = changes.get(id);
      p = tenants
        .get(id)
        .then(
          (tenant) => {
            // a change made while reading may not be in what was read: the next request reads again
            if (changes.get(id) !== change) return tenant;
            if (cache.size > 1000) cache.clear();
            cache.set(id, { tenant, until: Date.now() + TENANT_CACHE_MS });
            return tenant;
          },
          (e: unknown) => {
            const last = cache.get(id);
            if (last) last.until = Date.now() + TENANT_RETRY_MS;
            throw e;
          },
        )
        .finally(() => reading.delete(id));
      reading.set(id, p);
    }
    return p;
  };
  const tenantOf = async (raw: string): Promise<Tenant> => {
    // only valid ids are cached, so a hit needs no parsing (the card at a till asks every time)
    const hit = cache.get(raw);
    if (hit?.tenant) {
      if (hit.until <= Date.now()) read(raw).catch(() => undefined);
      return hit.tenant;
    }
    const id = tenantIdSchema.safeParse(raw);
    if (!id.success) throw new AppError('tenant_not_found', `テナント ${raw.slice(0, 20)} は登録されていません`, 404);
    const tenant = hit && hit.until > Date.now() ? undefined : await read(id.data);
    if (!tenant) throw new AppError('tenant_not_found', `テナント ${id.data} は登録されていません`, 404);
    return tenant;
  };
  const requireLiff = (tenant: Tenant) => {
    if (!tenant.liffChannelId || !tenant.liffId) {
      throw new AppError(
        'liff_not_configured',
        `${tenant.name}の LINE ミニアプリ (LIFF) はまだ設定されていません。市町の担当者にお問い合わせください`,
        409,
      );
    }
  };
  const baseUrlOf = (tenant: Tenant) => lineBaseUrl({ tenantId: tenant.id, lineApi: tenant.lineApi }, deps.endpoints());
  const onSandbox = (tenant: Tenant) => tenant.lineApi === 'sandbox' && Boolean(deps.endpoints().sandbox);

  deps.assets({
    [FRAME_ASSETS.style]: here('./resident.css'),
    [FRAME_ASSETS.start]: here('../browser/liff-start.ts'),
    [FRAME_ASSETS.home]: here('../browser/resident-home.ts'),
  });

  const sendPage = (reply: FastifyReply, status: number, page: ReturnType<typeof residentPage>) =>
    reply
      .status(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', RESIDENT_CSP)
      .send(page.value);

  const page: ResidentShell['page'] = (path, render, opts) => {
    const clean = path.replace(/^\/+/, '');
    if (opts?.menu) menu.push({ path: clean, title: opts.menu });
    app.get<{ Params: { tenantId: string } }>(`/liff/:tenantId/${clean}`, async (req, reply) => {
      let tenant: Tenant | undefined;
      try {
        tenant = await tenantOf(req.params.tenantId);
        requireLiff(tenant);
        const c: ResidentPageContent = await render({ req: req as never, tenant });
        const config: LiffConfig = {
          tenantId: tenant.id,
          tenantName: tenant.name,
          liffId: tenant.liffId,
          sandbox: onSandbox(tenant),
        };
        return sendPage(
          reply,
          200,
          residentPage({ tenant, title: c.title, body: c.body, config, scripts: c.scripts, styles: c.styles }),
        );
      } catch (e) {
        if (!isAppError(e) || e.status >= 500) throw e;
        return sendPage(reply, e.status, residentErrorPage(tenant, e.message));
      }
    });
  };

  // the resident who called: the token is checked before anything else (the body is not read yet)
  const residentOf = async (authorization: string | undefined, tenantRaw: string) => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw idTokenErrors.missing();
    const tenant = await tenantOf(tenantRaw);
    requireLiff(tenant);
    const resident = await verifier.verify(m[1]!, { lineBaseUrl: baseUrlOf(tenant), audience: tenant.liffChannelId });
    return { tenant, resident };
  };
  const fast = fastLane(app, residentOf);

  const api: ResidentShell['api'] = (method, path, handle) => {
    const clean = path.replace(/^\/+/, '');
    if (method === 'GET') fast.add(clean, handle as never);
    app.route<{ Params: { tenantId: string } }>({
      method,
      url: `/liff-api/:tenantId/${clean}`,
      bodyLimit: API_BODY_LIMIT,
      // the token is checked before the body is read
      onRequest: async (req) => {
        residents.set(req, (await residentOf(req.headers.authorization, req.params.tenantId)).resident);
      },
      // JSON only (fastify would also hand over text or form bodies)
      preValidation: async (req) => {
        if (req.body !== undefined && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
          throw new AppError('unsupported_media_type', '送信内容は JSON (application/json) で送ってください', 415);
        }
      },
      handler: async (req, reply) => {
        const resident = residents.get(req);
        if (!resident) throw idTokenErrors.missing();
        const tenant = await tenantOf(req.params.tenantId);
        const ctx: ResidentContext = {
          req: req as never,
          tenant,
          userId: resident.userId,
          displayName: resident.displayName,
          body: req.body,
        };
        const result = await handle(ctx as never);
        void reply.header('cache-control', 'no-store');
        return result ?? {};
      },
    });
  };

  const frame: ResidentFrame = {
    verifier,
    page,
    api,
    assets: (files) => deps.assets(files),
    liffUrl(tenant, path) {
      if (!tenant.liffId) return undefined;
      const rest = path.replace(/^\/+/, '');
      if (tenant.lineApi === 'sandbox') {
        const base = deps.publicUrl();
        return base ? `${base.replace(/\/+$/, '')}/liff/${tenant.id}/${rest}` : undefined;
      }
      return `https://liff.line.me/${tenant.liffId}/${rest}`;
    },
  };

  // the endpoint URL of every tenant's LIFF app, and who the resident is
  page(
    '',
    async ({ tenant }) => ({
      title: 'メニュー',
      body: homeBody(tenant.id, menu),
      scripts: [FRAME_ASSETS.home],
    }),
    undefined,
  );
  app.get<{ Params: { tenantId: string } }>('/liff/:tenantId', async (req, reply) =>
    reply.redirect(`/liff/${encodeURIComponent(req.params.tenantId)}/`, 302),
  );
  api('GET', 'me', async ({ userId, displayName }) => ({ userId, displayName: displayName ?? null }));
  // any other path under a tenant's pages: a page a resident can read, not the API's JSON
  app.get<{ Params: { tenantId: string } }>('/liff/:tenantId/*', async (req, reply) => {
    const tenant = await tenantOf(req.params.tenantId).catch(() => undefined);
    return sendPage(
      reply,
      404,
      residentErrorPage(tenant, 'このページは見つかりません。LINE のメニューからもう一度開いてください'),
    );
  });

  registerSandboxMock(app, { tenantOf, onSandbox, endpoints: deps.endpoints });
  return frame;
}

/**
 * Demo and tests: for a tenant wired to the sandbox (and only then; 404 otherwise), some simulated
 * residents to act as, and a real ID token for one of them from the sandbox's hook, which the
 * browser hands to LINE's LIFF mock.
 */
function registerSandboxMock(
  app: FastifyInstance,
  deps: {
    tenantOf: (id: string) => Promise<Tenant>;
    onSandbox: (t: Tenant) => boolean;
    endpoints: () => LineEndpoints;
  },
): void {
  const sandboxTenant = async (id: string) => {
    const tenant = await deps.tenantOf(id);
    if (!deps.onSandbox(tenant) || !tenant.liffChannelId) {
      throw new AppError('not_found', 'このページは見つかりません', 404);
    }
    return { tenant, sandbox: deps.endpoints().sandbox! };
  };
  const hook = async (url: string, init?: RequestInit): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
    } catch {
      throw new AppError('sandbox_unreachable', 'LINE サンドボックスに接続できません', 503);
    }
    if (res.status === 404) throw new AppError('resident_not_found', 'この住民はサンドボックスにいません', 404);
    if (!res.ok) throw new AppError('sandbox_failed', `LINE サンドボックスがエラーを返しました (${res.status})`, 502);
    return res.json();
  };

  app.get<{ Params: { tenantId: string }; Querystring: { limit?: string } }>(
    '/liff/:tenantId/__mock/residents',
    async (req, reply) => {
      const { tenant, sandbox } = await sandboxTenant(req.params.tenantId);
      const limit = Math.min(Math.max(Number(req.query.limit) || 8, 1), 50);
      const body = (await hook(
        `${sandbox}/__sandbox/login-channels/${encodeURIComponent(tenant.liffChannelId)}/residents?limit=${limit}`,
      )) as { residents: Array<{ userId: string; displayName: string }> };
      return reply.header('cache-control', 'no-store').send({ residents: body.residents });
    },
  );

  app.get<{ Params: { tenantId: string }; Querystring: { as?: string } }>(
    '/liff/:tenantId/__mock/id-token',
    async (req, reply) => {
      const { tenant, sandbox } = await sandboxTenant(req.params.tenantId);
      const as = String(req.query.as ?? '');
      if (!/^U[0-9a-f]{32}$/.test(as)) {
        throw new AppError('invalid_resident', '住民の LINE ユーザー ID (U で始まる 33 文字) を指定してください', 400);
      }
      const body = (await hook(
        `${sandbox}/__sandbox/login-channels/${encodeURIComponent(tenant.liffChannelId)}/id-tokens`,
        { method: 'POST', body: JSON.stringify({ userId: as }) },
      )) as { idToken: string; expiresAt: string };
      return reply.header('cache-control', 'no-store').send({ idToken: body.idToken, expiresAt: body.expiresAt });
    },
  );
}

type ApiHandle = (ctx: ResidentContext) => Promise<unknown>;

/**
 * The residents' GET APIs answered ahead of fastify (core/http.ts front handlers): a plain path
 * (no percent-encoding) that names a registered GET API is served here with the same token check,
 * answer and errors; anything else (HEAD, an encoded path, a path no API has) goes on to fastify,
 * where every API is also registered. The benefit card's surge at a till is this path.
 */
function fastLane(
  app: FastifyInstance,
  residentOf: (
    authorization: string | undefined,
    tenantRaw: string,
  ) => Promise<{ tenant: Tenant; resident: VerifiedResident }>,
) {
  const routes: Array<{ pattern: RegExp; names: string[]; handle: ApiHandle }> = [];
  const exact = new Map<string, ApiHandle>();
  const front = frontHandlers(app);
  const PATH = /^\/liff-api\/(\d{5})\/([^?#%]*)(?:\?([^#]*))?$/;

  front.add(
    (req) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/liff-api/')) return false;
      const m = PATH.exec(req.url);
      if (!m) return false;
      const rest = m[2]!;
      let handle = exact.get(rest);
      let params: Record<string, string> = {};
      if (!handle) {
        for (const r of routes) {
          const pm = r.pattern.exec(rest);
          if (!pm) continue;
          handle = r.handle;
          params = Object.fromEntries(r.names.map((n, i) => [n, pm[i + 1]!]));
          break;
        }
      }
      if (!handle) return false;
      return { tenant: m[1]!, params, query: m[3] ?? '', handle };
    },
    (req, res, hit) => {
      req.resume(); // a GET's body, if any, is not read
      serve(req, res, hit).catch((err: unknown) => answerError(res, err));
    },
  );

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    hit: { tenant: string; params: Record<string, string>; query: string; handle: ApiHandle },
  ): Promise<void> {
    const { tenant, resident } = await residentOf(req.headers.authorization, hit.tenant);
    const ctx: ResidentContext = {
      req: {
        params: { tenantId: hit.tenant, ...hit.params },
        query: hit.query ? Object.fromEntries(new URLSearchParams(hit.query)) : {},
        headers: req.headers,
        get ip() {
          return front.clientIp(req);
        },
      },
      tenant,
      userId: resident.userId,
      displayName: resident.displayName,
      body: undefined,
    };
    const body = JSON.stringify((await hit.handle(ctx)) ?? {});
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  function answerError(res: ServerResponse, err: unknown): void {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) app.log.error({ err }, 'request failed');
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  return {
    add(path: string, handle: ApiHandle): void {
      if (!path.includes(':')) {
        exact.set(path, handle);
        return;
      }
      const names: string[] = [];
      const source = path
        .split('/')
        .map((seg) => {
          if (!seg.startsWith(':')) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(seg.slice(1));
          return '([^/]+)';
        })
        .join('/');
      routes.push({ pattern: new RegExp(`^${source}$`), names, handle });
    },
  };
}
