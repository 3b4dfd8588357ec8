/**
 * The residents' pages inside LINE (LIFF) as capabilities see them. core/resident/ implements this
 * frame (mobile-first layout, the LIFF start-up in the browser, ID-token verification on the server);
 * cli/suite.ts hands it to each capability (mileage, surveys, FAQ, cards), which registers its own
 * resident pages, APIs and browser files through it.
 *
 * URLs: a page registered as `mileage/card` is served at `/liff/<tenantId>/mileage/card`, the
 * tenant's LIFF endpoint being `/liff/<tenantId>/`; an API registered as `mileage/balance` answers
 * at `/liff-api/<tenantId>/mileage/balance` and only to a caller whose LIFF ID token verifies
 * (signature by LINE's published keys, issuer, audience = the tenant's LINE Login channel, expiry).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SafeHtml } from './html.ts';
import type { FastifyRequest } from './http.ts';
import type { Tenant } from './tenants.ts';

/** The tenant a resident page or API is served for. */
export interface ResidentPageContext<Query = Record<string, string | undefined>> {
  req: FastifyRequest<{ Querystring: Query }>;
  tenant: Tenant;
}

/**
 * What a resident API sees of its request: path parameters (`:surveyId`), the query, headers and the
 * client's address (by the suite's proxy rule). GET APIs are answered ahead of fastify (a hot path:
 * the benefit card at a till), so this is all a handler may rely on.
 */
export interface ResidentRequest<Query = Record<string, string | undefined>> {
  params: unknown;
  query: Query;
  headers: IncomingHttpHeaders;
  ip: string;
}

/** A resident verified by their LIFF ID token. */
export interface ResidentContext<Body = unknown, Query = Record<string, string | undefined>> {
  req: ResidentRequest<Query>;
  tenant: Tenant;
  /** LINE user id (the token's `sub`), as webhooks and the Messaging API know the resident. */
  userId: string;
  /** The display name in the token, if the resident shared it. */
  displayName?: string;
  body: Body;
}

/** A resident page's content; the frame (header with the tenant's name, LIFF start-up) is drawn around it. */
export interface ResidentPageContent {
  title: string;
  body: SafeHtml;
  /**
   * Scripts from /assets/, loaded after the frame's LIFF start-up script: they `await startLiff()`
   * (core/browser/liff.ts) for the resident and call their APIs with `residentFetch` (ID token added).
   */
  scripts?: string[];
  styles?: string[];
}

export interface ResidentShell {
  /** A GET page under /liff/<tenantId>/<path> (public HTML; identity is established in the browser). */
  page<Query = Record<string, string | undefined>>(
    path: string,
    render: (ctx: ResidentPageContext<Query>) => Promise<ResidentPageContent>,
    /** `menu`: the link's text on the tenant's home page (/liff/<tenantId>/); without it the page is not listed. */
    opts?: { menu?: string },
  ): void;
  /**
   * A JSON API under /liff-api/<tenantId>/<path> for verified residents: without a valid ID token
   * the caller gets 401 (code id_token_missing | id_token_invalid | id_token_expired).
   */
  api<Body = unknown, Query = Record<string, string | undefined>, Result = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    handle: (ctx: ResidentContext<Body, Query>) => Promise<Result>,
  ): void;
  /** Browser files served as /assets/<name> (name → absolute path of a .ts or .css file). */
  assets(files: Record<string, string>): void;
  /** The LIFF URL that opens a resident page inside LINE (https://liff.line.me/<liffId>/<path>), if the tenant has a LIFF app. */
  liffUrl(tenant: Tenant, path: string): string | undefined;
}
