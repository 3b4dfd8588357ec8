/**
 * Residents register their attributes inside LINE with postbacks and quick replies (they cannot
 * type): started on follow or from the rich menu (postback data `tayori-attr:menu`), every answer
 * optional, viewable and changeable any time. Answers are option / category ids, so staff may
 * rename or retire options without losing them.
 *
 * Postback data (≤ 300 chars), all under REGISTRATION_PREFIX:
 *   menu | view | q:<item> | set:<item>:<value> | tg:<item>:<value> | clr:<item> | by (birth year
 *   from a date picker) | iL:<large> | iM:<large>/<middle> | ti:<path>
 */
import type { messagingApi } from '@line/bot-sdk';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import { replyTokenUsable, type EventContext, type EventHandler } from '../ingest/index.ts';
import {
  AREA_ROOT,
  BUILTIN_LABELS,
  GENDERS,
  LIFESTYLES,
  type AttributeItem,
  type Category,
  type ItemOption,
  type ResidentStore,
} from './residents.ts';

export const REGISTRATION_PREFIX = 'tayori-attr:';
const P = REGISTRATION_PREFIX;

export interface EventRegistry {
  on(type: string, handler: EventHandler): void;
  onPostback(prefix: string, handler: EventHandler): void;
}

/**
 * What a capability may put before the registration menu when a resident adds the account as a
 * friend (surveys: a first-use survey): at most one message per hook, none when it has nothing.
 */
export type FollowStart = (tenantId: string, userId: string) => Promise<messagingApi.Message | undefined>;

interface FlowDeps {
  /** The hooks registered so far (read at each follow). */
  followStarts?: () => readonly FollowStart[];
  residents: ResidentStore;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  redis: Redis;
  logger: Logger;
}

type QuickItem = messagingApi.QuickReplyItem;
const pb = (label: string, data: string, displayText?: string): QuickItem => ({
  type: 'action',
  action: {
    type: 'postback',
    label: label.slice(0, 20),
    data: data.slice(0, 300),
    ...(displayText ? { displayText: displayText.slice(0, 300) } : {}),
  },
});
const text = (t: string, items?: QuickItem[]): messagingApi.Message => ({
  type: 'text',
  text: t,
  ...(items?.length ? { quickReply: { items: items.slice(0, 13) } } : {}),
});

/** LINE shows at most 13 quick reply buttons. */
const QUICK_REPLY_MAX = 13;
/** A postback's page (…~N: the Nth page of a long list of choices). */
const PAGE_MARK = '~';

/**
 * Quick replies for a list longer than LINE allows: `head` and `tail` always, and between them a
 * page of `all` with ◀ 前へ / 次へ ▶ (their postback data from `to(page)`); `note` is " (2/3)" on a
 * paged list, '' otherwise.
 */
function paged(
  head: QuickItem[],
  all: QuickItem[],
  tail: QuickItem[],
  page: number,
  to: (page: number) => string,
): { items: QuickItem[]; note: string } {
  const room = QUICK_REPLY_MAX - head.length - tail.length;
  if (all.length <= room) return { items: [...head, ...all, ...tail], note: '' };
  const per = room - 2;
  const pages = Math.ceil(all.length / per);
  const p = Math.min(Math.max(0, page), pages - 1);
  const nav = [
    ...(p > 0 ? [pb('◀ 前へ', to(p - 1), '前へ')] : []),
    ...(p < pages - 1 ? [pb('次へ ▶', to(p + 1), '次へ')] : []),
  ];
  return { items: [...head, ...all.slice(p * per, (p + 1) * per), ...nav, ...tail], note: ` (${p + 1}/${pages})` };
}
const onPage = (data: string, page: number) => (page > 0 ? `${data}${PAGE_MARK}${page}` : data);

interface TenantView {
  categories: Category[];
  items: AttributeItem[];
  areas: Category[];
}

