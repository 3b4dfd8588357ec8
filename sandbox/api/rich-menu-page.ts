/**
 * The rich menu a resident sees, as a page (what the LINE app would draw under the talk):
 *
 *   GET  /__sandbox/rich-menus/:channelId/:userId              HTML: the menu's image, each area a button
 *   GET  /__sandbox/rich-menus/:channelId/:userId/image        the image
 *   POST /__sandbox/rich-menus/:channelId/:userId/areas/:n     a tap on area n (as the test hook's
 *                                                              {"type": "richMenu"} action), then 303 back
 *
 * No script: each area is a form button placed over the image; the page names the menu shown
 * (`data-rich-menu-id`) and what the last tap did.
 */
import { escapeHtml } from '../../core/html.ts';
import type { SandboxState } from './context.ts';
import { LineApiError, notFound } from './errors.ts';
import { handleTestHook, type TestHookDeps } from './test-hooks.ts';

export const RICH_MENU_PAGE_PREFIX = '/__sandbox/rich-menus/';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

const page = (title: string, body: string): string =>
  `<!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;

export async function handleRichMenuPage(
  method: string,
  pathname: string,
  query: URLSearchParams,
  deps: TestHookDeps,
): Promise<RawAnswer> {
  const parts = pathname.slice(RICH_MENU_PAGE_PREFIX.length).split('/').map(decodeURIComponent);
  const [channelId, userId] = parts;
  const channel = channelId ? deps.world.byChannelId(channelId) : undefined;
  if (!channel || !userId || !/^U[0-9a-f]{32}$/.test(userId)) throw notFound();
  const state: SandboxState = deps.state;
  const shown = state.richMenus.shownTo(channelId!, userId);
  const self = `${RICH_MENU_PAGE_PREFIX}${encodeURIComponent(channelId!)}/${userId}`;

  if (method === 'GET' && parts.length === 3 && parts[2] === 'image') {
    if (!shown?.image) throw notFound();
    return {
      status: 200,
      headers: { 'content-type': shown.image.contentType, 'cache-control': 'no-store' },
      body: shown.image.bytes,
    };
  }
  if (method === 'POST' && parts.length === 4 && parts[2] === 'areas' && /^\d{1,2}$/.test(parts[3]!)) {
    let note: string;
    try {
      const [, result] = (await handleTestHook(
        {
          method: 'POST',
          pathname: `/__sandbox/channels/${channelId}/residents/${userId}/actions`,
          query: new URLSearchParams(),
          body: Buffer.from(JSON.stringify({ type: 'richMenu', area: Number(parts[3]) })),
        },
        deps,
      )) as [number, { uri?: string; event?: { type?: string } | null }];
      note = result.uri ? `link:${result.uri}` : `event:${result.event?.type ?? ''}`;
    } catch (e) {
      if (!(e instanceof LineApiError)) throw e;
      note = `error:${e.status}`;
    }
    return { status: 303, headers: { location: `${self}?last=${encodeURIComponent(note)}` }, body: '' };
  }
  if (method !== 'GET' || parts.length !== 2) throw notFound();

  const last = query.get('last') ?? '';
  if (!shown) {
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: page(
        'リッチメニュー',
        `<main id="rich-menu" data-rich-menu-id=""><p>リッチメニューは表示されていません</p></main>`,
      ),
    };
  }
  const { width, height } = shown.menu.size;
  const pct = (v: number, of: number) => `${((v / of) * 100).toFixed(3)}%`;
  const areas = shown.menu.areas
    .map((a, i) => {
      const b = a.bounds;
      const label = String(a.action.label ?? a.action.type);
      const style = `position:absolute;left:${pct(b.x, width)};top:${pct(b.y, height)};width:${pct(b.width, width)};height:${pct(b.height, height)};margin:0`;
      return `<form method="post" action="${escapeHtml(`${self}/areas/${i}`)}" style="${style}"><button type="submit" data-area="${i}" data-action="${escapeHtml(a.action.type)}" style="width:100%;height:100%;opacity:0.01;cursor:pointer">${escapeHtml(label)}</button></form>`;
    })
    .join('');
  const body = `<main id="rich-menu" data-rich-menu-id="${escapeHtml(shown.richMenuId)}" data-last="${escapeHtml(last)}">
<h1>${escapeHtml(shown.menu.name)}</h1>
<div style="position:relative;width:360px;aspect-ratio:${width}/${height}"><img src="${escapeHtml(`${self}/image`)}" alt="" style="width:100%;height:100%;display:block">${areas}</div>
<p>${escapeHtml(shown.menu.chatBarText)} ▼</p>
<p id="last">${escapeHtml(last)}</p></main>`;
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: page(shown.menu.name, body),
  };
}
