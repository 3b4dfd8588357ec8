/**
 * The residents' FAQ page inside LINE (LIFF), at `faq` (/liff/<tenant>/faq; the rich menu may link
 * there): the published scenario, searched (?q=, the chat's matching) and read (?node=): a category
 * lists its questions, a question shows its answer, image, links and follow-ups, and 「解決しましたか？」
 * はい／いいえ, sent by browser/resident.ts through the residents' API (ID token verified):
 *
 *   POST /liff-api/<tenant>/faq/feedback  { nodeId, resolved } → { recorded: true }
 *
 * The content is public information: the page is drawn on the server; only the feedback needs the resident.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { AppError } from '../core/errors.ts';
import { html, type SafeHtml, safeUrl } from '../core/html.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import { z } from '../core/zod.ts';
import { candidates } from './match.ts';
import { childrenOf, NODE_ID, resolveNode } from './schemas.ts';
import type { FaqStore } from './store.ts';

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const feedbackBody = z.object({
  nodeId: z.string().regex(NODE_ID, '項目の指定が正しくありません'),
  resolved: z.boolean({ error: 'resolved は true か false です' }),
});

export function registerFaqResidentPages(residents: ResidentShell, store: FaqStore): void {
  residents.assets({
    'faq-resident.css': file('./browser/resident.css'),
    'faq-resident.js': file('./browser/resident.ts'),
  });

  residents.page<{ q?: string; node?: string }>(
    'faq',
    async ({ tenant, req }) => {
      const { nodes } = await store.live(tenant.id);
      const q = String(req.query.q ?? '').slice(0, 100);
      const at = String(req.query.node ?? '');
      const link = (id: string) => `/liff/${tenant.id}/faq?node=${encodeURIComponent(id)}`;
      const list = (items: typeof nodes) =>
        html`<ul class="r-links faq-list">${items.map((n) => html`<li><a class="r-button r-secondary" href="${link(n.id)}">${n.title}</a></li>`)}</ul>`;
      const search = html`<form class="r-card faq-search" method="get" action="/liff/${tenant.id}/faq" role="search">
<label for="faq-q">質問を入力して探す</label>
<input id="faq-q" name="q" type="search" value="${q}" maxlength="100" autocomplete="off">
<button type="submit">探す</button></form>`;
      let body: SafeHtml;
      if (!nodes.length) body = html`<section class="r-card"><p>よくある質問はまだ準備中です。</p></section>`;
      else if (q.trim()) {
        const found = candidates(nodes, q)
          .slice(0, 10)
          .map((c) => c.node);
        body = html`${search}<section class="r-card" aria-labelledby="faq-res-h"><h2 id="faq-res-h">「${q}」の検索結果</h2>
${found.length ? list(found) : html`<p data-testid="faq-none">当てはまる質問が見つかりませんでした。下のカテゴリから探してください。</p>`}</section>
<section class="r-card"><h2>カテゴリ</h2>${list(childrenOf(nodes, ''))}</section>`;
      } else if (at) {
        const n = resolveNode(nodes, at);
        if (!n) throw new AppError('faq_node_not_found', 'その項目は見つかりませんでした', 404);
        const kids = childrenOf(nodes, n.id);
        const up = n.parentId ? link(n.parentId) : `/liff/${tenant.id}/faq`;
        body =
          n.kind === 'category'
            ? html`<section class="r-card" aria-labelledby="faq-h"><h2 id="faq-h">${n.title}</h2>${list(kids)}</section>`
            : html`<article class="r-card faq-answer" aria-labelledby="faq-h"><h2 id="faq-h" data-testid="faq-question">${n.title}</h2>
${n.imageUrl ? html`<img src="${safeUrl(n.imageUrl)}" alt="" class="faq-image">` : ''}
<p class="faq-text" data-testid="faq-answer">${n.answer}</p>
${n.links.length ? html`<ul class="faq-links">${n.links.map((l) => html`<li><a href="${safeUrl(l.url)}" target="_blank" rel="noopener">${l.label}</a></li>`)}</ul>` : ''}
</article>
<section class="r-card faq-feedback" aria-labelledby="faq-fb-h" data-node="${n.id}"><h2 id="faq-fb-h">解決しましたか？</h2>
<div class="faq-fb-buttons"><button type="button" data-resolved="true">はい</button><button type="button" class="r-secondary" data-resolved="false">いいえ</button></div>
<p id="faq-fb-status" class="r-status" role="status" aria-live="polite"></p></section>
${kids.length ? html`<section class="r-card"><h2>関連する質問</h2>${list(kids)}</section>` : ''}`;
        body = html`${body}<p><a href="${up}">戻る</a> ／ <a href="/liff/${tenant.id}/faq">よくある質問のトップへ</a></p>`;
      } else
        body = html`${search}<section class="r-card" aria-labelledby="faq-top-h"><h2 id="faq-top-h">カテゴリから探す</h2>${list(childrenOf(nodes, ''))}</section>`;
      return { title: 'よくある質問', styles: ['faq-resident.css'], scripts: ['faq-resident.js'], body };
    },
    { menu: 'よくある質問' },
  );

  residents.api('POST', 'faq/feedback', async ({ tenant, body }) => {
    const b = feedbackBody.parse(body ?? {});
    const { nodes } = await store.live(tenant.id);
    if (!nodes.some((n) => n.id === b.nodeId && n.kind === 'question'))
      throw new AppError('faq_node_not_found', 'その項目は見つかりませんでした', 404);
    await store.record(tenant.id, [
      { kind: b.resolved ? 'resolved' : 'unresolved', nodeId: b.nodeId, via: 'liff', eventId: randomUUID() },
    ]);
    return { recorded: true };
  });
}
