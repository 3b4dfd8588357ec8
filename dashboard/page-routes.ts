import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  checkCsrf,
  PERMISSION_LABELS,
  PERMISSIONS,
  requireAdmin,
  ROLE_LABELS,
  setPrincipal,
  type Authenticator,
  type Principal,
} from '../core/auth.ts';
import type { AuditLog } from '../core/audit.ts';
import { AppError, isAppError } from '../core/errors.ts';
import { html, toHtmlString, type SafeHtml } from '../core/html.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import { tenantIdSchema, type Tenant } from '../core/tenants.ts';
import { permissionSchema, usernameSchema, type StaffStore } from '../core/users.ts';
import { tokyoMonth as currentMonth, monthSchema } from '../core/time.ts';
import type { DashboardData } from './data.ts';
import { browserBundle } from '../core/browser-bundle.ts';
import type { PageShell } from '../core/page-shell.ts';
import { addNav, addNoticeSource, errorPage, layout, municipalityPage, overviewPage } from './pages.ts';
import { registerTokenPages, tokensSection } from './token-pages.ts';

export interface PageDeps {
  auth: Authenticator;
  data: DashboardData;
  users: StaffStore;
  audit: AuditLog;
}

const require = createRequire(import.meta.url);

/**
 * Static files the pages load: apexcharts' browser bundle from node_modules, our styles, and our
 * scripts (TypeScript entries under browser/, bundled by esbuild: core/browser-bundle.ts).
 */
function assets(): Map<string, { body: Buffer; type: string }> {
  const js = 'application/javascript; charset=utf-8';
  const apex = (file: string) => fs.readFileSync(require.resolve(`apexcharts/dist/${file}`));
  const path = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
  const own = (name: string): [string, { body: Buffer; type: string }] => [
    name,
    {
      body: fs.readFileSync(path(`./public/${name}`)),
      type: name.endsWith('.css') ? 'text/css; charset=utf-8' : js,
    },
  ];
  const bundle = (name: string, entry: string): [string, { body: Buffer; type: string }] => [
    name,
    { body: browserBundle(path(entry)), type: js },
  ];
  return new Map([
    ['apexcharts.js', { body: apex('apexcharts.min.js'), type: js }],
    // apexcharts' own styles, which it would otherwise inject as inline <style> (see browser/charts.ts)
    ['apexcharts.css', { body: apex('apexcharts.css'), type: 'text/css; charset=utf-8' }],
    ['apexcharts-legend.css', { body: apex('apexcharts-legend.css'), type: 'text/css; charset=utf-8' }],
    // the shell's own: the base script and the charts (which bundles metrics/chart-text.js), and the
    // styles of the pages and of the forms every capability's pages use
    bundle('dashboard.js', './browser/dashboard.ts'),
    bundle('charts.js', './browser/charts.ts'),
    ...['dashboard.css', 'records.css'].map(own),
  ]);
}

