/**
 * The FAQ in the chat: residents reach it from the rich menu (postback `faq:menu`) and move through the
 * tree with quick replies; answers come through the reply API (a Flex bubble when they carry an image
 * or links), each followed by 「解決しましたか？」 はい／いいえ. Where the tenant accepts typed messages,
 * a typed question is matched (faq/match.ts): one clear node is answered, else up to 3 candidates are
 * offered, else the tenant's AI endpoint is asked (the answer marked as AI), else a polite fallback
 * with the menu. Typed text is kept only where the tenant turned that on (faq_unmatched, with TTL).
 *
 *   faq:menu[~page]        the top level
 *   faq:n:<node>[~page]    a node (a category's questions; a question's answer and follow-ups)
 *   faq:y:<node> | faq:x:<node>   はい / いいえ on an answer ('_ai' for an AI answer)
 *
 * A typed question that matches nothing is recorded with its context — the node the resident viewed
 * last in the chat (kept 30 minutes in Redis under a hash of the user id), or '_top' — so the
 * statistics show the paths that end in the fallback; the text itself is kept only as above.
 *
 * Handlers run from ingest's event log at least once: statistics rows carry the event's id and time
 * (a replay lands on the same rows) and the reply is sent once per event (Redis; cleared when it fails,
 * so a retry may send it).
 */
import { createHash } from 'node:crypto';
import type { messagingApi } from '@line/bot-sdk';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import { type EventContext, type EventHandler, replyTokenUsable } from '../ingest/index.ts';
import { FAQ_TOP_NODE } from '../metrics/index.ts';
import { askAi } from './ai.ts';
import type { AiGuard } from './ai-guard.ts';
import { bestMatch } from './match.ts';
import { AI_NODE, childrenOf, type FaqNode, resolveNode } from './schemas.ts';
import type { FaqEvent, FaqStore } from './store.ts';

export const FAQ_POSTBACK_PREFIX = 'faq:';
const P = FAQ_POSTBACK_PREFIX;
const QUICK_MAX = 13;

export interface FaqEventRegistry {
  on(type: string, handler: EventHandler): void;
  onPostback(prefix: string, handler: EventHandler): void;
  /** Typed messages answered here, so the auto-reply stays silent (ingest's registry). */
  claimMessages?(claim: (ctx: EventContext) => Promise<boolean>): void;
  /** The typed text the receiver held in memory (the event log keeps no message text). */
  takeText?(ctx: EventContext): string | undefined;
}

interface ChatDeps {
  store: FaqStore;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  redis: Redis;
  logger: Logger;
  aiGuard: AiGuard;
}

/** How long the last node a resident viewed stays the context of a typed question. */
const CONTEXT_TTL_S = 30 * 60;

type QuickItem = messagingApi.QuickReplyItem;
const pb = (label: string, data: string, displayText = label): QuickItem => ({
  type: 'action',
  action: {
    type: 'postback',
    label: label.length > 20 ? `${label.slice(0, 19)}…` : label,
    data: data.slice(0, 300),
    displayText: displayText.slice(0, 300),
  },
});
const text = (t: string, items?: QuickItem[]): messagingApi.Message => ({
  type: 'text',
  text: t.slice(0, 5000),
  ...(items?.length ? { quickReply: { items: items.slice(0, QUICK_MAX) } } : {}),
});

/** Quick replies for a long list: a page of `all`, ◀ 前へ / 次へ ▶, and `tail`. */
function paged(all: QuickItem[], tail: QuickItem[], page: number, at: (p: number) => string): QuickItem[] {
  const room = QUICK_MAX - tail.length;
  if (all.length <= room) return [...all, ...tail];
  const per = room - 2;
  const pages = Math.ceil(all.length / per);
  const p = Math.min(Math.max(0, page), pages - 1);
  return [
    ...(p > 0 ? [pb('◀ 前へ', at(p - 1), '前へ')] : []),
    ...all.slice(p * per, (p + 1) * per),
    ...(p < pages - 1 ? [pb('次へ ▶', at(p + 1), '次へ')] : []),
    ...tail,
  ];
}
const onPage = (data: string, p: number) => (p > 0 ? `${data}~${p}` : data);
const MENU = pb('メニュー', `${P}menu`, 'メニューに戻る');

/** A question's answer: text, or a Flex bubble with its image and link buttons. */
export function answerMessage(n: FaqNode): messagingApi.Message {
  const body = `${n.answer}`;
  if (!n.imageUrl && !n.links.length) return text(`【${n.title}】\n${body}`);
  return {
    type: 'flex',
    altText: `${n.title}: ${body}`.slice(0, 400),
    contents: {
      type: 'bubble',
      ...(n.imageUrl
        ? { hero: { type: 'image', url: n.imageUrl, size: 'full', aspectRatio: '20:13', aspectMode: 'cover' } }
        : {}),
      body: {
        type: 'box',
        layout: 'vertical',
        spacing: 'md',
        contents: [
          { type: 'text', text: n.title, weight: 'bold', wrap: true },
          { type: 'text', text: body, wrap: true, size: 'sm' },
        ],
      },
      ...(n.links.length
        ? {
            footer: {
              type: 'box',
              layout: 'vertical',
              spacing: 'sm',
              contents: n.links.map((l) => ({
                type: 'button',
                style: 'link',
                height: 'sm',
                action: { type: 'uri', label: l.label.slice(0, 20), uri: l.url },
              })),
            },
          }
        : {}),
    },
  } as messagingApi.Message;
}

