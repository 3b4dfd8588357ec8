/**
 * Per-audience menus and scheduled switches against the sandbox:
 * - a menu linked to a segment: its residents are linked on LINE in bulk calls of at most 500
 *   user IDs, the others keep the default; unlinking the segment unlinks them;
 * - kept current: a resident who registers the matching attribute is linked, one who changes it
 *   away is unlinked (delivery's residents → the editor);
 * - a scheduled switch makes a menu the default at its start, for everyone (audience links are
 *   lifted meanwhile), and gives way to the tenant's default and the audience menus at its end, by a
 *   clock the test moves; a cancelled one restores the default at once;
 * - refusals in Japanese: an unpublished menu, the default menu, an end before the start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Menu } from '../../delivery/rich-menus/index.ts';
import { waitFor } from '../helpers/index.ts';
import {
  defaultMenu,
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
} from '../helpers/rich-menu-fixtures.ts';

let f: RichMenuFixture;
let baseLine = '';
let eventMenu: Menu;
let disasterMenu: Menu;
const bulkUsers = Array.from({ length: 620 }, (_, i) => `U${'b'.repeat(24)}${i.toString(16).padStart(8, '0')}`);
const AREA = 'toba-kita';

beforeAll(async () => {
  f = await richMenuFixture({ prefix: 'tayori-rm-audience-' });
  await f.legacy.apply(RM_TENANT, { newsUrl: 'https://www.example.jp/n', contactUrl: 'https://www.example.jp/c' });
  baseLine = (await f.editor.menus(RM_TENANT))[0]!.lineRichMenuId;
  eventMenu = await publishMenu(f, '北地区', {
    name: '北地区メニュー',
    chatBarText: '北地区',
    image: pngOf(2500, 843, '#004d40'),
    areas: [{ label: '地区のお知らせ', action: { type: 'uri', uri: 'https://www.example.jp/kita' } }],
  });
  const at = Date.now() - 60_000;
  for (const u of [...bulkUsers, ...f.friends]) await f.residents.recordFollow(RM_TENANT, u, true, at);
  for (const u of bulkUsers) await f.residents.setAttribute(RM_TENANT, u, 'residence', [AREA]);
  await f.editor.settled();
}, 120_000);
afterAll(() => f?.h.close());

const linked = () => f.h.sandbox.api.state.richMenus;

describe('per-audience menus', () => {
  it('links a segment in bulk calls of at most 500, others keep the default', async () => {
    const before = f.calls.length;
    const r = await f.editor.setAudience(
      RM_TENANT,
      eventMenu.menuId,
      { condition: { attr: 'residence', op: 'in', values: [AREA] } },
      operator,
    );
    expect(r).toMatchObject({ linked: bulkUsers.length, unlinked: 0 });
    const bulk = f.calls.slice(before).filter((c) => c.operationId === 'linkRichMenuIdToUsers');
    expect(bulk.map((c) => c.status)).toEqual([202, 202]);
    for (const u of [bulkUsers[0]!, bulkUsers[619]!])
      expect(linked().linkedTo(RM_CHANNEL, u)).toBe(eventMenu.lineRichMenuId);
    expect((await shownTo(f, bulkUsers[3]!)).id).toBe(eventMenu.lineRichMenuId);
    expect((await shownTo(f, f.friends[0]!)).id).toBe(baseLine);
    expect(await f.editor.links(RM_TENANT, eventMenu.menuId)).toHaveLength(620);
  });

  it('keeps links current as residents register or change their attributes', async () => {
    const newcomer = f.friends[1]!;
    await f.residents.setAttribute(RM_TENANT, newcomer, 'residence', [AREA]);
    await f.editor.settled();
    expect(linked().linkedTo(RM_CHANNEL, newcomer)).toBe(eventMenu.lineRichMenuId);
    expect((await shownTo(f, newcomer)).id).toBe(eventMenu.lineRichMenuId);
    const mover = bulkUsers[5]!;
    await f.residents.setAttribute(RM_TENANT, mover, 'residence', ['toba-minami']);
    await f.editor.settled();
    expect(linked().linkedTo(RM_CHANNEL, mover)).toBeUndefined();
    expect((await shownTo(f, mover)).id).toBe(baseLine);
    expect((await f.editor.links(RM_TENANT, '', mover)).length).toBe(0);
  });

  it('republishing an audience menu moves its residents to the new LINE menu', async () => {
    const v = (await f.editor.versions(RM_TENANT, eventMenu.menuId))[0]!;
    const again = await saveDesign(f, eventMenu.menuId, {
      name: v.design.name,
      chatBarText: '北地区 2',
      image: v.design.imageId,
      areas: v.design.areas,
    });
    eventMenu = await publishVersion(f, eventMenu.menuId, again.version);
    expect(linked().linkedTo(RM_CHANNEL, bulkUsers[0]!)).toBe(eventMenu.lineRichMenuId);
    expect(linked().linkedTo(RM_CHANNEL, f.friends[1]!)).toBe(eventMenu.lineRichMenuId);
  });

  it('unlinks everyone when the segment is removed', async () => {
    const r = await f.editor.setAudience(RM_TENANT, eventMenu.menuId, { condition: null }, operator);
    expect(r).toMatchObject({ linked: 0, unlinked: 620 });
    expect(linked().linkedTo(RM_CHANNEL, bulkUsers[0]!)).toBeUndefined();
    expect(await f.editor.links(RM_TENANT)).toHaveLength(0);
  });

  it('refuses an unpublished menu and the default menu as audience menus', async () => {
    const draftOnly = await f.editor.createMenu(RM_TENANT, { title: '未公開' }, operator);
    const cond = { condition: { attr: 'gender', op: 'in', values: ['female'] } };
    await expect(f.editor.setAudience(RM_TENANT, draftOnly.menuId, cond, operator)).rejects.toMatchObject({
      code: 'rich_menu_not_published',
      status: 409,
    });
    const base = (await f.editor.menus(RM_TENANT)).find((m) => m.isDefault)!;
    await expect(f.editor.setAudience(RM_TENANT, base.menuId, cond, operator)).rejects.toMatchObject({
      code: 'rich_menu_is_default',
    });
    await f.editor.setAudience(RM_TENANT, eventMenu.menuId, cond, operator);
    await expect(f.editor.makeDefault(RM_TENANT, eventMenu.menuId, operator)).rejects.toMatchObject({
      code: 'rich_menu_has_audience',
      status: 409,
    });
    await f.editor.setAudience(RM_TENANT, eventMenu.menuId, { condition: null }, operator);
    // without one it may become the default, and the old default may again
    await f.editor.makeDefault(RM_TENANT, eventMenu.menuId, operator);
    expect(defaultMenu(f)).toBe(eventMenu.lineRichMenuId);
    expect((await f.editor.menus(RM_TENANT)).filter((m) => m.isDefault).map((m) => m.menuId)).toEqual([
      eventMenu.menuId,
    ]);
    await f.editor.makeDefault(RM_TENANT, base.menuId, operator);
    expect(defaultMenu(f)).toBe(baseLine);
    await expect(
      f.editor.setAudience(
        RM_TENANT,
        eventMenu.menuId,
        { condition: { attr: 'nope', op: 'in', values: ['x'] } },
        operator,
      ),
    ).rejects.toMatchObject({ code: 'invalid_audience', status: 400 });
  });
});

describe('scheduled switches', () => {
  it('takes effect at its start for everyone and reverts at its end, by the clock', async () => {
    // 北地区 for its residents again, and a disaster menu to switch to
    await f.editor.setAudience(
      RM_TENANT,
      eventMenu.menuId,
      { condition: { attr: 'residence', op: 'in', values: [AREA] } },
      operator,
    );
    const north = bulkUsers[0]!;
    expect((await shownTo(f, north)).id).toBe(eventMenu.lineRichMenuId);
    disasterMenu = await publishMenu(f, '災害', {
      name: '災害時メニュー',
      chatBarText: '災害情報',
      image: pngOf(2500, 843, '#d50000'),
      areas: [{ label: '避難所', action: { type: 'uri', uri: 'https://www.example.jp/hinan' } }],
    });
    const start = f.clock.now + 3_600_000;
    const s = await f.editor.addSchedule(
      RM_TENANT,
      {
        menuId: disasterMenu.menuId,
        startsAt: new Date(start).toISOString(),
        endsAt: new Date(start + 7_200_000).toISOString(),
      },
      operator,
    );
    expect(s.state).toBe('pending');
    await f.editor.tick();
    expect(defaultMenu(f)).toBe(baseLine);
    f.clock.now = start;
    await f.editor.tick();
    expect(defaultMenu(f)).toBe(disasterMenu.lineRichMenuId);
    expect((await f.editor.schedules(RM_TENANT))[0]!.state).toBe('active');
    // everyone sees it, those of an audience menu too
    expect((await shownTo(f, f.friends[4]!)).id).toBe(disasterMenu.lineRichMenuId);
    expect((await shownTo(f, north)).id).toBe(disasterMenu.lineRichMenuId);
    // a resident who registers meanwhile is not linked away from it
    await f.residents.setAttribute(RM_TENANT, f.friends[6]!, 'residence', [AREA]);
    await f.editor.settled();
    expect((await shownTo(f, f.friends[6]!)).id).toBe(disasterMenu.lineRichMenuId);
    f.clock.now = start + 7_200_000;
    await f.editor.tick();
    expect(defaultMenu(f)).toBe(baseLine);
    expect((await f.editor.schedules(RM_TENANT))[0]!.state).toBe('done');
    // audience menus again, the newcomer included
    expect((await shownTo(f, north)).id).toBe(eventMenu.lineRichMenuId);
    expect((await shownTo(f, f.friends[6]!)).id).toBe(eventMenu.lineRichMenuId);
    expect((await shownTo(f, f.friends[4]!)).id).toBe(baseLine);
  });

  it('restores the default at once when an active switch is cancelled; refuses bad periods in Japanese', async () => {
    const s = await f.editor.addSchedule(
      RM_TENANT,
      {
        menuId: disasterMenu.menuId,
        startsAt: new Date(f.clock.now - 1000).toISOString(),
        endsAt: new Date(f.clock.now + 3_600_000).toISOString(),
      },
      operator,
    );
    // added while due: active at once
    await waitFor(async () => defaultMenu(f) === disasterMenu.lineRichMenuId, 10_000, 'the switch');
    await f.editor.cancelSchedule(RM_TENANT, s.scheduleId, operator);
    expect(defaultMenu(f)).toBe(baseLine);
    await expect(
      f.editor.addSchedule(
        RM_TENANT,
        {
          menuId: disasterMenu.menuId,
          startsAt: new Date(f.clock.now + 7_200_000).toISOString(),
          endsAt: new Date(f.clock.now + 3_600_000).toISOString(),
        },
        operator,
      ),
    ).rejects.toMatchObject({ code: 'invalid_schedule', message: expect.stringContaining('終了日時は開始日時より後') });
    const audit = await f.editor.audit.recent({ tenantId: RM_TENANT, action: 'rich_menu_schedule_cancelled' });
    expect(audit[0]?.target).toBe(s.scheduleId);
  });
});
