/**
 * The staff pages' frame as capabilities see it. dashboard/ is the shell (layout, navigation,
 * sign-in, error pages, /assets/) and provides this interface; cli/suite.ts hands it to each
 * capability, which registers its own pages, navigation entries and browser files through it. So a
 * capability owns its pages without importing dashboard/, and the shell never imports a capability.
 */
import { fileURLToPath } from 'node:url';
import { type Principal, requireTenant } from './auth.ts';
import { AppError } from './errors.ts';
import type { SafeHtml } from './html.ts';
import type { FastifyRequest } from './http.ts';
import { type Tenant, tenantIdSchema } from './tenants.ts';

/** Whom a page is drawn for: the signed-in caller and the tenants it may see. */
export interface PageContext<Params = Record<string, string>, Query = Record<string, string | undefined>> {
  req: FastifyRequest<{ Params: Params; Querystring: Query }>;
  principal: Principal;
  tenants: Tenant[];
}

/** A page's content; the shell draws the frame (header, navigation, sign-out) around it. */
export interface PageContent {
  /** The page's own title (the shell adds " — Tayori"). */
  title: string;
  body: SafeHtml;
  /** Scripts from /assets/ after the shell's base script; `false`: no script at all. */
  scripts?: string[] | false;
  /** Stylesheets from /assets/ after the shell's own. */
  styles?: string[];
}

/** A link in the header's navigation. */
export interface NavEntry {
  href: string;
  label: string;
  /** Shown only to callers for whom this is true (default: every signed-in caller). */
  visible?: (p: Principal) => boolean;
}

/**
 * A line the shell shows at the top of pages (a planned stop from ten days before, the month's
 * availability): `every` page or only the `overview` (県全体); `warning` lines are announced
 * (role="alert"-like emphasis in words, not colour alone).
 */
export interface Notice {
  text: string;
  level: 'info' | 'warning';
  where: 'every' | 'overview';
  /** A link to read more (e.g. /ops). */
  href?: string;
}

export interface PageShell {
  /**
   * A GET page for signed-in staff: a caller who is not signed in goes to the sign-in page and back;
   * an AppError with a 4xx status becomes the shell's error page with that status.
   */
  page<Params = Record<string, string>, Query = Record<string, string | undefined>>(
    url: string,
    render: (ctx: PageContext<Params, Query>) => Promise<PageContent>,
  ): void;
  /** A link in the navigation, after the shell's own (in the order capabilities add them). */
  nav(entry: NavEntry): void;
  /**
   * Lines at the top of pages, asked for each page drawn (synchronously: a capability keeps them
   * current in memory), shown to the callers the source returns them for.
   */
  notices(source: (p: Principal) => Notice[]): void;
  /** Browser files of a capability, served as /assets/<name> (name → absolute path). */
  assets(files: Record<string, string>): void;
}

/**
 * A capability's staff browser files, `<name>.js` and `<name>.css` (browser/staff.ts and
 * browser/staff.css beside the module at `moduleUrl`), registered with the shell; returns the
 * maker of its pages' content: its own script unless others are given, apexcharts' stylesheets
 * when apexcharts.js is among them (from /assets/: the Content-Security-Policy allows no inline
 * <style>), then the records' stylesheet and its own.
 */
export function staffPages(
  shell: PageShell,
  name: string,
  moduleUrl: string,
): (title: string, body: SafeHtml, scripts?: string[]) => PageContent {
  const file = (p: string) => fileURLToPath(new URL(p, moduleUrl));
  shell.assets({ [`${name}.js`]: file('./browser/staff.ts'), [`${name}.css`]: file('./browser/staff.css') });
  return (title, body, scripts = [`${name}.js`]) => ({
    title,
    body,
    scripts,
    styles: [
      ...(scripts.includes('apexcharts.js') ? ['apexcharts.css', 'apexcharts-legend.css'] : []),
      'records.css',
      `${name}.css`,
    ],
  });
}

/** The tenant in a page's path, for a caller who may see it (400 malformed, 403 not theirs, 404 unknown). */
export function pageTenant(principal: Principal, tenants: Tenant[], raw: string): Tenant {
  const r = tenantIdSchema.safeParse(raw);
  if (!r.success) throw new AppError('invalid_tenant', 'テナント ID が正しくありません', 400);
  requireTenant(principal, r.data);
  const t = tenants.find((x) => x.id === r.data);
  if (!t) throw new AppError('tenant_not_found', `テナント ${r.data} は登録されていません`, 404);
  return t;
}

/** True for accounts that see every tenant (prefecture, contractor, admin, the operator token). */
export function seesEveryTenant(p: Principal): boolean {
  return p.kind === 'operator' || p.role !== 'municipality';
}
