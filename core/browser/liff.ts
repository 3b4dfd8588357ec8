/**
 * The browser kit of residents' pages (LIFF), for every capability's resident scripts: wait for the
 * frame's LIFF start-up, call the resident APIs with the ID token, show their Japanese errors.
 *
 *   const me = await startLiff();                       // { userId, displayName, idToken() … }
 *   const r = await residentFetch<Balance>('mileage/balance');   // GET /liff-api/<tenantId>/mileage/balance
 *   const r = await residentFetch('mileage/scan', { method: 'POST', json: { code } });
 *
 * The start-up itself (liff.init, LINE's LIFF mock for sandbox tenants, the demo picker) is the
 * frame's script (liff-start.ts, loaded before the page's scripts), so the LIFF SDK is loaded once
 * per page and a page's own bundle stays small.
 */

/** What the frame hands the browser in `<script type="application/json" id="liff-config">`. */
export interface LiffConfig {
  tenantId: string;
  tenantName: string;
  liffId: string;
  /** Sandbox tenant: LIFF runs with LINE's mock and a simulated resident's real ID token. */
  sandbox: boolean;
}

/** The resident the page is open for, once LIFF has started. */
export interface Resident {
  tenantId: string;
  userId: string;
  displayName: string | null;
  /** The current LIFF ID token (what resident APIs verify). */
  idToken(): string | null;
  /** The page runs on the sandbox (demo, tests). */
  sandbox: boolean;
}

export interface ResidentResult<T = unknown> {
  ok: boolean;
  /** 0 when the network failed. */
  status: number;
  body: T & { error?: { code?: string; message?: string; details?: unknown } };
}

declare global {
  interface Window {
    /** Set by the frame's start-up script (liff-start.ts) before any page script runs. */
    tayoriLiff?: Promise<Resident>;
  }
}

/** The frame's LIFF settings for this page. */
export function liffConfig(): LiffConfig {
  const node = document.getElementById('liff-config');
  return node?.textContent
    ? (JSON.parse(node.textContent) as LiffConfig)
    : { tenantId: '', tenantName: '', liffId: '', sandbox: false };
}

/** Waits for the frame's LIFF start-up (liff.init, sign-in); resolves with the resident. */
export function startLiff(): Promise<Resident> {
  return window.tayoriLiff ?? Promise.reject(new Error('LIFF start-up script (resident-liff.js) is not on this page'));
}

/** Shows a Japanese message in the page's `role="alert"` region (empty: hides it). */
export function showAlert(message: string): void {
  const region = document.getElementById('resident-alert');
  if (region) region.textContent = message;
}

export function clearAlert(): void {
  showAlert('');
}

/** Sets the status line under the title (empty: hides it). */
export function setStatus(message: string): void {
  const node = document.getElementById('liff-status');
  if (node) node.textContent = message;
}

/**
 * A resident API call with the ID token: `path` relative to /liff-api/<tenantId>/ (or absolute),
 * `json` sent as the JSON body. A failed call shows its Japanese message in the alert region.
 */
export async function residentFetch<T = unknown>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<ResidentResult<T>> {
  let resident: Resident;
  try {
    resident = await startLiff();
  } catch {
    const message = 'LINE の読み込みに失敗しました。LINE からもう一度開いてください';
    showAlert(message);
    return {
      ok: false,
      status: 0,
      body: { error: { code: 'liff_not_started', message } } as ResidentResult<T>['body'],
    };
  }
  const url = path.startsWith('/') ? path : `/liff-api/${encodeURIComponent(resident.tenantId)}/${path}`;
  const headers = new Headers(init.headers);
  const token = resident.idToken();
  if (token) headers.set('authorization', `Bearer ${token}`);
  const { json, ...rest } = init;
  if (json !== undefined) headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await fetch(url, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
      credentials: 'same-origin',
    });
  } catch {
    const message = '通信できませんでした。電波の良い所でもう一度お試しください';
    showAlert(message);
    return { ok: false, status: 0, body: { error: { code: 'network', message } } as ResidentResult<T>['body'] };
  }
  const body = (await res.json().catch(() => ({}))) as ResidentResult<T>['body'];
  if (!res.ok) showAlert(body.error?.message ?? `エラーが発生しました (${res.status})。もう一度お試しください`);
  return { ok: res.ok, status: res.status, body };
}
