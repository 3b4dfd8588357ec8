import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { routeTable } from '../../core/http.ts';
import { seedFigures } from '../helpers/dashboard-fixtures.ts';
import { launchChromium, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness } from '../helpers/index.ts';

// JIS X 8341-3 AA (WCAG 2.1 AA), as Japanese public bodies are held to it: every page of the suite,
// found from the routes fastify registered (a new page is checked without being listed here), passes
// axe-core's WCAG 2.0/2.1 A and AA rules, for a staff account that sees every tenant and for a
// municipality's own account.
let h: Harness;
let suite: Suite;
let browser: Browser;
const TENANT = '24201';
const PASSWORD = 'a11y-check-pass-1';
/** A survey of TENANT (made in beforeAll), for the survey pages' :surveyId. */
let surveyId = '';

/**
 * Routes that are not pages a person reads (APIs, files, redirects, machine endpoints), and the
 * residents' pages (LIFF), which test/resident/ checks as a resident on a phone-sized screen; the
 * full text of a mail-started notice (/notices/:id) is a residents' page checked by test/delivery/mail-smtp.test.ts;
 * /metrics is Prometheus text for the monitoring token.
 */
const NOT_PAGES = /^\/(api|assets|r|webhook|healthz|readyz|metrics|logout|liff|liff-api|notices)(\/|$)/;

function pageUrls(): string[] {
  const urls = routeTable(suite.app)
    .filter((r) => r.method === 'GET' && !NOT_PAGES.test(r.url) && r.url !== '/' && r.url !== '/login')
    .map((r) => r.url.replace(/:(id|tenantId)\b/g, TENANT).replace(/:surveyId\b/g, surveyId));
  expect(
    urls.every((u) => !u.includes(':')),
    `a page route with a parameter this test cannot fill: ${urls}`,
  ).toBe(true);
  return [...new Set(urls)];
}

async function violations(page: Page, url: string): Promise<string[]> {
  const res = await page.goto(suite.url + url, { waitUntil: 'networkidle' });
  expect(res?.status(), url).toBeLessThan(400);
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations.map(
    (v) =>
      `${url}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes
        .map((n) => n.target.join(' '))
        .slice(0, 3)
        .join(' | ')}`,
  );
}

beforeAll(async () => {
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true });
  await seedFigures(suite.ch);
  for (const u of [
    { username: 'a11y-admin', displayName: '管理者', role: 'admin', password: PASSWORD },
    { username: 'a11y-tsu', displayName: '津市 担当者', role: 'municipality', tenantId: TENANT, password: PASSWORD },
  ]) {
    const res = await fetch(`${suite.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(u),
    });
    expect(res.status).toBe(201);
  }
  const survey = await fetch(`${suite.url}/api/v1/surveys/tenants/${TENANT}/surveys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      title: '図書館利用アンケート',
      introduction: '市の施策の参考にします。',
      opensAt: '2026-06-01T09:00',
      closesAt: '2026-06-30T17:00',
      status: 'open',
      questions: [
        { id: 'uses', type: 'single', text: '図書館を利用していますか', required: true, options: ['はい', 'いいえ'] },
        { id: 'why', type: 'text', text: '理由を教えてください' },
      ],
    }),
  });
  expect(survey.status).toBe(201);
  surveyId = ((await survey.json()) as { surveyId: string }).surveyId;
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('accessibility (axe-core, WCAG 2.1 AA)', () => {
  it('the sign-in page', async () => {
    const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    expect(await violations(page, '/login')).toEqual([]);
  });

  // an admin sees every page in the header; on an office monitor the labels stay whole (no 県全 / 体):
  // the links wrap to a second row instead
  it('the header keeps each label on one line, at 1280 and 1024 px', async () => {
    for (const width of [1280, 1024]) {
      const page = await signedInPage(browser, suite.url, 'a11y-admin', PASSWORD, { viewport: { width, height: 800 } });
      const lines = await page.$$eval('header nav > a, header nav > label, header > span', (els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return {
            text: e.textContent?.trim() ?? '',
            lines: Math.round(r.height / parseFloat(getComputedStyle(e).lineHeight)),
          };
        }),
      );
      expect(lines.length).toBeGreaterThanOrEqual(10);
      expect(
        lines.filter((l) => l.lines > 1),
        `${width} px`,
      ).toEqual([]);
      await page.context().close();
    }
  });

  // the two accounts at once: most of a page's time is waiting for the network to go idle
  it.concurrent.each(['a11y-admin', 'a11y-tsu'])(
    'every page, signed in as %s',
    { timeout: 300_000 },
    async (username) => {
      const page = await signedInPage(browser, suite.url, username, PASSWORD);
      const found: string[] = [];
      const urls = pageUrls();
      expect(urls.length).toBeGreaterThanOrEqual(8);
      for (const url of urls) {
        // a municipality account may not open prefecture-wide or admin pages: those answer 403 and are skipped
        if (username === 'a11y-tsu') {
          const res = await page.request.get(suite.url + url);
          if (res.status() === 403) continue;
        }
        found.push(...(await violations(page, url)));
      }
      expect(found).toEqual([]);
    },
  );
});
