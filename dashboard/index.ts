import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createAuthenticator, installApiAuth, ROLE_LABELS, type Authenticator, type Role } from '../core/auth.ts';
import { AuditLog } from '../core/audit.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import { LoginThrottle, SessionStore } from '../core/sessions.ts';
import type { TenantStore } from '../core/tenants.ts';
import { StaffStore } from '../core/users.ts';
import { registerDashboardApi } from './api.ts';
import { DashboardData } from './data.ts';
import type { PageShell } from '../core/page-shell.ts';
import { registerPageRoutes } from './page-routes.ts';
import { registerAnalysisPages } from './analysis-page.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerTenantRoutes } from './tenants-api.ts';

export { registerTenantRoutes } from './tenants-api.ts';
export { DashboardData } from './data.ts';
export { overviewCsv, overviewTable } from './api.ts';
export { csvCell, csvLine, toCsv } from '../core/csv.ts';
export { xlsxWorkbook } from './xlsx.ts';

export interface DashboardDeps {
  ch: ClickHouseClient;
  redis: Redis;
  tenants: TenantStore;
  /** The local suite token(s) the CLI uses: full access. */
  operatorTokens: readonly string[];
  logger: Logger;
  publicUrl?: string;
  /** Creates a tenant's LIFF app through LINE (POST /api/v1/tenants/:id/liff-app); the suite provides it. */
  createLiffApp?: Parameters<typeof registerTenantRoutes>[1]['createLiffApp'];
}

export interface Dashboard {
  auth: Authenticator;
  users: StaffStore;
  sessions: SessionStore;
  audit: AuditLog;
  data: DashboardData;
  /** Sign-in, pages, /api/v1 (tenants, dashboard, users, audit) on the suite's app. */
  /** Sign-in, pages, /api/v1 (tenants, dashboard, users, audit) on the suite's app; the page shell capabilities draw their pages in. */
  register(app: FastifyInstance): PageShell;
  /** Demo only: staff accounts with random passwords, kept in the data directory and printed. */
  seedDemoAccounts(dataDir: string, say: (line: string) => void): Promise<void>;
}

/** Staff sign-in, roles and the dashboard's API and pages. */
export function createDashboard(deps: DashboardDeps): Dashboard {
  const users = new StaffStore(deps.ch, async (id) => (await deps.tenants.get(id))?.kind);
  const sessions = new SessionStore(deps.redis);
  const throttle = new LoginThrottle(deps.redis);
  const audit = new AuditLog(deps.ch, deps.logger);
  const data = new DashboardData(deps.ch, deps.tenants);
  const auth = createAuthenticator({
    operatorTokens: deps.operatorTokens,
    publicUrl: deps.publicUrl,
    staff: {
      async session(token) {
        const s = await sessions.get(token);
        if (!s) return undefined;
        const u = await users.active(s.username);
        if (!u || u.userId !== s.userId) return undefined;
        return { ...u, sessionId: s.sessionId, csrfToken: s.csrfToken };
      },
      apiToken: (token, opts) => users.apiTokenOwner(token, opts),
    },
  });
  return {
    auth,
    users,
    sessions,
    audit,
    data,
    register(app) {
      if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
        app.addContentTypeParser(
          'application/x-www-form-urlencoded',
          { parseAs: 'string', bodyLimit: 64 * 1024 },
          (_req, body, done) => {
            const out: Record<string, string | string[]> = {};
            for (const [k, v] of new URLSearchParams(body as string)) {
              const prev = out[k];
              out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
            }
            done(null, out);
          },
        );
      }
      installApiAuth(app, auth);
      // sends and exports are audited by the calls that make them (delivery's service, each export)
      registerTenantRoutes(app, { tenants: deps.tenants, auth, audit, createLiffApp: deps.createLiffApp });
      registerSessionRoutes(app, { auth, users, sessions, throttle, audit, publicUrl: deps.publicUrl });
      registerDashboardApi(app, { data, users, sessions, audit });
      const shell = registerPageRoutes(app, { auth, data, users, audit });
      registerAnalysisPages(shell, data);
      return shell;
    },
    async seedDemoAccounts(dataDir, say) {
      const file = path.join(dataDir, 'demo-accounts.json');
      let saved: Array<{
        username: string;
        password: string;
        role: Role;
        tenantId: string | null;
        displayName: string;
      }> = [];
      try {
        saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        /* first run */
      }
      const wanted: Array<{ username: string; role: Role; tenantId: string | null; displayName: string }> = [
        { username: 'admin', role: 'admin', tenantId: null, displayName: 'システム管理者' },
        { username: 'mie-ken', role: 'prefecture', tenantId: null, displayName: '三重県 健康推進課' },
        { username: 'itaku', role: 'contractor', tenantId: null, displayName: '受託者 運用担当' },
        { username: 'tsu', role: 'municipality', tenantId: '24201', displayName: '津市 担当者' },
        { username: 'yokkaichi', role: 'municipality', tenantId: '24202', displayName: '四日市市 担当者' },
      ];
      for (const w of wanted) {
        if (await users.get(w.username)) continue;
        if (w.tenantId && !(await deps.tenants.get(w.tenantId))) continue;
        const password = randomBytes(9).toString('base64url');
        await users.add({ ...w, password });
        saved = [...saved.filter((s) => s.username !== w.username), { ...w, password }];
      }
      fs.writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
      if (!saved.length) return;
      say('デモ用のサインイン情報 (デモ専用。data ディレクトリの demo-accounts.json にも保存しています):');
      for (const s of saved) {
        say(
          `  ${ROLE_LABELS[s.role].padEnd(4, '　')} ユーザー名 ${s.username.padEnd(10)} パスワード ${s.password}${s.tenantId ? ` (${s.displayName})` : ''}`,
        );
      }
    },
  };
}
