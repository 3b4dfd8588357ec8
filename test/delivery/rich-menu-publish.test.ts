/**
 * Rich menus designed, published, rolled back and switched, against the sandbox:
 * - a tenant that designed nothing has its existing default menu (the way into registration) as
 *   基本メニュー, version 1, published and the default;
 * - a design (a standard layout) saved as a draft and published: created on LINE with its image,
 *   its alias, the default; the replaced LINE menu is deleted;
 * - rolled back in one step to the earlier version (a new LINE menu of that design);
 * - two tabs: a resident taps the tab area and the sandbox shows the other menu (richmenuswitch);
 * - LIFF areas (mileage, FAQ, card, survey) open the tenant's LIFF URLs; a tab not yet published,
 *   a design that does not fit its layout: 400 in Japanese, nothing queued.
 */
import { messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '../../sandbox/openapi.ts';
import { REGISTRATION_PREFIX } from '../../delivery/index.ts';
import { lineFailure, sandboxHook } from '../helpers/index.ts';
import {
  defaultMenu,
  draftMenu,
  operator,
  pngOf,
  publishMenu,
  publishVersion,
  type RichMenuFixture,
  richMenuFixture,
  RM_CHANNEL,
  RM_TENANT,
  saveDesign,
  shownTo,
  upload,
} from '../helpers/rich-menu-fixtures.ts';

let f: RichMenuFixture;
beforeAll(async () => {
  f = await richMenuFixture({ prefix: 'tayori-rm-publish-' });
}, 60_000);
afterAll(() => f?.h.close());

const book = () => f.h.sandbox.api.state.richMenus;

describe('designing and publishing', () => {
  it('keeps the existing default menu as version 1 of 基本メニュー', async () => {
    const applied = await f.legacy.apply(RM_TENANT, {
      newsUrl: 'https://www.example.jp/news',
      contactUrl: 'https://www.example.jp/contact',
    });
    const menus = await f.editor.menus(RM_TENANT);
    expect(menus).toHaveLength(1);
    expect(menus[0]).toMatchObject({
      title: '基本メニュー',
      isDefault: true,
      liveVersion: 1,
      lineRichMenuId: applied.richMenuId,
    });
    const [v1] = await f.editor.versions(RM_TENANT, menus[0]!.menuId);
    expect(v1).toMatchObject({ version: 1, status: 'published' });
    expect(v1!.design.areas.map((a) => a.action.type)).toEqual(['registration', 'uri', 'uri']);
    expect(defaultMenu(f)).toBe(applied.richMenuId);
    // from now on the editor owns the tenant's menus: the old one-menu apply is refused
    await expect(f.legacy.apply(RM_TENANT, {})).rejects.toMatchObject({
      code: 'rich_menu_managed_by_editor',
      status: 409,
    });
  });

  it('publishes a design: created with its image and alias, the default; the replaced menu deleted', async () => {
    const base = (await f.editor.menus(RM_TENANT))[0]!;
    const before = base.lineRichMenuId;
    const v2 = await saveDesign(f, base.menuId, {
      name: '鳥羽市 メニュー',
      chatBarText: 'メニューを開く',
      layout: 'full-6',
      image: pngOf(2500, 1686),
      areas: [
        { label: '登録内容', action: { type: 'registration' } },
        { label: 'マイレージ', action: { type: 'mileage' } },
        { label: 'よくある質問', action: { type: 'faq' } },
        { label: '優待カード', action: { type: 'card' } },
        { label: 'アンケート', action: { type: 'survey', surveyId: '0b7c7d1e-0000-4000-8000-000000000001' } },
        { label: 'お知らせ', action: { type: 'postback', data: 'news:latest', displayText: 'お知らせ' } },
      ],
    });
    expect(v2).toMatchObject({ version: 2, status: 'draft' });
    expect(v2.design.areas[4]!.bounds).toEqual({ x: 833, y: 843, width: 834, height: 843 });
    // a draft changes nothing on LINE
    expect(defaultMenu(f)).toBe(before);
    const { menu: queued, done } = await f.editor.publish(RM_TENANT, base.menuId, 2, operator);
    expect(queued.job).toMatchObject({ kind: 'publish', version: 2 });
    const live = await done;
    expect(live).toMatchObject({ liveVersion: 2, job: null });
    const onLine = book().get(RM_CHANNEL, live.lineRichMenuId)!;
    expect(onLine.image?.bytes.length).toBeGreaterThan(0);
    expect(onLine.menu.size).toEqual({ width: 2500, height: 1686 });
    expect(onLine.menu.chatBarText).toBe('メニューを開く');
    const actions = onLine.menu.areas.map((a) => a.action);
    expect(actions[0]).toMatchObject({ type: 'postback', data: `${REGISTRATION_PREFIX}menu` });
    expect(actions[1]).toMatchObject({ type: 'uri', uri: `https://liff.line.me/2000000000-${RM_TENANT}/mileage` });
    expect(actions[2]).toMatchObject({ uri: `https://liff.line.me/2000000000-${RM_TENANT}/faq` });
    expect(actions[3]).toMatchObject({ uri: `https://liff.line.me/2000000000-${RM_TENANT}/cards/card` });
    expect(actions[4]).toMatchObject({
      uri: `https://liff.line.me/2000000000-${RM_TENANT}/surveys/0b7c7d1e-0000-4000-8000-000000000001`,
    });
    expect(actions[5]).toMatchObject({ type: 'postback', data: 'news:latest' });
    expect(defaultMenu(f)).toBe(live.lineRichMenuId);
    expect(book().aliases(RM_CHANNEL).get(live.aliasId)).toBe(live.lineRichMenuId);
    // the menu it replaced is gone from LINE
    expect(book().get(RM_CHANNEL, before)).toBeUndefined();
    const versions = await f.editor.versions(RM_TENANT, base.menuId);
    expect(versions.map((v) => [v.version, v.status])).toEqual([
      [2, 'published'],
      [1, 'superseded'],
    ]);
    // the registration area still starts the registration flow for a resident
    const tap = await sandboxHook(
      f.h.sandbox.url,
      'POST',
      `/channels/${RM_CHANNEL}/residents/${f.friends[0]}/actions`,
      {
        type: 'richMenu',
        area: 0,
      },
    );
    expect(tap.event).toMatchObject({ type: 'postback', postback: { data: `${REGISTRATION_PREFIX}menu` } });
  });

  it('rolls back to an earlier version in one step', async () => {
    const base = (await f.editor.menus(RM_TENANT))[0]!;
    const replaced = base.lineRichMenuId;
    const { done } = await f.editor.rollback(RM_TENANT, base.menuId, 1, operator);
    const live = await done;
    expect(live.liveVersion).toBe(1);
    expect(live.lineRichMenuId).not.toBe(replaced);
    expect(defaultMenu(f)).toBe(live.lineRichMenuId);
    expect(book().get(RM_CHANNEL, live.lineRichMenuId)!.menu.areas).toHaveLength(3);
    expect(book().get(RM_CHANNEL, replaced)).toBeUndefined();
    await expect(f.editor.rollback(RM_TENANT, base.menuId, 1, operator)).rejects.toMatchObject({
      code: 'rich_menu_already_live',
      status: 409,
    });
    await expect(f.editor.rollback(RM_TENANT, base.menuId, 9, operator)).rejects.toMatchObject({ status: 404 });
    const audit = await f.editor.audit.recent({ tenantId: RM_TENANT, action: 'rich_menu_rolled_back' });
    expect(audit[0]).toMatchObject({ target: base.menuId, detail: { version: 1, from: 2 } });
  });

  it('switches tabs: a resident taps the tab area and sees the other menu', async () => {
    const base = (await f.editor.menus(RM_TENANT))[0]!;
    const tab2 = await f.editor.createMenu(RM_TENANT, { title: '防災' }, operator);
    const imageId = await upload(f, pngOf(2500, 843, '#b71c1c'));
    // a tab that is not published cannot be switched to
    const v = await saveDesign(f, base.menuId, {
      name: '基本 (タブ)',
      chatBarText: 'メニュー',
      layout: 'compact-2',
      image: imageId,
      areas: [
        { label: '登録内容', action: { type: 'registration' } },
        { label: '防災タブ', action: { type: 'switch', menuId: tab2.menuId } },
      ],
    });
    await expect(f.editor.publish(RM_TENANT, base.menuId, v.version, operator)).rejects.toMatchObject({
      code: 'rich_menu_not_ready',
      status: 400,
      message: expect.stringContaining('切り替え先のメニューを先に公開してください'),
    });
    const t2 = await saveDesign(f, tab2.menuId, {
      name: '防災メニュー',
      chatBarText: '防災',
      layout: 'compact-2',
      image: imageId,
      areas: [
        { label: '避難所', action: { type: 'uri', uri: 'https://www.example.jp/hinan' } },
        { label: '基本に戻る', action: { type: 'switch', menuId: base.menuId } },
      ],
    });
    await publishVersion(f, tab2.menuId, t2.version);
    const live = await publishVersion(f, base.menuId, v.version);
    const tab2Live = await f.editor.menu(RM_TENANT, tab2.menuId);
    // the tab's switch points at the other tab's alias
    expect(book().get(RM_CHANNEL, live.lineRichMenuId)!.menu.areas[1]!.action).toMatchObject({
      type: 'richmenuswitch',
      richMenuAliasId: tab2Live.aliasId,
    });
    const resident = f.friends[1]!;
    expect((await shownTo(f, resident)).id).toBe(live.lineRichMenuId);
    const tap = await sandboxHook(f.h.sandbox.url, 'POST', `/channels/${RM_CHANNEL}/residents/${resident}/actions`, {
      type: 'richMenu',
      area: 1,
    });
    expect(tap.event).toMatchObject({
      type: 'postback',
      postback: { params: { newRichMenuAliasId: tab2Live.aliasId, status: 'SUCCESS' } },
    });
    expect((await shownTo(f, resident)).id).toBe(tab2Live.lineRichMenuId);
    // another resident still sees the default; back again by the other tab's area
    expect((await shownTo(f, f.friends[2]!)).id).toBe(live.lineRichMenuId);
    await sandboxHook(f.h.sandbox.url, 'POST', `/channels/${RM_CHANNEL}/residents/${resident}/actions`, {
      type: 'richMenu',
      area: 1,
    });
    expect((await shownTo(f, resident)).id).toBe(live.lineRichMenuId);
  });

  it('refuses in Japanese a design that does not fit its layout, a uri that is not https, a title too long', async () => {
    const base = (await f.editor.menus(RM_TENANT))[0]!;
    const imageId = await upload(f, pngOf(2500, 843));
    const refused = (layout: string, area: unknown) =>
      expect(saveDesign(f, base.menuId, { name: 'x', chatBarText: 'メニュー', layout, image: imageId, areas: [area] }))
        .rejects;
    await refused('compact-3', { label: 'a', action: { type: 'faq' } }).toMatchObject({
      status: 400,
      message: expect.stringContaining('エリアは 3 個です'),
    });
    await refused('custom', {
      label: 'a',
      action: { type: 'uri', uri: 'javascript:alert(1)' },
      bounds: { x: 0, y: 0, width: 100, height: 100 },
    }).toMatchObject({ status: 400, message: expect.stringContaining('https://') });
    await refused('custom', {
      label: 'a',
      action: { type: 'faq' },
      bounds: { x: 2400, y: 0, width: 200, height: 100 },
    }).toMatchObject({ status: 400, message: expect.stringContaining('はみ出しています') });
    await expect(f.editor.createMenu(RM_TENANT, { title: 'あ'.repeat(41) }, operator)).rejects.toMatchObject({
      code: 'invalid_rich_menu',
      status: 400,
    });
  });

  it('publishes areas drawn on the image (custom layout) with their exact bounds', async () => {
    const { menuId, draft } = await draftMenu(f, '自由配置', {
      name: '自由配置',
      chatBarText: '自由',
      layout: 'custom',
      image: pngOf(1200, 405, '#33691e'),
      areas: [
        { label: '大きな枠', action: { type: 'faq' }, bounds: { x: 0, y: 0, width: 800, height: 405 } },
        {
          label: '電話',
          action: { type: 'uri', uri: 'tel:0599-25-1111' },
          bounds: { x: 810, y: 20, width: 380, height: 180 },
        },
      ],
    });
    expect(draft.design.size).toEqual({ width: 1200, height: 405 });
    const live = await publishVersion(f, menuId, draft.version);
    const onLine = book().get(RM_CHANNEL, live.lineRichMenuId)!.menu;
    expect(onLine.size).toEqual({ width: 1200, height: 405 });
    expect(onLine.areas.map((a) => a.bounds)).toEqual([
      { x: 0, y: 0, width: 800, height: 405 },
      { x: 810, y: 20, width: 380, height: 180 },
    ]);
    expect(onLine.areas[1]!.action).toMatchObject({ type: 'uri', uri: 'tel:0599-25-1111' });
    await f.editor.deleteMenu(RM_TENANT, menuId, operator);
  });

  it('numbers drafts saved at once one after another', async () => {
    const base = (await f.editor.menus(RM_TENANT)).find((m) => m.isDefault)!;
    const live = (await f.editor.versions(RM_TENANT, base.menuId, base.liveVersion))[0]!.design;
    const input = {
      name: live.name,
      chatBarText: live.chatBarText,
      layout: live.layout,
      imageId: live.imageId,
      areas: live.areas,
    };
    const saved = await Promise.all([1, 2, 3].map(() => f.editor.saveDraft(RM_TENANT, base.menuId, input, operator)));
    const numbers = saved.map((v) => v.version).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(3);
    expect(numbers[2]! - numbers[0]!).toBe(2);
  });

  it('deletes a tab with its alias and LINE menu; not the default, not a tab another switches to', async () => {
    const menus = await f.editor.menus(RM_TENANT);
    const base = menus.find((m) => m.isDefault)!;
    const bousai = menus.find((m) => m.title === '防災')!;
    await expect(f.editor.deleteMenu(RM_TENANT, base.menuId, operator)).rejects.toMatchObject({
      code: 'rich_menu_is_default',
      status: 409,
    });
    await expect(f.editor.deleteMenu(RM_TENANT, bousai.menuId, operator)).rejects.toMatchObject({
      code: 'rich_menu_in_use',
      message: expect.stringContaining('基本メニュー'),
    });
    const live = await publishMenu(f, '一時', {
      chatBarText: '一時',
      image: pngOf(2500, 843, '#4a148c'),
      areas: [{ label: 'よくある質問', action: { type: 'faq' } }],
    });
    expect(book().get(RM_CHANNEL, live.lineRichMenuId)).toBeDefined();
    await f.editor.deleteMenu(RM_TENANT, live.menuId, operator);
    expect(book().get(RM_CHANNEL, live.lineRichMenuId)).toBeUndefined();
    expect(book().aliases(RM_CHANNEL).has(live.aliasId)).toBe(false);
    expect((await f.editor.menus(RM_TENANT)).map((m) => m.title)).not.toContain('一時');
    const audit = await f.editor.audit.recent({ tenantId: RM_TENANT, action: 'rich_menu_deleted' });
    expect(audit[0]?.target).toBe(live.menuId);
  });

  it('answers aliases, links and bulk links as LINE does (paths, bodies, limits, error bodies)', async () => {
    const line = new messagingApi.MessagingApiClient({
      channelAccessToken: 'rich-menu-token',
      baseURL: f.h.sandbox.url,
    });
    const live = (await f.editor.menus(RM_TENANT))[0]!;
    const bare = (
      await line.createRichMenu({
        ...book().get(RM_CHANNEL, live.lineRichMenuId)!.menu,
        selected: false,
      } as unknown as messagingApi.RichMenuRequest)
    ).richMenuId;
    const badAlias = await lineFailure(line.createRichMenuAlias({ richMenuAliasId: 'Bad Alias!', richMenuId: bare }));
    expect(badAlias.status).toBe(400);
    expect(badAlias.json.details[0]).toMatchObject({ property: 'richMenuAliasId' });
    const noImage = await lineFailure(line.createRichMenuAlias({ richMenuAliasId: 'no-image', richMenuId: bare }));
    expect(noImage.json.message).toBe('must upload richmenu image before applying it to user');
    const taken = await lineFailure(
      line.createRichMenuAlias({ richMenuAliasId: live.aliasId, richMenuId: live.lineRichMenuId }),
    );
    expect(taken.json).toEqual({ message: 'conflict richmenu alias id' });
    expect((await lineFailure(line.getRichMenuAlias('no-such-alias'))).status).toBe(404);
    expect((await line.getRichMenuAliasList()).aliases).toContainEqual({
      richMenuAliasId: live.aliasId,
      richMenuId: live.lineRichMenuId,
    });
    const many = Array.from({ length: 501 }, (_, i) => `U${i.toString(16).padStart(32, '0')}`);
    const tooMany = await lineFailure(line.linkRichMenuIdToUsers({ richMenuId: live.lineRichMenuId, userIds: many }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.details[0]).toMatchObject({ property: 'userIds' });
    await line.linkRichMenuIdToUsers({ richMenuId: live.lineRichMenuId, userIds: many.slice(0, 500) });
    expect((await line.getRichMenuIdOfUser(many[0]!)).richMenuId).toBe(live.lineRichMenuId);
    await line.unlinkRichMenuIdFromUsers({ userIds: many.slice(0, 500) });
    expect((await lineFailure(line.getRichMenuIdOfUser(many[0]!))).json).toEqual({
      message: 'the user has no richmenu',
    });
    await line.linkRichMenuIdToUser(many[1]!, live.lineRichMenuId);
    await line.unlinkRichMenuIdFromUser(many[1]!);
    expect((await lineFailure(line.linkRichMenuIdToUser(many[1]!, bare))).status).toBe(400);
    await line.deleteRichMenu(bare);
    // every answer of the Messaging API in this file, checked against LINE's OpenAPI spec
    const problems = f.calls
      .filter((c) => c.operationId && c.body !== undefined)
      .flatMap((c) =>
        validateResponse(c.operationId!, c.status, c.body).map((p) => `${c.operationId} ${c.status}: ${p}`),
      );
    expect(problems).toEqual([]);
    const seen = new Set(f.calls.map((c) => c.operationId));
    for (const op of [
      'createRichMenuAlias',
      'updateRichMenuAlias',
      'linkRichMenuIdToUsers',
      'unlinkRichMenuIdFromUsers',
    ])
      expect(seen.has(op)).toBe(true);
  });
});
