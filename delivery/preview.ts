/**
 * Preview: the messages as a resident would see them in the LINE chat (an HTML fragment the composer
 * puts in with innerHTML). Built only through `html`, so every text in it is escaped.
 */
import { html, safeUrl, toHtmlString, type SafeHtml } from '../core/html.ts';
import type { DeliveryMessage } from './messages.ts';

function flexText(node: unknown, out: string[]): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  if (n.type === 'text' && typeof n.text === 'string') out.push(n.text);
  for (const v of Object.values(n)) {
    if (Array.isArray(v)) v.forEach((x) => flexText(x, out));
    else if (v && typeof v === 'object') flexText(v, out);
  }
}

const URL_IN_TEXT = /https?:\/\/[^\s<>"]+/g;

/** A text message's body: links for its URLs, line breaks for its newlines, everything else as text. */
function textBody(text: string): SafeHtml[] {
  const parts: SafeHtml[] = [];
  const lines = (s: string) => s.split('\n').map((line, i) => html`${i ? html`<br>` : ''}${line}`);
  let at = 0;
  for (const m of text.matchAll(URL_IN_TEXT)) {
    parts.push(...lines(text.slice(at, m.index)));
    parts.push(html`<a href="${safeUrl(m[0])}" rel="noopener">${m[0]}</a>`);
    at = m.index + m[0].length;
  }
  parts.push(...lines(text.slice(at)));
  return parts;
}

function bubble(m: DeliveryMessage): { type: string; html: SafeHtml; notificationText: string } {
  switch (m.type) {
    case 'text':
      return {
        type: 'text',
        html: html`<div class="bubble text">${textBody(m.text)}</div>`,
        notificationText: m.text.slice(0, 100),
      };
    case 'image':
      return {
        type: 'image',
        html: html`<div class="bubble image"><img src="${safeUrl(m.previewImageUrl)}" alt="画像"></div>`,
        notificationText: '画像を送信しました',
      };
    case 'video':
      return {
        type: 'video',
        html: html`<div class="bubble video"><img src="${safeUrl(m.previewImageUrl)}" alt="動画"><span class="play">▶</span></div>`,
        notificationText: '動画を送信しました',
      };
    case 'sticker':
      return {
        type: 'sticker',
        html: html`<div class="bubble sticker"><img src="https://stickershop.line-scdn.net/stickershop/v1/sticker/${encodeURIComponent(m.stickerId)}/android/sticker.png" alt="スタンプ"></div>`,
        notificationText: 'スタンプを送信しました',
      };
    case 'flex': {
      const texts: string[] = [];
      flexText(m.contents, texts);
      return {
        type: 'flex',
        html: html`<div class="bubble flex">${texts.map((t) => html`<p>${t}</p>`)}</div>`,
        notificationText: m.altText,
      };
    }
  }
}

/** One message as a chat bubble; `html` is markup made by `html` (every text escaped). */
export function previewBubble(m: DeliveryMessage): { type: string; html: string; notificationText: string } {
  const b = bubble(m);
  return { ...b, html: toHtmlString(b.html) };
}

export function renderPreview(
  accountName: string,
  messages: DeliveryMessage[],
): { html: string; bubbles: ReturnType<typeof previewBubble>[]; notificationText: string } {
  const bubbles = messages.map(bubble);
  const page = html`<div class="line-preview"><div class="account">${accountName}</div>${bubbles.map(
    (b) => html`<div class="row">${b.html}</div>`,
  )}</div>`;
  return {
    html: toHtmlString(page),
    bubbles: bubbles.map((b) => ({ ...b, html: toHtmlString(b.html) })),
    notificationText: bubbles[0]?.notificationText ?? '',
  };
}