/** Registers the shell's pages and returns the shell capabilities draw their pages in. */
export function registerPageRoutes(app: FastifyInstance, deps: PageDeps): PageShell {
  const { auth, data, users } = deps;
  const files = assets();

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const f = files.get(req.params.name);
    if (!f) throw new AppError('not_found', `${req.params.name} は見つかりません`, 404);
    return reply.type(f.type).header('cache-control', 'public, max-age=3600').send(f.body);
  });

  /** The signed-in caller, or a redirect to the sign-in page. */
  const signedIn = async (req: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> => {
    const p = await auth.identify(req);
    if (!p) {
      void reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
      return undefined;
    }
    setPrincipal(req, p);
    return p;
  };

  /** Renders a page; an AppError becomes a Japanese error page with its status. */
  const page = async (
    _req: FastifyRequest,
    reply: FastifyReply,
    p: Principal,
    render: (tenants: Tenant[]) => Promise<SafeHtml>,
  ) => {
    const tenants = await data.visible(p);
    try {
      const page = await render(tenants);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(toHtmlString(page));
    } catch (e) {
      if (!isAppError(e) || e.status >= 500) throw e;
      return reply
        .status(e.status)
        .type('text/html; charset=utf-8')
        .send(toHtmlString(errorPage({ status: e.status, message: e.message, principal: p, tenants })));
    }
  };

  app.get('/', async (req, reply) => {
    const p = await auth.identify(req);
    if (!p) return reply.redirect('/login', 303);
    if (p.kind === 'staff' && p.role === 'municipality' && p.tenantId)
      return reply.redirect(`/municipalities/${p.tenantId}`, 303);
    return reply.redirect('/overview', 303);
  });

  app.get<{ Querystring: { month?: string } }>('/overview', async (req, reply) => {
    const p = await signedIn(req, reply);
    if (!p) return reply;
    return page(req, reply, p, async (tenants) => {
      if (p.kind === 'staff' && p.role === 'municipality') {
        throw new AppError(
          'forbidden',
          '県全体の状況は県・受託者・管理者のアカウントで見られます。自分の市町のページをご覧ください',
          403,
        );
      }
      const month = req.query.month ? monthSchema.parse(req.query.month) : currentMonth();
      const [overview, mileage] = await Promise.all([data.overview(p, month), data.mileage(p, month)]);
      return overviewPage(overview, { principal: p, tenants }, mileage);
    });
  });

  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/municipalities/:id',
    async (req, reply) => {
      const p = await signedIn(req, reply);
      if (!p) return reply;
      return page(req, reply, p, async (tenants) => {
        const id = tenantIdSchema.parse(req.params.id);
        const view = await data.municipality(p, id, req.query);
        // the mileage figures of the month the range ends in
        const mileage = await data.municipalityMileage(p, id, view.to.slice(0, 7));
        return municipalityPage(view, await data.attributes(p, id), { principal: p, tenants }, mileage);
      });
    },
  );

  app.get('/admin/users', async (req, reply) => {
    const p = await signedIn(req, reply);
    if (!p) return reply;
    return page(req, reply, p, async (tenants) => {
      requireAdmin(p);
      const list = await users.list();
      const names = new Map(tenants.map((t) => [t.id, t.name]));
      const csrf = p.kind === 'staff' && p.via === 'session' ? p.csrfToken : '';
      const tokens = tokensSection(await users.listTokens(), list, csrf);
      const rows = list.map(
        (u) => html`<tr><td>${u.username}</td><td>${u.displayName}</td><td>${ROLE_LABELS[u.role]}</td>
<td>${u.tenantId ? `${names.get(u.tenantId) ?? ''} (${u.tenantId})` : 'すべて'}</td><td>${u.disabled ? '停止中' : '有効'}</td>
<td><form method="post" action="/admin/users/${encodeURIComponent(u.username)}/permissions"><input type="hidden" name="_csrf" value="${csrf}">
${PERMISSIONS.map((perm, i) => html`${i ? ' ' : ''}<label><input type="checkbox" name="permissions" value="${perm}"${u.permissions.includes(perm) ? html` checked` : ''}> ${PERMISSION_LABELS[perm]}</label>`)}
<button type="submit">保存</button></form></td></tr>`,
      );
      return layout({
        title: 'ユーザー管理',
        principal: p,
        tenants,
        scripts: false,
        body: html`<h1>ユーザー管理</h1><p class="note">権限は役割の範囲内で付与されます (県は配信・チャネル管理を持てません)。ユーザーの追加は <code>npx tayori users add</code> または POST /api/v1/users で行います。</p>
<table id="users"><thead><tr><th>ユーザー名</th><th>表示名</th><th>役割</th><th>担当</th><th>状態</th><th>権限</th></tr></thead><tbody>${rows}</tbody></table>
${tokens}`,
      });
    });
  });

  app.post<{ Params: { username: string } }>('/admin/users/:username/permissions', async (req, reply) => {
    const p = await signedIn(req, reply);
    if (!p) return reply;
    checkCsrf(req, p);
    requireAdmin(p);
    const body = (req.body ?? {}) as Record<string, string | string[]>;
    const raw =
      body.permissions === undefined ? [] : Array.isArray(body.permissions) ? body.permissions : [body.permissions];
    const username = usernameSchema.parse(req.params.username);
    const user = await users.setPermissions(
      username,
      raw.map((x) => permissionSchema.parse(x)),
    );
    await deps.audit.record({
      action: 'user_permissions_changed',
      actor: p,
      tenantId: user.tenantId,
      target: username,
      detail: { permissions: user.permissions },
      ip: req.ip,
    });
    return reply.redirect('/admin/users', 303);
  });

  registerTokenPages(app, { auth, users, audit: deps.audit, data });

  return {
    page(url, render) {
      app.get(url, async (req, reply) => {
        const p = await signedIn(req, reply);
        if (!p) return reply;
        return page(req, reply, p, async (tenants) => {
          const c = await render({ req: req as never, principal: p, tenants });
          return layout({
            title: c.title,
            principal: p,
            tenants,
            body: c.body,
            scripts: c.scripts === false ? false : (c.scripts ?? []),
            styles: c.styles,
          });
        });
      });
    },
    nav: addNav,
    notices: addNoticeSource,
    assets(list) {
      for (const [name, file] of Object.entries(list)) {
        if (files.has(name)) throw new Error(`/assets/${name} is served twice`);
        files.set(name, {
          // TypeScript entries are bundled for the browser (core/browser-bundle.ts)
          body: file.endsWith('.ts') ? browserBundle(file) : fs.readFileSync(file),
          type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'application/javascript; charset=utf-8',
        });
      }
    },
  };
}
