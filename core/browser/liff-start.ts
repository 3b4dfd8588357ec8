/**
 * The frame's LIFF start-up, run on every resident page before the page's own scripts: sets
 * `window.tayoriLiff` (what startLiff() in liff.ts waits for).
 *
 * - Inside LINE, or a LINE tenant's page in a browser: `liff.init({ liffId })`, then `liff.login()`
 *   when not signed in (as LIFF apps do); the ID token is LIFF's own.
 * - A sandbox tenant (demo, tests): LINE's `@line/liff-mock` plugin, with its ID token set to a REAL
 *   token the sandbox issues for a simulated resident (/liff/<tenantId>/__mock/id-token?as=<userId>),
 *   so the server verifies it exactly as in LINE. Which resident: `?as=<userId>` in the page's URL,
 *   else the one chosen in the demo picker (kept in sessionStorage); a banner says so and switches.
 */
import liff from '@line/liff';
import { LiffMockPlugin } from '@line/liff-mock';
import { decodeJwt } from 'jose';
import { liffConfig, setStatus, showAlert, type LiffConfig, type Resident } from './liff.ts';

const config = liffConfig();
const storageKey = `tayori-demo-resident:${config.tenantId}`;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `エラーが発生しました (${res.status})`);
  return body;
}

/** Demo: asks which simulated resident to show the page as; resolves with the chosen userId. */
async function pickResident(c: LiffConfig): Promise<string> {
  const { residents } = await getJson<{ residents: Array<{ userId: string; displayName: string }> }>(
    `/liff/${encodeURIComponent(c.tenantId)}/__mock/residents`,
  );
  const main = document.getElementById('main');
  const section = el('section', undefined, 'r-card');
  section.setAttribute('aria-labelledby', 'demo-picker-title');
  const title = el('h2', 'デモ: どの住民として表示しますか');
  title.id = 'demo-picker-title';
  const note = el('p', 'サンドボックスの模擬住民から選んでください (LINE の中では、開いた本人として表示されます)。');
  const list = el('ul', undefined, 'r-picker');
  section.append(title, note, list);
  main?.insertBefore(section, main.querySelector('#resident-alert')?.nextSibling ?? null);
  setStatus('');
  return new Promise((resolve) => {
    for (const r of residents) {
      const item = el('li');
      const button = el('button', `${r.displayName || '(表示名なし)'} さん`, 'r-secondary');
      button.type = 'button';
      button.dataset.userId = r.userId;
      button.addEventListener('click', () => {
        section.remove();
        resolve(r.userId);
      });
      item.append(button);
      list.append(item);
    }
  });
}

/** Demo: the banner saying whom the page is shown as, with a button to switch. */
function showDemoBanner(name: string | null): void {
  const banner = document.getElementById('demo-banner');
  if (!banner) return;
  const text = el('p', `デモ表示: ${name ?? '模擬住民'} さんとして表示しています (LINE サンドボックス)`);
  const button = el('button', '住民を切り替える');
  button.type = 'button';
  button.addEventListener('click', () => {
    sessionStorage.removeItem(storageKey);
    const url = new URL(location.href);
    url.searchParams.delete('as');
    location.assign(url.toString());
  });
  banner.replaceChildren(text, button);
  banner.hidden = false;
}

async function startMock(c: LiffConfig): Promise<Resident> {
  const fromUrl = new URL(location.href).searchParams.get('as');
  let as = fromUrl ?? sessionStorage.getItem(storageKey);
  if (!as) as = await pickResident(c);
  sessionStorage.setItem(storageKey, as);
  const { idToken } = await getJson<{ idToken: string }>(
    `/liff/${encodeURIComponent(c.tenantId)}/__mock/id-token?as=${encodeURIComponent(as)}`,
  );
  const claims = decodeJwt(idToken);
  const name = typeof claims.name === 'string' ? claims.name : null;
  liff.use(new LiffMockPlugin());
  await (liff.init as (config: { liffId: string; mock: boolean }) => Promise<void>)({ liffId: c.liffId, mock: true });
  const mock = (
    liff as unknown as { $mock: { set(fn: (p: Record<string, unknown>) => Record<string, unknown>): void } }
  ).$mock;
  mock.set((p) => ({
    ...p,
    isLoggedIn: true,
    getIDToken: idToken,
    getDecodedIDToken: claims,
    getProfile: { userId: claims.sub, displayName: name ?? '' },
  }));
  showDemoBanner(name);
  return resident(c, true);
}

async function startLine(c: LiffConfig): Promise<Resident> {
  await liff.init({ liffId: c.liffId });
  if (!liff.isLoggedIn()) {
    liff.login({ redirectUri: location.href });
    return new Promise<Resident>(() => {}); // the page is left for LINE's sign-in
  }
  return resident(c, false);
}

function resident(c: LiffConfig, sandbox: boolean): Resident {
  const decoded = liff.getDecodedIDToken();
  return {
    tenantId: c.tenantId,
    userId: decoded?.sub ?? '',
    displayName: decoded?.name ?? null,
    idToken: () => liff.getIDToken(),
    sandbox,
  };
}

window.tayoriLiff = (config.sandbox ? startMock(config) : startLine(config)).then(
  (r) => {
    setStatus('');
    document.documentElement.dataset.liff = 'ready';
    return r;
  },
  (e: unknown) => {
    setStatus('');
    showAlert(
      `LINE の読み込みに失敗しました。LINE からもう一度開いてください (${e instanceof Error ? e.message : String(e)})`,
    );
    document.documentElement.dataset.liff = 'failed';
    throw e;
  },
);
// a page script that never awaits it must not leave an unhandled rejection
window.tayoriLiff.catch(() => {});
