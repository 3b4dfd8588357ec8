/**
 * Rich menus in the sandbox, through @line/bot-sdk (MessagingApiClient and MessagingApiBlobClient):
 * create, validate (LINE's rules beyond the schema, LINE-shaped errors), upload the image once (PNG
 * or JPEG of the menu's exact size, ≤ 1 MB), download it, set / get / cancel the default, delete;
 * a resident tapping an area of the default menu (test hook) sends its postback or message, or opens
 * its link; replies land in the resident's receipts with the messages as sent. Every response is
 * checked against LINE's OpenAPI spec at the end.
 */
import { Resvg } from '@resvg/resvg-js';
import { HTTPFetchError, messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RecordedResponse, type RunningSandbox } from '../../sandbox/index.ts';
import { imageSize } from '../../sandbox/api/rich-menus.ts';
import { validateResponse } from '../../sandbox/openapi.ts';
import { sandboxHook } from '../helpers/index.ts';

const CHANNEL = '2000000091';
let sandbox: RunningSandbox;
let client: messagingApi.MessagingApiClient;
let blob: messagingApi.MessagingApiBlobClient;
const recorded: RecordedResponse[] = [];
/** Webhook events the residents caused. */
const events: Array<Record<string, any>> = [];

const png = (width: number, height: number): Uint8Array<ArrayBuffer> =>
  new Uint8Array(
    new Resvg(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#2e7d32"/></svg>`,
    )
      .render()
      .asPng(),
  );

const menu = (over: Partial<messagingApi.RichMenuRequest> = {}): messagingApi.RichMenuRequest => ({
  size: { width: 2500, height: 843 },
  selected: true,
  name: 'テスト用メニュー',
  chatBarText: 'メニュー',
  areas: [
    {
      bounds: { x: 0, y: 0, width: 833, height: 843 },
      action: { type: 'postback', label: '登録内容', data: 'tayori-attr:menu', displayText: '登録内容の確認・変更' },
    },
    {
      bounds: { x: 833, y: 0, width: 834, height: 843 },
      action: { type: 'uri', label: 'お知らせ', uri: 'https://www.example.jp/news' },
    },
    {
      bounds: { x: 1667, y: 0, width: 833, height: 843 },
      action: { type: 'message', label: '問い合わせ', text: '問い合わせ' },
    },
  ],
  ...over,
});

/** The status and LINE's error body of a call that must fail. */
const failure = (p: Promise<unknown>): Promise<{ status: number; json: any }> =>
  p.then(
    () => Promise.reject(new Error('expected the request to fail')),
    (e: unknown) =>
      e instanceof HTTPFetchError ? { status: e.status, json: e.body ? JSON.parse(e.body) : null } : Promise.reject(e),
  );

const hook = (method: string, path: string, body?: unknown) => sandboxHook(sandbox.url, method, path, body);

beforeAll(async () => {
  sandbox = await startSandbox({
    config: {
      channels: [
        {
          channelId: CHANNEL,
          botUserId: `U${'9'.repeat(32)}`,
          channelSecret: 'rich-secret',
          channelAccessToken: 'rich-token',
          residents: {
            count: 50,
            seed: 4,
            initialFriendRatio: 0.8,
            followRatePerDay: 0,
            blockRatePerDay: 0,
            unblockRatePerDay: 0,
          },
        },
      ],
    },
    server: { onResponse: (r) => recorded.push(r) },
    world: { onEvent: (_channelId, ev) => events.push(ev as Record<string, any>) },
  });
  client = new messagingApi.MessagingApiClient({ channelAccessToken: 'rich-token', baseURL: sandbox.url });
  blob = new messagingApi.MessagingApiBlobClient({ channelAccessToken: 'rich-token', baseURL: sandbox.url });
});

afterAll(async () => {
  await sandbox?.close();
});

