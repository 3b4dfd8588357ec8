/**
 * Acting as a resident of a sandbox-wired tenant, for the tests of resident pages and APIs (LIFF):
 *
 *   const [r] = await sandboxResidents(suite.url, '24201');            // simulated residents
 *   const token = await residentIdToken(suite.url, '24201', r.userId);  // a real ID token
 *   const { status, body } = await residentCall(suite.url, '24201', token, 'GET', 'mileage/balance');
 *   const page = await openResidentPage(browser, suite.url, '24201', 'mileage/card', r.userId);
 *
 * Tokens come through the suite's own mock endpoints (/liff/<tenantId>/__mock/…, sandbox tenants
 * only), which ask the sandbox's hook — the same path the demo's browser takes. For a token the
 * suite would not hand out (expired, another audience), ask the sandbox itself: `sandboxIdToken`.
 */
import type { Browser, Page } from 'playwright-core';

export interface SandboxResident {
  userId: string;
  displayName: string;
}

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Some simulated residents of a sandbox tenant (friends now, stable order). */
export async function sandboxResidents(suiteUrl: string, tenantId: string, limit = 8): Promise<SandboxResident[]> {
  const res = await fetch(`${suiteUrl}/liff/${tenantId}/__mock/residents?limit=${limit}`);
  return (await json<{ residents: SandboxResident[] }>(res, 'sandbox residents')).residents;
}

/** A real LIFF ID token (1 hour) for a simulated resident of a sandbox tenant. */
export async function residentIdToken(suiteUrl: string, tenantId: string, userId: string): Promise<string> {
  const res = await fetch(`${suiteUrl}/liff/${tenantId}/__mock/id-token?as=${encodeURIComponent(userId)}`);
  return (await json<{ idToken: string }>(res, 'resident ID token')).idToken;
}

/**
 * An ID token straight from the sandbox's hook: any Login channel (audience), any lifetime
 * (`expiresIn` ≤ 0: already expired), a nonce.
 */
export async function sandboxIdToken(
  sandboxUrl: string,
  loginChannelId: string,
  userId: string,
  opts: { expiresIn?: number; nonce?: string } = {},
): Promise<string> {
  const res = await fetch(`${sandboxUrl}/__sandbox/login-channels/${loginChannelId}/id-tokens`, {
    method: 'POST',
    body: JSON.stringify({ userId, ...opts }),
  });
  return (await json<{ idToken: string }>(res, 'sandbox ID token')).idToken;
}

/** A resident API call (/liff-api/<tenantId>/<path>) with the given ID token (none: without one). */
export async function residentCall<T = any>(
  suiteUrl: string,
  tenantId: string,
  idToken: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (idToken) headers.authorization = `Bearer ${idToken}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${suiteUrl}/liff-api/${tenantId}/${path.replace(/^\/+/, '')}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/**
 * A resident page opened as a simulated resident (`?as=<userId>`), on a phone-sized screen
 * (360×740 by default), once the frame's LIFF start-up is done (`<html data-liff="ready">`; a
 * failed start-up throws). An error thrown by a page's script fails the test.
 */
export async function openResidentPage(
  browser: Browser,
  suiteUrl: string,
  tenantId: string,
  path: string,
  userId: string,
  opts: { viewport?: { width: number; height: number }; query?: Record<string, string> } = {},
): Promise<Page> {
  const ctx = await browser.newContext({
    viewport: opts.viewport ?? { width: 360, height: 740 },
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
    isMobile: true,
    hasTouch: true,
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  const url = new URL(`${suiteUrl}/liff/${tenantId}/${path.replace(/^\/+/, '')}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  url.searchParams.set('as', userId);
  await page.goto(url.toString());
  await page.waitForSelector('html[data-liff]', { state: 'attached' });
  const state = await page.getAttribute('html', 'data-liff');
  if (state !== 'ready') {
    throw new Error(`LIFF did not start on ${url}: ${await page.textContent('#resident-alert')}`);
  }
  return page;
}