export function registerFaqChat(registry: FaqEventRegistry, deps: ChatDeps): void {
  /** A reply once per event (a redelivered event is not answered twice; a failed reply may be retried). */
  const reply = async (ctx: EventContext, messages: messagingApi.Message[]) => {
    if (!replyTokenUsable(ctx.event)) return;
    const key = `tayori:faq-chat:${ctx.tenantId}:${ctx.event.webhookEventId}`;
    if ((await deps.redis.set(key, '1', 'EX', 2 * 86_400, 'NX')) !== 'OK') return;
    try {
      const { messaging } = lineClients(await deps.tenants.credentials(ctx.tenantId), deps.endpoints());
      await messaging.replyMessage({ replyToken: ctx.event.replyToken!, messages: messages.slice(0, 5) });
    } catch (err) {
      await deps.redis.del(key);
      throw err;
    }
  };
  const record = (ctx: EventContext, events: Array<Omit<FaqEvent, 'eventId' | 'at'>>) =>
    deps.store.record(
      ctx.tenantId,
      events.map((e) => ({ ...e, eventId: ctx.event.webhookEventId ?? '', at: ctx.event.timestamp })),
    );

  /** The last node the resident viewed (or the top), kept under a hash of the user id. */
  const lastKey = (ctx: EventContext) =>
    `tayori:faq-last:${ctx.tenantId}:${createHash('sha256')
      .update(`${ctx.tenantId}:${ctx.event.source?.userId ?? ''}`)
      .digest('base64url')
      .slice(0, 22)}`;
  const remember = async (ctx: EventContext, nodeId: string) => {
    if (ctx.event.source?.userId) await deps.redis.set(lastKey(ctx), nodeId, 'EX', CONTEXT_TTL_S);
  };
  /** A typed question's context, fixed when its event is first handled (a replay records the same). */
  const contextOf = async (ctx: EventContext): Promise<string> => {
    const key = `tayori:faq-context:${ctx.tenantId}:${ctx.event.webhookEventId}`;
    const last = (await deps.redis.get(lastKey(ctx))) ?? FAQ_TOP_NODE;
    await deps.redis.set(key, last, 'EX', 2 * 86_400, 'NX');
    return (await deps.redis.get(key)) ?? last;
  };

  const menu = (nodes: FaqNode[], lead: string, page = 0): messagingApi.Message => {
    const top = childrenOf(nodes, '').map((n) => pb(n.title, `${P}n:${n.id}`));
    if (!top.length) return text('よくある質問はまだ準備中です。');
    return text(
      lead,
      paged(top, [], page, (p) => onPage(`${P}menu`, p)),
    );
  };
  const contactLine = (contact: string) => (contact ? `\nお問い合わせ: ${contact}` : '');

  /** A node's messages; records its view. */
  const show = async (
    ctx: EventContext,
    nodes: FaqNode[],
    id: string,
    page: number,
    via: FaqEvent['via'],
  ): Promise<messagingApi.Message[]> => {
    const n = resolveNode(nodes, id);
    if (!n) return [menu(nodes, 'その項目は見つかりませんでした。メニューから選んでください。')];
    await record(ctx, [{ kind: 'view', nodeId: n.id, via }]);
    await remember(ctx, n.id);
    const kids = childrenOf(nodes, n.id).map((c) => pb(c.title, `${P}n:${c.id}`));
    if (n.kind === 'category') {
      const back = n.parentId ? [pb('戻る', `${P}n:${n.parentId}`), MENU] : [MENU];
      return [
        text(
          `【${n.title}】\n知りたい項目を選んでください。`,
          paged(kids, back, page, (p) => onPage(`${P}n:${n.id}`, p)),
        ),
      ];
    }
    const feedback = [pb('はい', `${P}y:${n.id}`, '解決しました'), pb('いいえ', `${P}x:${n.id}`, '解決しませんでした')];
    const follow = kids.slice(0, QUICK_MAX - feedback.length - 1);
    return [
      answerMessage(n),
      text(follow.length ? '解決しましたか？\n続けて知りたいことがあれば下から選べます。' : '解決しましたか？', [
        ...feedback,
        ...follow,
        MENU,
      ]),
    ];
  };

  registry.onPostback(P, async (ctx) => {
    if (ctx.event.source?.type !== 'user') return;
    const raw = String(ctx.event.postback?.data ?? '');
    const m = /^faq:(menu|n|y|x)(?::([A-Za-z0-9_-]{1,40}))?(?:~(\d{1,3}))?$/.exec(raw);
    if (!m) {
      deps.logger.debug({ tenantId: ctx.tenantId, data: raw.slice(0, 80) }, 'unknown faq postback');
      return;
    }
    const [, cmd, id = '', pageText] = m;
    const page = Number(pageText ?? 0);
    const { nodes } = await deps.store.live(ctx.tenantId);
    const settings = await deps.store.settings(ctx.tenantId);
    if (cmd === 'menu') {
      await remember(ctx, FAQ_TOP_NODE);
      await reply(ctx, [menu(nodes, 'よくある質問です。知りたい項目を選んでください。', page)]);
      return;
    }
    if (cmd === 'n') {
      await reply(ctx, await show(ctx, nodes, id, page, 'chat'));
      return;
    }
    if (id !== AI_NODE && !nodes.some((n) => n.id === id)) {
      await reply(ctx, [menu(nodes, 'その項目は見つかりませんでした。メニューから選んでください。')]);
      return;
    }
    if (cmd === 'y') {
      await record(ctx, [{ kind: 'resolved', nodeId: id, via: 'chat' }]);
      await reply(ctx, [text('お役に立ててよかったです。ご利用ありがとうございました。', [MENU])]);
      return;
    }
    await record(ctx, [{ kind: 'unresolved', nodeId: id, via: 'chat' }]);
    await reply(ctx, [
      menu(
        nodes,
        `お役に立てず申し訳ありません。いただいた結果は今後の改善に役立てます。${contactLine(settings.contact)}\nほかの項目はメニューから選べます。`,
      ),
    ]);
  });

  /** Typed messages are the FAQ's where the tenant accepts them and has a published scenario. */
  const accepts = async (tenantId: string) =>
    (await deps.store.settings(tenantId)).acceptTyped && (await deps.store.live(tenantId)).nodes.length > 0;
  registry.claimMessages?.(async (ctx) => ctx.event.message?.type === 'text' && (await accepts(ctx.tenantId)));

  registry.on('message', async (ctx) => {
    const msg = ctx.event.message as { type?: string; text?: unknown } | undefined;
    if (ctx.event.source?.type !== 'user' || msg?.type !== 'text') return;
    // from the event itself, or (events from the log carry no text) as the receiver held it in memory
    const raw = typeof msg.text === 'string' ? msg.text : registry.takeText?.(ctx);
    if (!(await accepts(ctx.tenantId))) return;
    if (raw === undefined) {
      // the text is gone (a restart between receipt and handling): the menu instead of silence
      const { nodes } = await deps.store.live(ctx.tenantId);
      await reply(ctx, [menu(nodes, 'ご質問を読み取れませんでした。お手数ですが、メニューから選んでください。')]);
      return;
    }
    const typed = raw.slice(0, 500);
    const { nodes } = await deps.store.live(ctx.tenantId);
    const settings = await deps.store.settings(ctx.tenantId);
    if (!typed.trim()) return;
    const { best, top } = bestMatch(nodes, typed);
    if (best) {
      await reply(ctx, await show(ctx, nodes, best.id, 0, 'typed'));
      return;
    }
    if (top.length) {
      await record(ctx, [{ kind: 'candidates', via: 'typed' }]);
      await reply(ctx, [
        text('もしかして、次のどれかでしょうか。当てはまるものを選んでください。', [
          ...top.map((n) => pb(n.title, `${P}n:${n.id}`)),
          MENU,
        ]),
      ]);
      return;
    }
    const at = await contextOf(ctx);
    await record(ctx, [{ kind: 'unmatched', nodeId: at, via: 'typed' }]);
    if (settings.keepUnmatched)
      await deps.store.keepUnmatched(
        ctx.tenantId,
        typed,
        settings.retentionDays,
        ctx.event.webhookEventId ?? '',
        ctx.event.timestamp,
      );
    const ai = settings.aiEndpoint
      ? await askAi(settings.aiEndpoint, settings.aiTimeoutMs, ctx.tenantId, typed, deps.logger, deps.aiGuard)
      : undefined;
    if (ai) {
      await record(ctx, [
        { kind: 'ai', nodeId: at, via: 'typed' },
        { kind: 'view', nodeId: AI_NODE, via: 'typed' },
      ]);
      await reply(ctx, [
        text(`【AI による自動回答】\n${ai}\n\n※ AI が作成した回答です。正確な内容は担当窓口にご確認ください。`),
        text('解決しましたか？', [
          pb('はい', `${P}y:${AI_NODE}`, '解決しました'),
          pb('いいえ', `${P}x:${AI_NODE}`, '解決しませんでした'),
          MENU,
        ]),
      ]);
      return;
    }
    await record(ctx, [{ kind: 'fallback', nodeId: at, via: 'typed' }]);
    await reply(ctx, [
      menu(
        nodes,
        `申し訳ありません。ご質問に当てはまる回答が見つかりませんでした。${contactLine(settings.contact)}\nメニューから近い項目を選んでください。`,
      ),
    ]);
  });
}
