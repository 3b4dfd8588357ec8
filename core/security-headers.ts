/**
 * Security headers on every answer of the suite: pages, API, assets, 404s and errors (the app's
 * onSend hook, registered by createHttpApp) and the front handlers' answers (the residents' APIs
 * and any other handler that answers before the app: FrontHandlers.take sets them first).
 *
 * The one exception is the webhook receiver, whose callers are LINE's servers: its answers are a
 * fixed JSON (`{}` or a code and a fixed message, nothing taken from the request) that no browser
 * renders, so they carry `MACHINE_HEADERS` only. The browser policies cost it a third of its
 * throughput (npm run bench -- ingest: a bare server checking signatures, 37,353 → 27,040 req/s
 * with them), for a reader that never applies them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { SafeHtml } from './html.ts';

/**
 * Scripts, styles and connections from this site only; no inline script (a `<script
 * type="application/json">` data block is not run, so pages may carry one), no framing, no plugins.
 * Images may also be https (the 配信 preview shows the message's own image and LINE's stickers).
 * Styles: apexcharts and the pages' scripts set element styles through the CSSOM (el.style…),
 * which the policy allows; no inline <style> element or style attribute is needed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Two years, subdomains included: once a browser saw Tayori over https it never tries http. */
const HSTS = 'max-age=63072000; includeSubDomains';

/** The headers every answer carries; HSTS only when the suite is reached over https. */
export function securityHeaders(opts: { https?: boolean } = {}): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    ...(opts.https ? { 'strict-transport-security': HSTS } : {}),
  };
}

/** What an answer to a server (LINE's webhooks) carries: no sniffing its JSON as anything else. */
export const MACHINE_HEADERS = { 'x-content-type-options': 'nosniff' } as const;

/** Served over https: the public URL says so, or this connection is TLS itself. */
export function isHttps(req: IncomingMessage, publicUrl?: string): boolean {
  return Boolean(publicUrl?.startsWith('https:') || (req.socket as TLSSocket).encrypted);
}

/** For a handler answering on the raw response: sets the headers it has not set itself. */
export function applySecurityHeaders(req: IncomingMessage, res: ServerResponse, publicUrl?: string): void {
  for (const [name, value] of isHttps(req, publicUrl) ? HTTPS_ENTRIES : HTTP_ENTRIES) {
    if (!res.hasHeader(name)) res.setHeader(name, value);
  }
}
// made once: the front handlers (the card at a till) set them on every answer
const HTTP_ENTRIES = Object.entries(securityHeaders());
const HTTPS_ENTRIES = Object.entries(securityHeaders({ https: true }));

/**
 * On the app: every answer (routes, assets, redirects, 404s, errors) gets the headers a route has
 * not set itself (`/r/…` keeps its `no-referrer`); a page sent as SafeHtml (from `html`) leaves as its text.
 */
export function registerSecurityHeaders(app: FastifyInstance, opts: { publicUrl?: string } = {}): void {
  app.addHook('onSend', async (req, reply, payload) => {
    const https = isHttps(req.raw, opts.publicUrl) || req.protocol === 'https';
    for (const [name, value] of Object.entries(securityHeaders({ https }))) {
      if (!reply.hasHeader(name)) void reply.header(name, value);
    }
    return payload instanceof SafeHtml ? payload.value : payload;
  });
}