describe('rich menus', () => {
  it('refuses menus that break LINE’s rules, with LINE’s error shape', async () => {
    // the OpenAPI schema first …
    const schema = await failure(
      client.createRichMenu(
        menu({
          chatBarText: 'とても長いチャットバーのテキスト',
          areas: [
            { bounds: { x: 0, y: 0, width: 833, height: 843 }, action: { type: 'postback', data: 'x'.repeat(301) } },
          ],
        }),
      ),
    );
    expect(schema.status).toBe(400);
    expect((schema.json.details as Array<{ property: string }>).map((d) => d.property).sort()).toEqual([
      'areas[0].action.data',
      'chatBarText',
    ]);
    // … then LINE's rules the schema does not carry
    const rules = await failure(
      client.createRichMenu(
        menu({
          size: { width: 500, height: 843 },
          areas: [
            { bounds: { x: 2000, y: 0, width: 833, height: 843 }, action: { type: 'postback', data: 'x' } },
            { bounds: { x: 0, y: 0, width: 10, height: 10 }, action: { type: 'uri', uri: 'ftp://example.jp/' } },
            { bounds: { x: 0, y: 0, width: 10, height: 10 }, action: { type: 'camera', label: 'カメラ' } },
          ],
        }),
      ),
    );
    expect(rules.status).toBe(400);
    expect((rules.json.details as Array<{ property: string }>).map((d) => d.property)).toEqual([
      'size.width',
      'size',
      'areas[0].bounds',
      'areas[1].action.uri',
      'areas[2].action.type',
    ]);
    expect(
      (
        await failure(
          client.validateRichMenuObject(menu({ areas: Array.from({ length: 21 }, () => menu().areas![0]!) })),
        )
      ).json.details,
    ).toContainEqual({ message: 'Size must be between 0 and 20', property: 'areas' });
    await client.validateRichMenuObject(menu());
    expect(await client.getRichMenuList()).toEqual({ richmenus: [] });
  });

  it('takes its image once, of the menu’s size, and becomes the default only with it', async () => {
    const { richMenuId } = await client.createRichMenu(menu());
    expect(richMenuId).toMatch(/^richmenu-[0-9a-f]{32}$/);
    expect(await client.getRichMenu(richMenuId)).toEqual({ richMenuId, ...menu() });
    expect((await client.getRichMenuList()).richmenus.map((m) => m.richMenuId)).toEqual([richMenuId]);

    expect((await failure(client.setDefaultRichMenu(richMenuId))).json.message).toBe(
      'must upload richmenu image before applying it to user',
    );
    expect(
      (await failure(blob.setRichMenuImage(richMenuId, new Blob([png(2500, 843)], { type: 'text/plain' })))).status,
    ).toBe(415);
    expect(
      (await failure(blob.setRichMenuImage(richMenuId, new Blob([png(2500, 1686)], { type: 'image/png' })))).json
        .message,
    ).toMatch(/must match the rich menu size \(2500x843\)/);
    const image = png(2500, 843);
    await blob.setRichMenuImage(richMenuId, new Blob([image], { type: 'image/png' }));
    expect(
      (await failure(blob.setRichMenuImage(richMenuId, new Blob([image], { type: 'image/png' })))).json.message,
    ).toMatch(/already been uploaded/);
    const { httpResponse, body } = await blob.getRichMenuImageWithHttpInfo(richMenuId);
    expect(httpResponse.headers.get('content-type')).toBe('image/png');
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(Buffer.from(image))).toBe(true);

    expect((await failure(client.getDefaultRichMenuId())).status).toBe(404);
    await client.setDefaultRichMenu(richMenuId);
    expect(await client.getDefaultRichMenuId()).toEqual({ richMenuId });
    expect((await failure(client.getRichMenu('richmenu-00000000000000000000000000000000'))).status).toBe(404);
  });

  it('lets a resident tap the default menu: postback and message areas send their events, a uri area opens its link', async () => {
    const [userId] = (await hook('POST', `/channels/${CHANNEL}/residents?friends=1`)).friends;
    const tap = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'richMenu', area: 0 });
    expect(tap.httpStatus).toBe(200);
    expect(tap.event).toMatchObject({
      type: 'postback',
      source: { type: 'user', userId },
      postback: { data: 'tayori-attr:menu' },
    });
    const link = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'richMenu', area: 1 });
    expect(link).toMatchObject({ httpStatus: 200, event: null, uri: 'https://www.example.jp/news' });
    const message = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, {
      type: 'richMenu',
      area: 2,
    });
    expect(message.event).toMatchObject({ type: 'message', message: { type: 'text', text: '問い合わせ' } });
    expect(
      (await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'richMenu', area: 3 }))
        .httpStatus,
    ).toBe(400);

    // the postback is the residents' event like any other; a reply with quick replies shows in the receipts as sent
    expect(events.map((e) => e.webhookEventId)).toContain(tap.event.webhookEventId);
    const quick: messagingApi.TextMessage = {
      type: 'text',
      text: '項目を選んでください',
      quickReply: {
        items: [{ type: 'action', action: { type: 'postback', label: '性別', data: 'tayori-attr:q:gender' } }],
      },
    };
    await client.replyMessage({ replyToken: tap.event.replyToken, messages: [quick] });
    const receipts = await hook('GET', `/channels/${CHANNEL}/receipts/${userId}`);
    expect(receipts.receipts).toEqual([expect.objectContaining({ kind: 'reply', messages: [quick] })]);
  });

  it('drops the default with the menu; then there is nothing to tap', async () => {
    const { richMenuId } = await client.getDefaultRichMenuId();
    await client.deleteRichMenu(richMenuId);
    expect((await failure(client.getDefaultRichMenuId())).status).toBe(404);
    expect((await failure(client.deleteRichMenu(richMenuId))).status).toBe(404);
    const [userId] = (await hook('POST', `/channels/${CHANNEL}/residents?friends=1`)).friends;
    expect(
      (await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'richMenu', area: 0 }))
        .httpStatus,
    ).toBe(409);
    await client.cancelDefaultRichMenu();
  });

  it('reads the size of PNG and JPEG images from their headers', () => {
    expect(imageSize(Buffer.from(png(800, 270)))).toEqual({ type: 'image/png', width: 800, height: 270 });
    // SOI, an APP0 segment, then SOF0 with height 843 and width 2500
    const jpeg = Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x03, 0x4b, 0x09, 0xc4, 0x03, 0, 0,
      0, 0, 0, 0,
    ]);
    expect(imageSize(jpeg)).toEqual({ type: 'image/jpeg', width: 2500, height: 843 });
    expect(imageSize(Buffer.from('GIF89a'))).toBeUndefined();
  });

  it('answered every request as LINE’s OpenAPI spec describes', () => {
    const problems = recorded
      .filter((r) => r.operationId)
      .flatMap((r) =>
        validateResponse(r.operationId!, r.status, r.body).map((p) => `${r.method} ${r.path} ${r.status}: ${p}`),
      );
    expect(problems).toEqual([]);
    expect(new Set(recorded.map((r) => r.operationId))).toEqual(
      new Set([
        undefined,
        'createRichMenu',
        'validateRichMenuObject',
        'getRichMenu',
        'getRichMenuList',
        'setRichMenuImage',
        'getRichMenuImage',
        'setDefaultRichMenu',
        'getDefaultRichMenuId',
        'deleteRichMenu',
        'cancelDefaultRichMenu',
        'replyMessage',
      ]),
    );
  });
});
