/**
 * LINE's rich menu rate limit (create and delete: 100 an hour per channel; here the sandbox is set
 * to 3 and its clock held still): the sandbox answers 429 with LINE's body once it is exceeded;
 * a publication that meets it is queued and waits (its job says why), never failed, and is done
 * once the hour has passed — also when the process stopped meanwhile (the next start resumes it).
 * The editor's own count keeps it from sending past its hourly budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineQueue } from '../../delivery/rich-menus/index.ts';
import { waitFor } from '../helpers/index.ts';
import {
  operator,
  pngOf,
  publishVersion,
  type RichMenuFixture,
  richMenuFixture,
  RM_CHANNEL,
  RM_TENANT,
  saveDesign,
  upload,
} from '../helpers/rich-menu-fixtures.ts';

let f: RichMenuFixture;
beforeAll(async () => {
  f = await richMenuFixture({ prefix: 'tayori-rm-429-', richMenuPerHour: 3 });
}, 60_000);
afterAll(() => f?.h.close());

describe('rich menu rate limits', () => {
  it('queues a publication past the limit and finishes it after the hour, never failing', async () => {
    const menu = await f.editor.createMenu(RM_TENANT, { title: 'お知らせ' }, operator);
    const imageId = await upload(f, pngOf(2500, 843));
    const draft = (n: number) =>
      saveDesign(f, menu.menuId, {
        name: `版${n}`,
        chatBarText: 'メニュー',
        image: imageId,
        areas: [{ label: 'お知らせ', action: { type: 'uri', uri: `https://www.example.jp/${n}` } }],
      });
    // three creations fill the hour
    for (let n = 1; n <= 3; n++) await publishVersion(f, menu.menuId, (await draft(n)).version);
    const v4 = await draft(4);
    const { done } = await f.editor.publish(RM_TENANT, menu.menuId, v4.version, operator);
    let settled = false;
    void done.then(
      () => (settled = true),
      () => (settled = true),
    );
    const waiting = await waitFor(
      async () => {
        const m = await f.editor.menu(RM_TENANT, menu.menuId);
        return m.job?.state === 'waiting' ? m : undefined;
      },
      15_000,
      'the publication to wait',
    );
    expect(waiting.job?.note).toContain('LINE の回数制限のため待機しています');
    expect(waiting.liveVersion).toBe(3);
    const refused = f.calls.filter((c) => c.operationId === 'createRichMenu' && c.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.body).toEqual({ message: 'The API rate limit has been exceeded. Try again later.' });
    expect(settled).toBe(false);
    // the process stops while it waits: the job stays queued and the next start resumes it
    done.catch(() => {});
    await f.editor.stop();
    expect((await f.editor.menu(RM_TENANT, menu.menuId)).job).toMatchObject({ kind: 'publish', version: 4 });
    const restarted = f.makeEditor();
    f.h.defer('stop the restarted editor', () => restarted.stop());
    restarted.start();
    await restarted.resumed;
    // an hour later (the sandbox's clock) it goes through
    f.sandboxClock.now += 3_600_001;
    const live = await waitFor(
      async () => {
        const m = await restarted.menu(RM_TENANT, menu.menuId);
        return m.liveVersion === 4 && !m.job ? m : undefined;
      },
      20_000,
      'the resumed publication',
    );
    const book = f.h.sandbox.api.state.richMenus;
    expect(book.get(RM_CHANNEL, live.lineRichMenuId)?.image).toBeDefined();
    expect(book.aliases(RM_CHANNEL).get(live.aliasId)).toBe(live.lineRichMenuId);
  });

  it('waits out its own hourly budget instead of sending past it', async () => {
    let now = 0;
    const q = new LineQueue({ perHour: 2, retryMs: 5, maxRetryMs: 20, clock: () => now });
    const sent: number[] = [];
    const waits: string[] = [];
    const send = (i: number) =>
      q.call(
        't',
        'createRichMenu',
        async () => sent.push(i),
        (w) => void waits.push(w.reason),
      );
    await send(1);
    await send(2);
    const third = send(3);
    await waitFor(async () => waits.length > 0, 5000, 'the budget to hold the third');
    expect(sent).toEqual([1, 2]);
    expect(waits[0]).toBe('hourly_budget');
    now += 3_600_000;
    await third;
    expect(sent).toEqual([1, 2, 3]);
  });
});