export function registerRegistrationFlow(registry: EventRegistry, deps: FlowDeps): void {
  const once = async (ctx: EventContext) =>
    (await deps.redis.set(
      `tayori:delivery:pb:${ctx.tenantId}:${ctx.event.webhookEventId}`,
      '1',
      'EX',
      2 * 86_400,
      'NX',
    )) === 'OK';

  // a tenant's tree and items change rarely; follows can come in bursts
  const views = new Map<string, { at: number; changes: number; view: Promise<TenantView> }>();
  const view = (tenantId: string): Promise<TenantView> => {
    const hit = views.get(tenantId);
    if (hit && hit.changes === deps.residents.changes && Date.now() - hit.at < 5_000) return hit.view;
    const fresh = (async () => {
      const categories = await deps.residents.categories(tenantId);
      return {
        categories,
        items: (await deps.residents.items(tenantId)).filter((i) => !i.retired),
        areas: categories.filter((c) => c.parentId === AREA_ROOT && !c.retired),
      };
    })();
    fresh.catch(() => views.delete(tenantId));
    views.set(tenantId, { at: Date.now(), changes: deps.residents.changes, view: fresh });
    return fresh;
  };

  const reply = async (ctx: EventContext, messages: messagingApi.Message[]) => {
    // A historical or late event (e.g. a redelivery after an outage) has an expired token.
    if (!replyTokenUsable(ctx.event)) return;
    const { messaging } = lineClients(await deps.tenants.credentials(ctx.tenantId), deps.endpoints());
    await messaging.replyMessage({ replyToken: ctx.event.replyToken!, messages });
  };

  const menu = (v: TenantView, lead: string, page = 0) => {
    const all = [
      ...Object.entries(BUILTIN_LABELS).map(([k, l]) => pb(l, `${P}q:${k}`, l)),
      ...v.items.map((i) => pb(i.label, `${P}q:x:${i.id}`, i.label)),
    ];
    const { items, note } = paged([], all, [pb('登録内容の確認', `${P}view`, '登録内容の確認')], page, (p) =>
      onPage(`${P}menu`, p),
    );
    return text(`${lead}${note}`, items);
  };

  const optionsOf = (
    item: string,
    v: TenantView,
  ): { options: readonly ItemOption[]; multiple: boolean; label: string } | undefined => {
    if (item === 'lifestyle') return { options: LIFESTYLES, multiple: false, label: BUILTIN_LABELS.lifestyle! };
    if (item === 'gender') return { options: GENDERS, multiple: false, label: BUILTIN_LABELS.gender! };
    if (item === 'residence')
      return {
        options: v.areas.map((a) => ({ id: a.id, label: a.name })),
        multiple: false,
        label: BUILTIN_LABELS.residence!,
      };
    if (item === 'news_areas')
      return {
        options: v.areas.map((a) => ({ id: a.id, label: a.name })),
        multiple: true,
        label: BUILTIN_LABELS.news_areas!,
      };
    if (item.startsWith('x:')) {
      const it = v.items.find((i) => i.id === item.slice(2));
      if (it) return { options: it.options.filter((o) => !o.retired), multiple: it.multiple, label: it.label };
    }
    return undefined;
  };

  const labelOf = (item: string, value: string, v: TenantView): string => {
    if (item === 'birth_year') return `${value}年`;
    if (item === 'interests') {
      return value
        .split('/')
        .map((id) => v.categories.find((c) => c.id === id)?.name ?? id)
        .join(' › ');
    }
    return (
      optionsOf(item, v)?.options.find((o) => o.id === value)?.label ??
      v.categories.find((c) => c.id === value)?.name ??
      value
    );
  };

  const ask = (item: string, v: TenantView, current: string[], page = 0): messagingApi.Message => {
    const o = optionsOf(item, v);
    if (!o) return menu(v, 'その項目は現在受け付けていません。');
    if (o.options.length === 0) return menu(v, `${o.label}の選択肢はまだ登録されていません。`);
    // a toggle keeps the resident on the page they were on
    const all = o.options.map((x) =>
      pb(
        `${current.includes(x.id) ? '✓ ' : ''}${x.label}`,
        onPage(`${P}${o.multiple ? 'tg' : 'set'}:${item}:${x.id}`, o.multiple ? page : 0),
        x.label,
      ),
    );
    const tail = [
      pb(o.multiple ? '完了' : '回答しない', o.multiple ? `${P}menu` : `${P}clr:${item}`),
      ...(o.multiple ? [] : [pb('戻る', `${P}menu`)]),
    ];
    const { items, note } = paged([], all, tail, page, (p) => onPage(`${P}q:${item}`, p));
    const now = current.length ? `(現在: ${current.map((c) => labelOf(item, c, v)).join('、')})` : '';
    return text(`${o.label}を選んでください${o.multiple ? ' (複数選べます)' : ''}${note}。${now}`, items);
  };

  const summary = async (tenantId: string, userId: string, v: TenantView): Promise<string> => {
    const attrs = await deps.residents.attributes(tenantId, userId);
    const lines = [
      ...Object.entries(BUILTIN_LABELS).map(
        ([k, l]) => `${l}: ${attrs[k]?.length ? attrs[k]!.map((x) => labelOf(k, x, v)).join('、') : '未登録'}`,
      ),
      ...v.items.map(
        (i) =>
          `${i.label}: ${attrs[`x:${i.id}`]?.length ? attrs[`x:${i.id}`]!.map((x) => labelOf(`x:${i.id}`, x, v)).join('、') : '未登録'}`,
      ),
    ];
    return `登録内容\n${lines.join('\n')}`;
  };

  const interestsAsk = (v: TenantView, current: string[], data: string, page = 0): messagingApi.Message => {
    if (data === 'q:interests') {
      const large = v.categories
        .filter((c) => c.parentId === '' && !c.retired)
        .map((c) => pb(c.name, `${P}iL:${c.id}`, c.name));
      const { items, note } = paged([], large, [pb('完了', `${P}menu`)], page, (p) => onPage(`${P}q:interests`, p));
      return text(`関心のある分野を選んでください${note}。`, items);
    }
    if (data.startsWith('iL:')) {
      const l = data.slice(3);
      const mids = v.categories
        .filter((c) => c.parentId === l && !c.retired)
        .map((m) =>
          pb(
            `${current.some((x) => x === `${l}/${m.id}` || x.startsWith(`${l}/${m.id}/`)) ? '✓ ' : ''}${m.name}`,
            `${P}iM:${l}/${m.id}`,
            m.name,
          ),
        );
      const { items, note } = paged(
        [pb(`${current.includes(l) ? '✓ ' : ''}すべて`, onPage(`${P}ti:${l}`, page))],
        mids,
        [pb('戻る', `${P}q:interests`)],
        page,
        (p) => onPage(`${P}iL:${l}`, p),
      );
      return text(`${labelOf('interests', l, v)}の中から選んでください${note}。`, items);
    }
    // iM:<large>/<middle>: areas (the small level)
    const path = data.slice(3);
    if (v.areas.length === 0)
      return text(`${labelOf('interests', path, v)}`, [
        pb(`${current.includes(path) ? '✓ ' : ''}登録する`, `${P}ti:${path}`),
        pb('戻る', `${P}q:interests`),
      ]);
    const areas = v.areas.map((a) =>
      pb(`${current.includes(`${path}/${a.id}`) ? '✓ ' : ''}${a.name}`, onPage(`${P}ti:${path}/${a.id}`, page), a.name),
    );
    const { items, note } = paged(
      [pb(`${current.includes(path) ? '✓ ' : ''}全地域`, onPage(`${P}ti:${path}`, page))],
      areas,
      [pb('戻る', `${P}iL:${path.split('/')[0]}`)],
      page,
      (p) => onPage(`${P}iM:${path}`, p),
    );
    return text(`${labelOf('interests', path, v)}: 地域を選んでください (複数選べます)${note}。`, items);
  };

  const handle: EventHandler = async (ctx) => {
    const userId = ctx.event.source?.userId;
    if (ctx.event.source?.type !== 'user' || !userId) return;
    // "<command>~<page>": the page of a long list the resident was on
    const [data = '', pageText] = String(ctx.event.postback?.data ?? '')
      .slice(P.length)
      .split(PAGE_MARK);
    const page = Math.max(0, Math.floor(Number(pageText) || 0));
    if (!(await once(ctx))) return;
    const v = await view(ctx.tenantId);
    const attrs = await deps.residents.attributes(ctx.tenantId, userId);
    const at = ctx.event.timestamp;
    const [cmd, ...rest] = data.split(':');
    const arg = rest.join(':');
    const itemOf = (s: string) => (s.startsWith('x:') ? s.split(':').slice(0, 2).join(':') : s.split(':')[0]!);

    if (cmd === 'menu' || data === '') return reply(ctx, [menu(v, '登録・変更したい項目を選んでください。', page)]);
    if (cmd === 'view') return reply(ctx, [menu(v, await summary(ctx.tenantId, userId, v))]);
    if (cmd === 'q' && arg === 'birth_year') {
      const cur = attrs.birth_year?.[0];
      return reply(ctx, [
        text(`生まれ年を選んでください${cur ? ` (現在: ${cur}年)` : ''}。日付の年だけを登録します。`, [
          {
            type: 'action',
            action: {
              type: 'datetimepicker',
              label: '生まれ年を選ぶ',
              data: `${P}by`,
              mode: 'date',
              initial: `${cur ?? '1980'}-01-01`,
              min: '1900-01-01',
              max: new Date().toISOString().slice(0, 10),
            },
          },
          pb('回答しない', `${P}clr:birth_year`),
          pb('戻る', `${P}menu`),
        ]),
      ]);
    }
    if (cmd === 'by') {
      const date = String((ctx.event.postback as { params?: { date?: string } } | undefined)?.params?.date ?? '');
      const m = /^(\d{4})-\d{2}-\d{2}$/.exec(date);
      if (!m) return reply(ctx, [menu(v, '生まれ年を読み取れませんでした。もう一度お試しください。')]);
      await deps.residents.setAttribute(ctx.tenantId, userId, 'birth_year', [m[1]!], at);
      return reply(ctx, [menu(v, `生まれ年を ${m[1]}年 で登録しました。`)]);
    }
    if (cmd === 'q' && arg === 'interests')
      return reply(ctx, [interestsAsk(v, attrs.interests ?? [], 'q:interests', page)]);
    if (cmd === 'iL' || cmd === 'iM') return reply(ctx, [interestsAsk(v, attrs.interests ?? [], data, page)]);
    if (cmd === 'ti') {
      const cur = new Set(attrs.interests ?? []);
      if (cur.has(arg)) cur.delete(arg);
      else cur.add(arg);
      const next = [...cur].sort();
      await deps.residents.setAttribute(ctx.tenantId, userId, 'interests', next, at);
      const parts = arg.split('/');
      return reply(ctx, [
        interestsAsk(v, next, parts.length >= 2 ? `iM:${parts[0]}/${parts[1]}` : `iL:${parts[0]}`, page),
      ]);
    }
    if (cmd === 'q') return reply(ctx, [ask(arg, v, attrs[arg] ?? [], page)]);
    if (cmd === 'clr') {
      await deps.residents.setAttribute(ctx.tenantId, userId, arg, [], at);
      return reply(ctx, [menu(v, `${BUILTIN_LABELS[arg] ?? optionsOf(arg, v)?.label ?? arg}の登録を取り消しました。`)]);
    }
    if (cmd === 'set' || cmd === 'tg') {
      const item = itemOf(arg);
      const value = arg.slice(item.length + 1);
      const o = optionsOf(item, v);
      if (!o || !o.options.some((x) => x.id === value))
        return reply(ctx, [menu(v, 'その選択肢は現在受け付けていません。')]);
      if (cmd === 'set') {
        await deps.residents.setAttribute(ctx.tenantId, userId, item, [value], at);
        return reply(ctx, [
          menu(
            v,
            `${o.label}を「${labelOf(item, value, v)}」で登録しました。ほかに登録する項目があれば選んでください。`,
          ),
        ]);
      }
      const cur = new Set(attrs[item] ?? []);
      if (cur.has(value)) cur.delete(value);
      else cur.add(value);
      const next = [...cur].sort();
      await deps.residents.setAttribute(ctx.tenantId, userId, item, next, at);
      return reply(ctx, [ask(item, v, next, page)]);
    }
    return reply(ctx, [menu(v, '登録・変更したい項目を選んでください。')]);
  };

  registry.onPostback(P, handle);
  registry.on('follow', async (ctx) => {
    if (ctx.event.source?.type !== 'user' || !ctx.event.replyToken) return;
    if (!(await once(ctx))) return;
    const v = await view(ctx.tenantId);
    const userId = ctx.event.source.userId ?? '';
    // a hook that fails leaves the welcome as it was (the menu is what the flow owes the resident)
    const starts = await Promise.all(
      (deps.followStarts?.() ?? []).map((f) =>
        f(ctx.tenantId, userId).catch((err: unknown) => {
          deps.logger.warn({ err, tenantId: ctx.tenantId }, 'a follow start hook failed');
          return undefined;
        }),
      ),
    );
    await reply(ctx, [
      ...starts.filter((m): m is messagingApi.Message => m !== undefined).slice(0, 4),
      menu(
        v,
        '友だち追加ありがとうございます。お知らせを受け取りたい内容を登録できます (すべて任意、いつでも変更できます)。',
      ),
    ]);
  });
}
