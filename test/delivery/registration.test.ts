/**
 * Residents register their attributes end to end, through the suite's running pieces: the sandbox
 * sends signed webhooks to ingest's receiver, ingest stores the events and hands them to delivery's
 * registration flow, which replies through LINE's reply API; the test reads each question (its
 * quick replies) from the sandbox's receipts and answers as the resident would, by tapping.
 *
 * The tenant's default rich menu is applied through the delivery API (created, image uploaded,
 * made the default through LINE's rich menu API — the sandbox holds it with its areas and image);
 * tapping its 登録内容 area starts the flow. Answers land in ClickHouse (latest wins), a segment over
 * them counts the resident, a changed answer moves them between segments, a block takes them out
 * of every audience and an unblock brings them back.
 */
import { messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorTokenAuth } from '../../core/auth.ts';
import { createHttpApp, FrontHandlers, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import {
  createDelivery,
  REGISTRATION_PREFIX,
  renderRichMenuImage,
  RICH_MENU_SIZE,
  type Delivery,
} from '../../delivery/index.ts';
import { createIngest, type Ingest } from '../../ingest/index.ts';
import { imageSize } from '../../sandbox/api/rich-menus.ts';
import type { RunningSandbox } from '../../sandbox/index.ts';
import { harness, type Harness, sandboxHook, waitFor } from '../helpers/index.ts';

const logger = createLogger(process.env.TEST_LOG ?? 'silent');
const TOKEN = 'operator-token';
const TENANT = '24203';
const NAME = '伊勢市';
const CHANNEL = '3000000203';
const BOT = `U${'4'.repeat(32)}`;
const SECRET = 'registration-secret';
const ACCESS = 'registration-token';
let h: Harness;
let sandbox: RunningSandbox | undefined;
let ingest: Ingest;
let delivery: Delivery;
let app: FastifyInstance;
let base: string;
let line: messagingApi.MessagingApiClient;
let lineBlob: messagingApi.MessagingApiBlobClient;

beforeAll(async () => {
  h = await harness({
    redis: true,
    tenants: [
      {
        id: TENANT,
        name: NAME,
        kind: 'municipality',
        channelId: CHANNEL,
        botUserId: BOT,
        credentials: { channelSecret: SECRET, channelAccessToken: ACCESS, lineApi: 'sandbox' },
      },
    ],
  });
  const { ch, tenants } = h;
  const redis = h.redis.client;

  const endpoints = () => ({ line: 'http://127.0.0.1:1', sandbox: sandbox?.url });
  ingest = createIngest({ ch, redis, tenants, endpoints, logger, eventLog: { dir: `${h.dir}/event-log` } });
  delivery = createDelivery({
    ch,
    redisUrl: h.redis.url,
    tenants,
    endpoints,
    logger,
    ingestHandlers: ingest.handlers,
  });
  const front = new FrontHandlers();
  ingest.mount(front);
  app = createHttpApp(logger, { front });
  h.defer('stop ingest', () => ingest.stop());
  h.defer('stop delivery', () => delivery.stop());
  delivery.registerRoutes(app, operatorTokenAuth([TOKEN]));
  base = await h.serve(app);
  await ingest.start();
  await delivery.start();

  // the sandbox at real time, its webhooks to the suite; nobody acts unless the test says so
  sandbox = await h.startSandbox({
    config: {
      channels: [
        {
          channelId: CHANNEL,
          botUserId: BOT,
          channelSecret: SECRET,
          channelAccessToken: ACCESS,
          webhookUrl: `${base}/webhook/${TENANT}`,
          residents: {
            count: 40,
            seed: 12,
            initialFriendRatio: 0.5,
            followRatePerDay: 0,
            blockRatePerDay: 0,
            unblockRatePerDay: 0,
            openProbability: 0,
          },
        },
      ],
    },
  });
  line = new messagingApi.MessagingApiClient({ channelAccessToken: ACCESS, baseURL: sandbox.url });
  lineBlob = new messagingApi.MessagingApiBlobClient({ channelAccessToken: ACCESS, baseURL: sandbox.url });
}, 60_000);

afterAll(() => h?.close());

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/api/v1/tenants/${TENANT}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function hook(method: string, path: string, body?: unknown): Promise<any> {
  const answer = await sandboxHook(sandbox!.url, method, path, body);
  expect(answer.httpStatus, `${method} ${path}: ${JSON.stringify(answer)}`).toBe(200);
  return answer;
}

type Reply = messagingApi.TextMessage & { quickReply?: messagingApi.QuickReply };

/** A resident of the sandbox, acting through the test hook and reading the replies they receive. */
class Resident {
  constructor(readonly userId: string) {}

  async replies(): Promise<Reply[]> {
    const r = await hook('GET', `/channels/${CHANNEL}/receipts/${this.userId}`);
    return (r.receipts as Array<{ kind: string; messages: Reply[] }>)
      .filter((x) => x.kind === 'reply')
      .map((x) => x.messages[0]!);
  }

  /** Acts, then waits for the reply it causes. */
  async act(action: Record<string, unknown>): Promise<Reply> {
    const before = (await this.replies()).length;
    await hook('POST', `/channels/${CHANNEL}/residents/${this.userId}/actions`, action);
    return waitFor(async () => (await this.replies())[before], 20_000, `a reply to ${JSON.stringify(action)}`);
  }

  /** Taps the quick reply with this label on a reply. */
  tap(reply: Reply, label: string, params?: Record<string, string>): Promise<Reply> {
    const item = reply.quickReply?.items?.find((i) => (i.action as { label?: string }).label === label);
    expect(item, `quick reply 「${label}」 on 「${reply.text}」 (${labels(reply).join(', ')})`).toBeDefined();
    const action = item!.action as { type: string; data: string };
    expect(['postback', 'datetimepicker']).toContain(action.type);
    return this.act({ type: 'postback', data: action.data, ...(params ? { params } : {}) });
  }
}

const labels = (r: Reply) => (r.quickReply?.items ?? []).map((i) => (i.action as { label?: string }).label ?? '');

const femaleOver40 = {
  and: [
    { attr: 'gender', op: 'in', values: ['female'] },
    { attr: 'birth_year', op: 'between', max: 1985 },
    { attr: 'interests', op: 'in', values: ['c3'] },
  ],
};
const count = async (audience: unknown) => {
  const r = await api('POST', '/deliveries/count', { audience });
  expect(r.status).toBe(200);
  return r.json.count as number;
};

describe('the default rich menu', () => {
  it('is created, given its image and made the default through LINE’s rich menu API; applying it again replaces it', async () => {
    const none = await api('POST', '/rich-menu', {});
    expect(none.status).toBe(400);
    expect(none.json.error.code).toBe('rich_menu_urls_required');
    expect(none.json.error.details.map((d: any) => d.field)).toEqual(['newsUrl', 'contactUrl']);
    const bad = await api('POST', '/rich-menu', {
      newsUrl: 'http://www.city.ise.mie.jp/',
      contactUrl: 'https://www.city.ise.mie.jp/contact',
      extra: 1,
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_rich_menu');
    expect(bad.json.error.message).toMatch(/https:\/\/ で始まる URL/);
    expect((await api('GET', '/rich-menu')).json).toEqual({ richMenu: null });

    const first = await api('POST', '/rich-menu', {
      newsUrl: 'https://www.city.ise.mie.jp/news',
      contactUrl: 'https://www.city.ise.mie.jp/contact',
    });
    expect(first.status).toBe(201);
    const id = first.json.richMenu.richMenuId as string;
    expect(await line.getDefaultRichMenuId()).toEqual({ richMenuId: id });
    const menu = await line.getRichMenu(id);
    expect(menu).toMatchObject({ size: RICH_MENU_SIZE, selected: true, chatBarText: 'メニュー' });
    expect(menu.areas.map((a) => a.action)).toEqual([
      {
        type: 'postback',
        label: '登録内容の確認・変更',
        data: `${REGISTRATION_PREFIX}menu`,
        displayText: '登録内容の確認・変更',
      },
      { type: 'uri', label: 'お知らせ', uri: 'https://www.city.ise.mie.jp/news' },
      { type: 'uri', label: '問い合わせ', uri: 'https://www.city.ise.mie.jp/contact' },
    ]);
    // the areas tile the menu
    expect(menu.areas.reduce((w, a) => w + a.bounds!.width!, 0)).toBe(RICH_MENU_SIZE.width);
    const { body } = await lineBlob.getRichMenuImageWithHttpInfo(id);
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c as Buffer);
    const image = Buffer.concat(parts);
    expect(imageSize(image)).toEqual({ type: 'image/png', ...RICH_MENU_SIZE });
    expect(image.equals(renderRichMenuImage(NAME))).toBe(true);

    // again, keeping the links: a new menu, the old one deleted from the channel
    const again = await api('POST', '/rich-menu', {});
    expect(again.status).toBe(201);
    expect(again.json.richMenu).toMatchObject({
      newsUrl: 'https://www.city.ise.mie.jp/news',
      contactUrl: 'https://www.city.ise.mie.jp/contact',
      isDefault: true,
    });
    expect(again.json.richMenu.richMenuId).not.toBe(id);
    expect((await line.getRichMenuList()).richmenus.map((m) => m.richMenuId)).toEqual([again.json.richMenu.richMenuId]);
    expect((await api('GET', '/rich-menu')).json.richMenu).toMatchObject({
      richMenuId: again.json.richMenu.richMenuId,
      isDefault: true,
    });
  });
});

describe('registration inside LINE', () => {
  it('follow → questions as quick replies → answers stored (latest wins) → segments, block and unblock', async () => {
    const picked = await hook('POST', `/channels/${CHANNEL}/residents?newcomers=2`);
    const hana = new Resident(picked.newcomers[0]);
    const taro = new Resident(picked.newcomers[1]);

    // adding the account: the flow's first question arrives as a reply with quick replies
    const welcome = await hana.act({ type: 'follow' });
    expect(welcome.text).toMatch(/友だち追加ありがとうございます/);
    expect(labels(welcome)).toEqual(
      expect.arrayContaining([
        '生活スタイル',
        '生まれ年',
        '性別',
        'お住まい',
        '知りたい地域',
        '関心のある分野',
        '登録内容の確認',
      ]),
    );

    // each step by tapping what the previous reply offered
    const gender = await hana.tap(welcome, '性別');
    expect(gender.text).toMatch(/性別を選んでください/);
    const afterGender = await hana.tap(gender, '女性');
    expect(afterGender.text).toMatch(/性別を「女性」で登録しました/);
    const year = await hana.tap(afterGender, '生まれ年');
    const afterYear = await hana.tap(year, '生まれ年を選ぶ', { date: '1978-04-01' });
    expect(afterYear.text).toMatch(/1978年/);
    const large = await hana.tap(afterYear, '関心のある分野');
    const middle = await hana.tap(large, '健康');
    const small = await hana.tap(middle, '健康マイレージ');
    const registered = await hana.tap(small, '登録する');
    expect(labels(registered)).toContain('✓ 登録する');
    const lifestyle = await hana.tap(await hana.tap(registered, '戻る'), '完了');
    const done = await hana.tap(await hana.tap(lifestyle, '生活スタイル'), '会社員・公務員');
    const summary = await hana.tap(done, '登録内容の確認');
    expect(summary.text).toMatch(/性別: 女性/);
    expect(summary.text).toMatch(/関心のある分野: 健康 › 健康マイレージ/);

    // stored in ClickHouse
    const attrs = (await api('GET', `/residents/${hana.userId}/attributes`)).json;
    expect(attrs).toMatchObject({
      friend: true,
      attributes: { gender: ['female'], birth_year: ['1978'], interests: ['c3/c3_1'], lifestyle: ['worker'] },
    });

    // another resident, other answers
    const w2 = await taro.act({ type: 'follow' });
    await taro.tap(await taro.tap(w2, '性別'), '男性');
    expect(await count({ type: 'all' })).toBe(2);
    expect(await count({ type: 'segment', condition: femaleOver40 })).toBe(1);
    expect(await count({ type: 'segment', condition: { attr: 'gender', op: 'in', values: ['male'] } })).toBe(1);

    // later, from the rich menu: the 登録内容 area starts the flow; the newer answer wins
    const menu = await hana.act({ type: 'richMenu', area: 0 });
    expect(menu.text).toBe('登録・変更したい項目を選んでください。');
    await hana.tap(await hana.tap(menu, '性別'), '男性');
    expect((await api('GET', `/residents/${hana.userId}/attributes`)).json.attributes.gender).toEqual(['male']);
    expect(await count({ type: 'segment', condition: femaleOver40 })).toBe(0);
    expect(await count({ type: 'segment', condition: { attr: 'gender', op: 'in', values: ['male'] } })).toBe(2);
    // the お知らせ area is a link: no webhook, no reply
    expect(
      await hook('POST', `/channels/${CHANNEL}/residents/${hana.userId}/actions`, { type: 'richMenu', area: 1 }),
    ).toMatchObject({ event: null, uri: 'https://www.city.ise.mie.jp/news' });

    // a block takes her out of every audience (her answers stay); an unblock brings her back
    await hook('POST', `/channels/${CHANNEL}/residents/${hana.userId}/actions`, { type: 'unfollow' });
    await waitFor(async () => (await count({ type: 'all' })) === 1, 20_000, 'the block to count');
    expect(await count({ type: 'segment', condition: { attr: 'gender', op: 'in', values: ['male'] } })).toBe(1);
    expect((await api('GET', `/residents/${hana.userId}/attributes`)).json).toMatchObject({
      friend: false,
      attributes: { gender: ['male'], birth_year: ['1978'] },
    });
    const back = await hana.act({ type: 'follow' });
    expect(back.text).toMatch(/友だち追加ありがとうございます/);
    expect(await count({ type: 'all' })).toBe(2);
    expect(await count({ type: 'segment', condition: { attr: 'gender', op: 'in', values: ['male'] } })).toBe(2);
  }, 120_000);

  it("pages a list longer than LINE's 13 quick replies (25 areas), keeping the page through a toggle", async () => {
    for (let i = 1; i <= 25; i++)
      expect((await api('POST', '/categories', { parentId: '@area', name: `第${i}地区` })).status).toBe(201);
    const [userId] = (await hook('POST', `/channels/${CHANNEL}/residents?newcomers=1`)).newcomers as string[];
    const jiro = new Resident(userId!);
    const welcome = await jiro.act({ type: 'follow' });

    // お住まい: a page of areas, 次へ ▶, and 回答しない / 戻る — never more than 13 buttons
    const first = await jiro.tap(welcome, 'お住まい');
    expect(first.text).toMatch(/お住まいを選んでください \(1\/3\)/);
    expect(labels(first)).toEqual([
      ...Array.from({ length: 9 }, (_, i) => `第${i + 1}地区`),
      '次へ ▶',
      '回答しない',
      '戻る',
    ]);
    const second = await jiro.tap(first, '次へ ▶');
    expect(labels(second)).toEqual([
      '第10地区',
      '第11地区',
      '第12地区',
      '第13地区',
      '第14地区',
      '第15地区',
      '第16地区',
      '第17地区',
      '第18地区',
      '◀ 前へ',
      '次へ ▶',
      '回答しない',
      '戻る',
    ]);
    const third = await jiro.tap(second, '次へ ▶');
    expect(third.text).toMatch(/\(3\/3\)/);
    expect(labels(third).length).toBeLessThanOrEqual(13);
    const stored = await jiro.tap(third, '第25地区');
    expect(stored.text).toMatch(/お住まいを「第25地区」で登録しました/);

    // 知りたい地域 (several): a toggle on page 2 answers with page 2, ticked
    const news = await jiro.tap(await jiro.tap(stored, '知りたい地域'), '次へ ▶');
    const ticked = await jiro.tap(news, '第12地区');
    expect(ticked.text).toMatch(/\(2\/3\)/);
    expect(labels(ticked)).toContain('✓ 第12地区');
    const areas = (await api('GET', '/categories')).json.categories as Array<{ id: string; name: string }>;
    const idOf = (name: string) => areas.find((c) => c.name === name)!.id;
    expect((await api('GET', `/residents/${userId}/attributes`)).json.attributes).toMatchObject({
      residence: [idOf('第25地区')],
      news_areas: [idOf('第12地区')],
    });
  }, 120_000);
});
