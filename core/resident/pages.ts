/**
 * The residents' page frame: Japanese, mobile-first (core/resident/resident.css), the tenant's name in
 * the header, the page in <main>, a `role="alert"` region for errors, the LIFF settings for the
 * browser in a JSON block, and the frame's start-up script (core/browser/liff-start.ts) before the
 * page's own scripts. No inline script or style (CSP).
 */
import { html, jsonBlock, type SafeHtml } from '../html.ts';
import type { Tenant } from '../tenants.ts';

/** What the frame's start-up script reads from `<script type="application/json" id="liff-config">`. */
export interface LiffConfig {
  tenantId: string;
  tenantName: string;
  liffId: string;
  /** The tenant runs on the sandbox: LIFF starts with LINE's mock and a sandbox resident's real ID token. */
  sandbox: boolean;
}

/** Asset names the frame serves under /assets/. */
export const FRAME_ASSETS = {
  style: 'resident.css',
  start: 'resident-liff.js',
  home: 'resident-home.js',
} as const;

export function residentPage(opts: {
  tenant: Pick<Tenant, 'id' | 'name'>;
  title: string;
  body: SafeHtml;
  config?: LiffConfig;
  scripts?: readonly string[];
  styles?: readonly string[];
}): SafeHtml {
  const { tenant, title, config } = opts;
  return html`<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="format-detection" content="telephone=no">
<title>${title} — ${tenant.name}</title>
<link rel="stylesheet" href="/assets/${FRAME_ASSETS.style}">
${(opts.styles ?? []).map((f) => html`<link rel="stylesheet" href="/assets/${f}">`)}
</head><body>
<div id="demo-banner" class="r-demo" hidden></div>
<header class="r-header"><p class="r-tenant">${tenant.name}</p></header>
<main id="main" class="r-main">
<h1>${title}</h1>
<div id="resident-alert" class="r-alert" role="alert"></div>
<p id="liff-status" class="r-status" aria-live="polite">${config ? '読み込み中です…' : ''}</p>
${opts.body}
</main>
${config ? jsonBlock('liff-config', config) : ''}
${config ? html`<script src="/assets/${FRAME_ASSETS.start}"></script>` : ''}
${config ? (opts.scripts ?? []).map((f) => html`<script src="/assets/${f}"></script>`) : ''}
</body></html>`;
}

/** The home page: the resident pages capabilities registered, as links, and who is signed in. */
export function homeBody(tenantId: string, links: ReadonlyArray<{ path: string; title: string }>): SafeHtml {
  return html`<section aria-labelledby="me-title" class="r-card">
<h2 id="me-title">ご利用中の LINE アカウント</h2>
<p id="me" data-testid="me">確認中です…</p>
</section>
${
  links.length
    ? html`<nav aria-label="メニュー"><ul class="r-links">${links.map(
        (l) => html`<li><a class="r-button" href="/liff/${tenantId}/${l.path}">${l.title}</a></li>`,
      )}</ul></nav>`
    : html`<p>ご利用いただけるページはまだありません。</p>`
}`;
}

/** A resident-facing error page (no script): the message and what to do. */
export function residentErrorPage(tenant: Pick<Tenant, 'id' | 'name'> | undefined, message: string): SafeHtml {
  return residentPage({
    tenant: tenant ?? { id: '', name: 'Tayori' },
    title: 'ページを表示できません',
    body: html`<p class="r-error">${message}</p>`,
  });
}
