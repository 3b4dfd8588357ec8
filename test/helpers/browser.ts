import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with nothing reaching out to the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--lang=ja-JP',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * A fresh browser context (Japanese, Tokyo time) signed in through the sign-in form; an error
 * thrown by a page's script fails the test.
 */
export async function signedInPage(
  browser: Browser,
  baseUrl: string,
  username: string,
  password: string,
  opts: { viewport?: { width: number; height: number } } = {},
): Promise<Page> {
  const ctx = await browser.newContext({
    viewport: opts.viewport ?? { width: 1400, height: 1000 },
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
    acceptDownloads: true,
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return page;
}

/** The suite's API with its operator token → the status and the JSON body. */
export async function operatorCall<T = any>(
  suite: { url: string; token: string },
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(suite.url + p, {
    method,
    headers: {
      authorization: `Bearer ${suite.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}
